/**
 * When to look at a captured article again. Like NewsDiffs, by the time since its last real
 * change: often while it is young (most edits come in the first hours), rarely later, and not
 * at all past the last tier (a sitemap `<lastmod>` that moves still makes it due). Removed
 * articles are looked at rarely, in case they come back.
 */
export interface RevisitTier {
  /** The tier applies while the time since the last change is under this (Infinity: always). */
  maxAgeMs: number;
  everyMs: number;
}

export interface RevisitPolicy {
  schedule: RevisitTier[];
  gone: RevisitTier[];
  /** Articles that failed every one of their runs: retried slowly, counted from when they gave out. */
  givenUp: RevisitTier[];
  /** Runs an article may fail before only the slow schedule retries it. */
  maxFailedRuns: number;
  /** Consecutive 404 answers that make an article gone. */
  missingChecks: number;
  /** A 404 counts only this long after the previous counted one. */
  missingSpacingMs: number;
  /** A check that failed (timeout, 5xx, 429) is tried again after this. */
  retryMs: number;
  /** Checks of known articles one run may make; the rest wait, the longest due first. */
  maxPerRun: number;
}

/** The `revisit` section of config. */
export interface RevisitOptions {
  schedule: string;
  goneSchedule: string;
  givenUpSchedule: string;
  maxPerRun: number;
  missingChecks: number;
  missingSpacing: string;
  retryAfterFailure: string;
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

export function revisitPolicy(o: RevisitOptions, maxFailedRuns: number): RevisitPolicy {
  return {
    schedule: parseTiers(o.schedule),
    gone: parseTiers(o.goneSchedule),
    givenUp: parseTiers(o.givenUpSchedule),
    maxFailedRuns,
    missingChecks: o.missingChecks,
    missingSpacingMs: parseDuration(o.missingSpacing),
    retryMs: parseDuration(o.retryAfterFailure),
    maxPerRun: o.maxPerRun,
  };
}

/** The next check of something last changed (or removed) at `sinceMs`, checked now; null for none. */
export function nextCheck(tiers: readonly RevisitTier[], sinceMs: number, nowMs: number): string | null {
  const age = Math.max(0, nowMs - sinceMs);
  const tier = tiers.find((t) => age < t.maxAgeMs);
  return tier ? new Date(nowMs + tier.everyMs).toISOString() : null;
}

/**
 * Checks a day costs in steady state for a site publishing `perDay` articles, at one check per
 * tier interval over each article's life (the README's figure comes from here and is measured
 * by `bench/revisit-day.mjs`).
 */
export function checksPerArticle(tiers: readonly RevisitTier[]): number {
  let total = 0;
  let from = 0;
  for (const t of tiers) {
    if (!Number.isFinite(t.maxAgeMs)) break;
    total += (t.maxAgeMs - from) / t.everyMs;
    from = t.maxAgeMs;
  }
  return total;
}
