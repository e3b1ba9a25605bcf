import PQueue from 'p-queue';
import { FetchError } from '../fetch/fetch-error.js';

export interface SchedulerOptions {
  /** Requests a second over any rolling second; 0 = no limit. */
  rate: number;
  concurrency: number;
  /** Attempts at one request, the first included. */
  retries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  maxRetryAfterMs: number;
  /** Source of jitter; tests pass a seeded one. */
  random?: () => number;
}

export interface SchedulerStats {
  /** Requests started (retries included). */
  requests: number;
  retries: number;
  /** Time the queue stood still because a `Retry-After` asked it to. */
  pausedMs: number;
  /** Summed time requests waited in the queue before starting. */
  waitedMs: number;
}

export type RetryListener = (event: { label: string; attempt: number; delayMs: number; error: FetchError }) => void;

// The site sees a request when it arrives, not when it starts here; a little slack keeps jitter
// in connection set-up from putting one request too many into a rolling second.
const WINDOW_SLACK_MS = 30;

/**
 * One queue for every request of a run: a sliding-window rate limit (p-queue's strict mode),
 * a concurrency cap, exponential backoff with jitter on transient failures, and `Retry-After`
 * pausing the whole queue. A retry is a new request and waits for the limit like any other.
 */
export class RequestScheduler {
  private queue: PQueue;
  private rate: number;
  private pausedUntil = 0;
  private resumeTimer: NodeJS.Timeout | null = null;
  private readonly random: () => number;
  private stopped = false;
  private onRetry: RetryListener | undefined;
  readonly stats: SchedulerStats = { requests: 0, retries: 0, pausedMs: 0, waitedMs: 0 };

  constructor(private readonly options: SchedulerOptions) {
    this.rate = options.rate;
    this.random = options.random ?? Math.random;
    this.queue = this.makeQueue();
  }

  /** The effective limit in requests a second (0 = none). */
  get effectiveRate(): number {
    return this.rate;
  }

  get waiting(): number {
    return this.queue.size;
  }

  get running(): number {
    return this.queue.pending;
  }

  onRetryScheduled(listener: RetryListener): void {
    this.onRetry = listener;
  }

  /**
   * Lowers the rate to honour a robots.txt `Crawl-delay` (never raises it). With the limit off
   * (`--rate 0`) nothing changes: that mode is for mirrors only. Call it while the queue is idle.
   */
  applyCrawlDelay(seconds: number): void {
    if (!(seconds > 0) || this.rate === 0) return;
    const rate = Math.min(this.rate, 1 / seconds);
    if (rate === this.rate) return;
    this.rate = rate;
    this.queue = this.makeQueue();
  }

  /**
   * Runs `attempt` through the queue, retrying transient failures (network, 408/429/5xx).
   * Resolves with its value or rejects with the last FetchError.
   */
  async run<T>(label: string, attempt: (signal?: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let n = 1; ; n++) {
      const queuedAt = performance.now();
      try {
        return await this.queue.add(
          () => {
            this.stats.waitedMs += performance.now() - queuedAt;
            this.stats.requests++;
            return attempt(signal);
          },
          signal ? { signal } : {},
        );
      } catch (err) {
        if (!(err instanceof FetchError) || !err.retryable || this.stopped || signal?.aborted) throw err;
        const retryAfter = err.retryAfterMs;
        if (retryAfter !== undefined) {
          if (retryAfter > this.options.maxRetryAfterMs) throw err;
          this.pauseFor(retryAfter);
        }
        if (n >= this.options.retries) throw err;
        const delayMs = retryAfter ?? this.backoff(n);
        this.stats.retries++;
        this.onRetry?.({ label, attempt: n, delayMs, error: err });
        await sleep(delayMs, signal);
      }
    }
  }

  /** Stops starting queued requests (they reject); in-flight ones finish. */
  stop(): void {
    this.stopped = true;
    this.queue.clear();
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = null;
  }

  async idle(): Promise<void> {
    await this.queue.onIdle();
  }

  /** Holds every queued request until `ms` from now (a `Retry-After`). */
  pauseFor(ms: number): void {
    const until = Date.now() + ms;
    if (until <= this.pausedUntil) return;
    const now = Date.now();
    this.stats.pausedMs += until - Math.max(now, this.pausedUntil);
    this.pausedUntil = until;
    this.queue.pause();
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = null;
      if (!this.stopped) this.queue.start();
    }, ms);
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** (attempt - 1));
    // "Equal jitter": at least half the ceiling, so retries of many requests spread out
    // without ever coming back at once.
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  private makeQueue(): PQueue {
    if (this.rate <= 0) return new PQueue({ concurrency: this.options.concurrency });
    // Whole requests per window: r ≥ 1 → ⌊r⌋ per second; r < 1 → one per 1/r seconds.
    const cap = Math.max(1, Math.floor(this.rate));
    const interval = Math.ceil((cap / this.rate) * 1000) + WINDOW_SLACK_MS;
    return new PQueue({ concurrency: this.options.concurrency, intervalCap: cap, interval, strict: true });
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
