import type { FetchError } from '../../fetch/fetch-error.js';
import type { LaneRun } from '../lane.js';
import type { ArticleOutcome } from '../pipeline/article-outcome.js';

/** One request to the site as it ended, with the run (and so the lane) that sent it, when known. */
export interface RequestEvent {
  run: LaneRun | null;
  status: number | null;
  error: FetchError | null;
}

/**
 * A policy of the engine: a small unit that sees every request and every article outcome of every
 * lane, as Scrapy's downloader middlewares and extensions do, and acts on the shared parts (the
 * queue's pauses, the browser fallback, a run's stop). Never a branch inside one run's loop.
 */
export interface Policy {
  onRequest?(event: RequestEvent): void;
  onOutcome?(run: LaneRun, outcome: ArticleOutcome): void;
}

/** The key a request is counted under: its HTTP status, or its error's kind when nothing answered. */
export function requestKey(e: Pick<RequestEvent, 'status' | 'error'>): string {
  return e.status !== null && !e.error ? String(e.status) : (e.error?.kind ?? 'error');
}
