import PQueue from 'p-queue';
import { FetchError } from '../fetch/fetch-error.js';
import type { RequestRunner } from '../fetch/request-runner.js';
import { delay } from '../clock/delay.js';
import { SlidingWindowGate } from './sliding-window.js';
import { laneContext, LANE_RANK } from './lane.js';
import { laneQueueClass, LaneQueue, type LaneQueueOptions } from './lane-queue.js';
import { linkedSignal } from '../clock/abort.js';

export interface SchedulerOptions {
  /** Requests a second over any rolling second; 0 = no limit. */
  rate: number;
  concurrency: number;
  /** Attempts at one request, the first included. */
  retries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  maxRetryAfterMs: number;
  /** Of the requests that leave the queue while due checks wait, at least this share is theirs (0..1). */
  revisitShare?: number;
  /** Source of jitter; tests pass a seeded one. */
  random?: () => number;
}

export interface SchedulerStats {
  /** Summed time requests waited for the rate limit and a free slot. */
  waitedMs: number;
}

export type RetryListener = (event: { label: string; attempt: number; delayMs: number; error: FetchError }) => void;

// The gate's clock and the server's differ by scheduling noise; a little slack absorbs it.
const WINDOW_SLACK_MS = 10;

/**
 * One queue for every request of every lane: p-queue caps concurrency and serves the lanes in
 * their order (`LaneQueue`: the highest rank first, due checks owed their share), a sliding-window gate holds
 * the rate over any rolling second, transient failures retry with exponential backoff and
 * jitter, and `Retry-After` pauses the whole queue. A retry is a new request and waits for the
 * limit like any other.
 */
export class RequestScheduler implements RequestRunner {
  private readonly queue: PQueue<LaneQueue, LaneQueueOptions>;
  private readonly gate: SlidingWindowGate;
  private rate: number;
  private readonly random: () => number;
  private readonly stopper = new AbortController();
  private onRetry: RetryListener | undefined;
  readonly stats: SchedulerStats = { waitedMs: 0 };

  constructor(private readonly options: SchedulerOptions) {
    this.rate = options.rate;
    this.random = options.random ?? Math.random;
    // Lanes in their one order (the runs' priorities are their lanes' ranks), due checks owed their share.
    const owed = { rank: LANE_RANK.revisit, share: options.revisitShare ?? 0 };
    this.queue = new PQueue({ concurrency: options.concurrency, queueClass: laneQueueClass(owed) });
    this.gate = new SlidingWindowGate(...gateLimits(this.rate));
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
   * (`--rate 0`, mirrors only) nothing changes. Call it while no request is waiting.
   */
  applyCrawlDelay(seconds: number): void {
    if (!(seconds > 0) || this.rate === 0) return;
    const rate = Math.min(this.rate, 1 / seconds);
    if (rate === this.rate) return;
    this.rate = rate;
    // A Crawl-delay is a spacing between requests, not a budget per second.
    this.gate.configure(1, Math.ceil(seconds * 1000) + WINDOW_SLACK_MS);
  }

  /** Aborted once `stop()` is called: everything running through this scheduler should end. */
  get stopSignal(): AbortSignal {
    return this.stopper.signal;
  }

  /**
   * Runs `attempt` through the queue, retrying transient failures (network, 408/429/5xx).
   * Resolves with its value or rejects with the last error. It never settles before the
   * attempt itself has ended: p-queue rejects a running task as soon as its signal aborts,
   * and a caller that moved on then (closing the browser, the state store) would leave the
   * attempt running behind its back.
   */
  async run<T>(label: string, attempt: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal, priority = 0): Promise<T> {
    const link = linkedSignal([signal, this.stopper.signal]);
    try {
      return await this.attempts(label, attempt, link.signal, priority);
    } finally {
      link.dispose();
    }
  }

  private async attempts<T>(label: string, attempt: (signal: AbortSignal) => Promise<T>, combined: AbortSignal, priority: number): Promise<T> {
    // The run that asks: a queued request starts from another's completion, in another's context.
    const run = laneContext.getStore();
    const start = run ? () => laneContext.run(run, () => attempt(combined)) : () => attempt(combined);
    for (let n = 1; ; n++) {
      const queuedAt = performance.now();
      let running: Promise<T> | null = null;
      try {
        return await this.queue.add(
          async () => {
            const release = await this.gate.acquire(combined);
            this.stats.waitedMs += performance.now() - queuedAt;
            // A Retry-After holds the queue before this slot frees: the next queued request
            // starts the moment it does, and would otherwise go out inside the pause.
            running = start()
              .catch((err: unknown) => {
                const ms = honouredRetryAfter(err, this.options.maxRetryAfterMs);
                if (ms !== undefined && !combined.aborted) this.pauseFor(ms);
                throw err;
              })
              .finally(release);
            return running;
          },
          // A request of higher priority starts first; the gate then serves them in the order they start.
          { signal: combined, priority },
        );
      } catch (err) {
        if (running) await (running as Promise<T>).catch(() => undefined);
        if (!(err instanceof FetchError) || !err.retryable || combined.aborted) throw err;
        const retryAfter = err.retryAfterMs;
        if (retryAfter !== undefined && retryAfter > this.options.maxRetryAfterMs) throw err;
        if (n >= this.options.retries) throw err;
        const delayMs = retryAfter ?? this.backoff(n);
        this.onRetry?.({ label, attempt: n, delayMs, error: err });
        await delay(delayMs, combined);
      }
    }
  }

  /** Stops: queued and waiting requests reject, and requests in flight are aborted. At shutdown only: every lane shares it. */
  stop(): void {
    this.stopper.abort(new Error('the run is stopping'));
    this.queue.clear();
  }

  /** Holds every request not yet started until `ms` from now (a `Retry-After`). */
  pauseFor(ms: number): void {
    this.gate.pauseFor(ms);
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** (attempt - 1));
    // "Equal jitter": at least half the ceiling, so retries of many requests spread out
    // without ever coming back at once.
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }
}

/** The pause a failed attempt asks for: a retryable error's Retry-After, unless past the longest we wait. */
function honouredRetryAfter(err: unknown, maxMs: number): number | undefined {
  if (!(err instanceof FetchError) || !err.retryable || err.retryAfterMs === undefined) return undefined;
  return err.retryAfterMs <= maxMs ? err.retryAfterMs : undefined;
}

/** Window limits for a rate: r ≥ 1 → ⌊r⌋ a second; r < 1 (a Crawl-delay) → one per 1/r seconds, between requests. */
function gateLimits(rate: number): [number, number] {
  if (rate <= 0) return [Number.POSITIVE_INFINITY, 1000];
  const cap = Math.max(1, Math.floor(rate));
  return [cap, Math.ceil((cap / rate) * 1000) + WINDOW_SLACK_MS];
}
