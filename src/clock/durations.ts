/**
 * Durations and schedules as the configuration writes them: `15m`, `5s, 5m, 30m`, `3h:15m, 1d:1h`.
 */

export interface RevisitTier {
  /** The tier applies while the time since the last change is under this (Infinity: always). */
  maxAgeMs: number;
  everyMs: number;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90s`, `15m`, `3h`, `1d`, `2w` (combinations such as `1h30m` too) in milliseconds. */
export function parseDuration(text: string): number {
  const s = text.trim();
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== s) throw new Error(`"${text}" is not a duration such as 15m, 3h or 2d`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * (UNITS[p[2] as string] as number), 0);
}

/** `5s, 5m, 30m`: a list of waits, in milliseconds. */
export function parseSchedule(text: string): number[] {
  return text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map(parseDuration);
}

/**
 * `3h:15m, 1d:1h, 7d:6h, 30d:3d`: under 3 h since the last change, every 15 min; under a day,
 * hourly; … An age of `*` is an open last tier. An empty text has no tiers.
 */
export function parseTiers(text: string): RevisitTier[] {
  const tiers: RevisitTier[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([^:]+):(.+)$/.exec(part);
    if (!m) throw new Error(`"${part}" is not AGE:EVERY, such as 3h:15m`);
    const maxAgeMs = m[1]!.trim() === '*' ? Number.POSITIVE_INFINITY : parseDuration(m[1]!);
    const everyMs = parseDuration(m[2]!);
    if (!(everyMs > 0)) throw new Error(`"${part}": the interval must be more than 0`);
    const previous = tiers.at(-1);
    if (previous && !(maxAgeMs > previous.maxAgeMs)) throw new Error(`"${part}": ages must grow from one tier to the next`);
    tiers.push({ maxAgeMs, everyMs });
  }
  return tiers;
}
