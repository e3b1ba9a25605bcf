import PQueue from 'p-queue';
import { FetchError } from '../fetch/fetch-error.js';
import type { RequestRunner, RequestTarget } from '../fetch/request-runner.js';
import { delay } from '../clock/delay.js';
import { laneContext, LANE_RANK } from './lane.js';
import { laneQueueClass, LaneQueue, type LaneQueueOptions } from './lane-queue.js';
import { linkedSignal } from '../clock/abort.js';
import { RateGate } from './policies/rate-gate.js';
import { RequestChain } from './policies/request-chain.js';
import { RetryAfterPause } from './policies/retry-after.js';

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

/** The chain every attempt runs through, and its rate gate (the Crawl-delay and the pauses act on it). */
export interface SchedulerChain {
  chain: RequestChain;
  rate: RateGate;
}

/**
 * One queue for every request of every lane: p-queue caps concurrency and serves the lanes in
 * their order (`LaneQueue`: the highest rank first, due checks owed their share), transient
 * failures retry with exponential backoff and jitter, and each attempt runs through the request
 * chain (the rate gate, `Retry-After`'s pause and the other middlewares are entries of it). A
 * retry is a new attempt and waits for the limit like any other. Without a chain of the
 * engine's, it runs the rate gate and the Retry-After pause alone.
 */
export class RequestScheduler implements RequestRunner {
  private readonly queue: PQueue<LaneQueue, LaneQueueOptions>;
  private readonly chain: RequestChain;
  private readonly gate: RateGate;
  private readonly random: () => number;
  private readonly stopper = new AbortController();
  private onRetry: RetryListener | undefined;
  readonly stats: SchedulerStats = { waitedMs: 0 };

  constructor(
    private readonly options: SchedulerOptions,
    chain?: SchedulerChain,
  ) {
    this.random = options.random ?? Math.random;
    // Lanes in their one order (the runs' priorities are their lanes' ranks), due checks owed their share.
    const owed = { rank: LANE_RANK.revisit, share: options.revisitShare ?? 0 };
    this.queue = new PQueue({ concurrency: options.concurrency, queueClass: laneQueueClass(owed) });
    this.gate = chain?.rate ?? new RateGate(options.rate);
    const gate = this.gate;
    this.chain = chain?.chain ?? new RequestChain([gate, RetryAfterPause.on(gate, options.maxRetryAfterMs)]);
  }

  /** The effective limit in requests a second (0 = none). */
  get effectiveRate(): number {
    return this.gate.rate;
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
  async run<T>(label: string, attempt: (signal: AbortSignal) => Promise<T>, signal: AbortSignal | undefined, priority: number | undefined, target: RequestTarget): Promise<T> {
    const link = linkedSignal([signal, this.stopper.signal]);
    try {
      return await this.attempts(label, attempt, link.signal, priority ?? 0, target);
    } finally {
      link.dispose();
    }
  }

  private async attempts<T>(label: string, attempt: (signal: AbortSignal) => Promise<T>, combined: AbortSignal, priority: number, target: RequestTarget): Promise<T> {
    // The run that asks: a queued request starts from another's completion, in another's context.
    const run = laneContext.getStore();
    const inLane = <R>(work: () => R): R => (run ? laneContext.run(run, work) : work());
    for (let n = 1; ; n++) {
      const queuedAt = performance.now();
      let running: Promise<T> | null = null;
      try {
        return await this.queue.add(
          () => {
            // The chain's hooks (a Retry-After's pause among them) all run before this queue slot
            // frees: the next queued request starts the moment it does.
            running = inLane(() =>
              this.chain.run({ ...target, signal: combined }, () => {
                this.stats.waitedMs += performance.now() - queuedAt;
                return attempt(combined);
              }),
            );
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

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** (attempt - 1));
    // "Equal jitter": at least half the ceiling, so retries of many requests spread out
    // without ever coming back at once.
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }
}
