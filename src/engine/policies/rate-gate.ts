import { SlidingWindowGate } from '../sliding-window.js';
import type { ChainRequest, RequestMiddleware } from './policy.js';

// The gate's clock and the server's differ by scheduling noise; a little slack absorbs it.
const WINDOW_SLACK_MS = 10;

/**
 * The rate gate, with robots.txt's Crawl-delay: at most `rate` attempts a second over any rolling
 * second, and pauses (a Retry-After, block pages) that hold every attempt not yet started. A
 * request made within an attempt (a redirect hop, a rendered page's sub-request) shares the
 * attempt's slot: a render never waits on its own sub-requests (a page that waited for a slot per
 * script would time out, and could wait on the slot it holds). Each one that went out still counts
 * against the window once it ends, so the attempt queued next waits longer: the site sees no more
 * than `rate` requests a second on average, sub-requests included.
 */
export class RateGate implements RequestMiddleware {
  readonly name = 'rate-gate';
  private readonly gate: SlidingWindowGate;
  private current: number;

  constructor(rate: number) {
    this.current = rate;
    this.gate = new SlidingWindowGate(...gateLimits(rate));
  }

  /** The effective limit in requests a second (0 = none). */
  get rate(): number {
    return this.current;
  }

  async before(req: ChainRequest): Promise<(() => void) | void> {
    if (!req.parent) return this.gate.acquire(req.signal);
    return () => {
      if (req.answer) this.gate.spend();
    };
  }

  /**
   * Lowers the rate to honour a robots.txt `Crawl-delay` (never raises it). With the limit off
   * (`--rate 0`, mirrors only) nothing changes. Call it while no request is waiting.
   */
  applyCrawlDelay(seconds: number): void {
    if (!(seconds > 0) || this.current === 0) return;
    const rate = Math.min(this.current, 1 / seconds);
    if (rate === this.current) return;
    this.current = rate;
    // A Crawl-delay is a spacing between requests, not a budget per second.
    this.gate.configure(1, Math.ceil(seconds * 1000) + WINDOW_SLACK_MS);
  }

  /** Holds every attempt not yet started until `ms` from now. */
  pauseFor(ms: number): void {
    this.gate.pauseFor(ms);
  }
}

/** Window limits for a rate: r ≥ 1 → ⌊r⌋ a second; r < 1 (a Crawl-delay) → one per 1/r seconds, between requests. */
function gateLimits(rate: number): [number, number] {
  if (rate <= 0) return [Number.POSITIVE_INFINITY, 1000];
  const cap = Math.max(1, Math.floor(rate));
  return [cap, Math.ceil((cap / rate) * 1000) + WINDOW_SLACK_MS];
}
