/** Attempts in a row without an answer that pause an endpoint, and how long the first pause lasts. */
const SILENT_IN_A_ROW = 3;
const FIRST_PAUSE_MS = 5_000;
// A receiver back after an outage is tried again within a minute; a dead one costs a few attempts a minute.
const MAX_PAUSE_MS = 60_000;

/**
 * Endpoints that did not answer several times in a row (refused, unresolvable, timed out),
 * paused as a whole: their deliveries wait, unattempted and uncounted, instead of each failing
 * on its own. A dead receiver then costs a handful of connection attempts, not one per event.
 * Times are the monotonic clock's: no pinned clock (NEWSNAP_NOW) can hold a pause forever.
 */
export class EndpointPauses {
  private readonly silent = new Map<string, { inARow: number; pauses: number; until: number }>();

  /** Endpoints paused now. */
  paused(): string[] {
    const now = performance.now();
    return [...this.silent].filter(([, s]) => s.until > now).map(([url]) => url);
  }

  /** When the first of these paused endpoints may be tried again (ms on the monotonic clock). */
  resumeAt(paused: readonly string[]): number {
    return Math.min(...paused.map((url) => this.silent.get(url)?.until ?? Number.POSITIVE_INFINITY));
  }

  /** It answered (any HTTP status): no longer silent. */
  answered(endpoint: string): void {
    this.silent.delete(endpoint);
  }

  /** Another attempt got no answer: after several in a row the endpoint pauses, longer each time (5 s, 10 s, … up to a minute); returns the pause begun, if one. */
  noAnswer(endpoint: string): number | null {
    const s = this.silent.get(endpoint) ?? { inARow: 0, pauses: 0, until: 0 };
    s.inARow++;
    let pause: number | null = null;
    if (s.inARow >= SILENT_IN_A_ROW) {
      pause = Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** s.pauses);
      s.until = performance.now() + pause;
      s.pauses++;
      s.inARow = 0;
    }
    this.silent.set(endpoint, s);
    return pause;
  }
}
