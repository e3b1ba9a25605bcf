import type { ArticleRef } from '../../site/site-urls.js';
import type { Engine } from '../engine.js';
import type { LaneName } from '../lane.js';
import type { ArticleOutcome } from '../pipeline/article-outcome.js';
import { logOutcome } from './outcome-log.js';

/** More manual fetches wait than the lane takes: try again later (HTTP 429). */
export class BusyError extends Error {
  override readonly name = 'BusyError';
}

/** The service is shutting down and takes no new work (HTTP 503). */
export class StoppingError extends Error {
  override readonly name = 'StoppingError';
}

/**
 * The lane of one-off fetches (`POST /fetch`, the CLI's `fetch`): each article a run of its own
 * through the engine, ahead of every other lane, with a bound on how many may wait at once. A fetch
 * that fails (a full disk) fails alone; its error goes to the caller.
 */
export class ManualFetch {
  private queued = 0;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly engine: Engine,
    private readonly o: { lane: LaneName; maxQueued: number },
  ) {}

  get waiting(): number {
    return this.queued;
  }

  async fetch(ref: ArticleRef, signal?: AbortSignal): Promise<ArticleOutcome> {
    if (this.engine.stopSignal.aborted) throw new StoppingError('newsnap is shutting down; try again later');
    if (this.queued >= this.o.maxQueued) throw new BusyError(`${this.queued} manual fetches are already queued; try again later`);
    this.queued++;
    const run = this.engine.begin(this.o.lane, signal ? { signal } : {});
    const job = this.engine.article(run, ref);
    this.inFlight.add(job);
    try {
      const outcome = await job;
      logOutcome(outcome, this.engine.parts.log);
      return outcome;
    } finally {
      this.engine.end(run);
      this.inFlight.delete(job);
      this.queued--;
    }
  }

  /** Waits for the fetches in flight (the engine's stop has aborted their requests). */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}
