import type { FetchError } from '../../fetch/fetch-error.js';
import type { RequestKind, RequestScope, WireAnswer } from '../../fetch/site-requests.js';
import type { LaneRun } from '../lane.js';
import type { ArticleOutcome } from '../pipeline/article-outcome.js';

/**
 * One request as the chain's middlewares see it. An *attempt* is what a caller queued (a page, a
 * render, a sitemap, robots.txt; a retry is a new attempt); it has no `parent`. A request made
 * within an attempt (a redirect hop, a rendered page's sub-request) has the attempt as `parent`.
 */
export interface ChainRequest extends RequestScope {
  /** The site URL (production form). */
  readonly url: string;
  readonly kind: RequestKind;
  /** The run whose work it is (its lane), when a lane asked for it. */
  readonly lane: LaneRun | null;
  readonly signal: AbortSignal;
  readonly parent: ChainRequest | null;
  /** A render the pipeline falls back to after an empty body (the drift veto applies to these only). */
  readonly fallback: boolean;
  /** Headers a middleware adds or changes before it goes out. */
  readonly headers: Record<string, string>;
  /** What the wire gave it, once something came back (null for an attempt that never went out). */
  answer: WireAnswer | null;
}

/**
 * A request middleware, as Scrapy's downloader middlewares and undici's interceptors are: one
 * entry of the ordered list every request to the site passes through (`chain-order.ts`), acting on
 * the shared parts (the rate gate, a run's stop, the browser fallback). Never a branch inside one
 * lane's loop. Every hook is optional.
 */
export interface RequestMiddleware {
  readonly name: string;
  /**
   * Before the request goes out, in list order: throw a RequestVeto to keep it from going out,
   * await to delay it, or change `headers`. May return a function called once the request is
   * over, every way (a rate slot freed).
   */
  before?(req: ChainRequest): void | (() => void) | Promise<void | (() => void)>;
  /** What the wire gave the request (a response, or the error when none came), in reverse order. */
  after?(req: ChainRequest, answer: WireAnswer): void;
  /** The request failed as its caller saw it (a veto, a wire error, an answer it refused), in reverse order. */
  error?(req: ChainRequest, error: unknown): void;
  /** An article's outcome, whichever lane's, in list order. */
  outcome?(run: LaneRun, outcome: ArticleOutcome): void;
}

/** One request to the site as it ended, with its URL, kind and the run (and so the lane) that sent it. */
export interface RequestEvent {
  run: LaneRun | null;
  url: string;
  kind: RequestKind;
  status: number | null;
  error: FetchError | null;
}

/** The key a request is counted under: its HTTP status, or its error's kind when nothing answered. */
export function requestKey(e: Pick<RequestEvent, 'status' | 'error'>): string {
  return e.status !== null && !e.error ? String(e.status) : (e.error?.kind ?? 'error');
}
