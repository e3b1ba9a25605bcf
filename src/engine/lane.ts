import { AsyncLocalStorage } from 'node:async_hooks';
import { linkedSignal } from '../clock/abort.js';
import type { FetchError } from '../fetch/fetch-error.js';
import type { ArticleOutcome } from './pipeline/article-outcome.js';

/**
 * The lanes that hand the engine work: the CLI's one-shot `crawl` and `fetch`, and in `serve`
 * `POST /fetch`, the feed watch, the schedule, the revisits, the sweep of the history and the
 * backfill. Every request and outcome is counted under its lane (`lane` on the metrics).
 */
export const LANES = ['crawl', 'fetch', 'manual', 'watch', 'schedule', 'revisit', 'sweep', 'backfill'] as const;
export type LaneName = (typeof LANES)[number];

/**
 * The one order the request queue serves lanes in (higher first): what a user asked for, new
 * articles from the feed, new articles from the sitemaps, due checks, the sweep, the backfill. The
 * CLI's one-shot lanes rank as their `serve` counterparts. The revisit lane also gets a share of
 * the requests whatever waits above it (`crawl.revisitShare`, the request scheduler's), so that
 * no amount of new work starves a due check.
 */
export const LANE_RANK: Readonly<Record<LaneName, number>> = { manual: 5, fetch: 5, watch: 4, schedule: 3, crawl: 3, revisit: 2, sweep: 1, backfill: 0 };

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

  /** Its place in the request queue's order: its lane's rank. */
  readonly priority: number;

  constructor(
    readonly lane: LaneName,
    signals: AbortSignal[],
  ) {
    this.priority = LANE_RANK[lane];
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
