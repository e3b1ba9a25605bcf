/**
 * The one clock newsnap reads for capture times and scheduling decisions. `NEWSNAP_NOW` (an
 * ISO 8601 instant) pins it, so tests and checks can move time forward without waiting: every
 * reading in that process is that instant. Durations are measured with `performance.now()`,
 * which no pin touches.
 */

/** `NEWSNAP_NOW` is not an instant. */
export class ClockError extends Error {
  override readonly name = 'ClockError';
}

let pinned: number | null | undefined;

function pinnedMs(): number | null {
  if (pinned === undefined) {
    const raw = process.env.NEWSNAP_NOW;
    if (!raw) pinned = null;
    else {
      const ms = Date.parse(raw);
      // Date.parse accepts loose forms; an instant must say its date, time and offset.
      if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(raw.trim())) {
        throw new ClockError(`NEWSNAP_NOW="${raw}" is not an ISO 8601 instant such as 2025-12-15T10:00:00Z`);
      }
      pinned = ms;
    }
  }
  return pinned;
}

/** Checks `NEWSNAP_NOW` once at start, so a bad value stops the command before any work. */
export function checkClock(): void {
  pinnedMs();
}

/** Milliseconds since the epoch: `NEWSNAP_NOW` when set, else the system clock. */
export function nowMs(): number {
  return pinnedMs() ?? Date.now();
}

/**
 * The system clock, never pinned: for what another party checks against its own clock (a
 * webhook's `webhook-timestamp`, which receivers reject when it is minutes off theirs).
 */
export function wallClockMs(): number {
  return Date.now();
}

export function now(): Date {
  return new Date(nowMs());
}

export function nowIso(): string {
  return now().toISOString();
}

/** `YYYYMMDDTHHMMSSZ` of an instant, as history file names and WARC dates want it. */
export function compactUtc(iso: string): string {
  return iso.replace(/[-:]/g, '').replace(/\.\d+/, '').replace(/Z?$/, 'Z');
}
