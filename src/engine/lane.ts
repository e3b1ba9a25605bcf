import { AsyncLocalStorage } from 'node:async_hooks';
import { linkedSignal } from '../clock/abort.js';
import type { FetchError } from '../fetch/fetch-error.js';
import type { ArticleOutcome } from './pipeline/article-outcome.js';

/**
 * The lanes that hand the engine work: the CLI's one-shot `crawl` and `fetch`, and in `serve` the
 * schedule, the feed watch, the backfill and `POST /fetch`. Every request and outcome is counted
 * under its lane (`lane` on the metrics).
 */
export const LANES = ['crawl', 'fetch', 'schedule', 'watch', 'backfill', 'manual'] as const;
export type LaneName = (typeof LANES)[number];

/** Queue priorities (p-queue: higher goes first): the watch's new articles, then crawls, then a backfill. */
export const PRIORITY = { watch: 1, crawl: 0, backfill: -1 } as const;

/**
 * One run of a lane: a crawl, a feed poll's fetches, a manual fetch. It has its own stop (a
 * failure ends this run alone; the engine's shared parts go on), and it counts its own requests
 * and outcomes, so that its summary says what it did and not what other lanes did meanwhile.
 */
export class LaneRun {
  private readonly controller = new AbortController();
  /** Requests of this run by HTTP status, or by error kind when there was no answer. */
  readonly requests: Record<string, number> = {};
  /** Block pages in a row paused the queue this many times, set off by this run's pages. */
  blockedPauses = 0;
  /** The run's row in state, when it keeps one (a crawl). */
  runId: number | null = null;
  /** Set when the circuit breaker tripped during this run: what nothing answered. */
  unreachable: FetchError | null = null;
  /** The signal every job of the run takes: the caller's, this run's own stop, and the engine's shutdown. */
  readonly signal: AbortSignal;
  private readonly link: ReturnType<typeof linkedSignal>;
  private readonly outcomeListeners = new Set<(o: ArticleOutcome) => void>();

  constructor(
    readonly lane: LaneName,
    readonly priority: number,
    signals: AbortSignal[],
  ) {
    this.link = linkedSignal([this.controller.signal, ...signals]);
    this.signal = this.link.signal;
  }

  /** The run is over: its signal lets go of the signals it was linked to. */
  dispose(): void {
    this.link.dispose();
    this.outcomeListeners.clear();
  }

  /** Ends this run: its queued requests are dropped, those in flight aborted. Nothing else stops. */
  stop(reason: Error): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** Whether this run was stopped from inside (a failure, the breaker), rather than by its caller. */
  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  countRequest(key: string): void {
    this.requests[key] = (this.requests[key] ?? 0) + 1;
  }

  /** Hears every outcome of this run (its summary's counts). */
  onOutcome(listener: (o: ArticleOutcome) => void): () => void {
    this.outcomeListeners.add(listener);
    return () => this.outcomeListeners.delete(listener);
  }

  outcome(o: ArticleOutcome): void {
    for (const listener of this.outcomeListeners) listener(o);
  }
}

/**
 * Which run a request belongs to, carried through its async work. The request scheduler takes
 * the run in force when a request is asked for and restores it when the request starts (a queued
 * request is started from another request's completion), so that the request chain's
 * middlewares see every request with its own lane.
 */
export const laneContext = new AsyncLocalStorage<LaneRun>();
