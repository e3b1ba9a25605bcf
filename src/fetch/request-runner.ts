import type { RequestKind } from './site-requests.js';

/** What an attempt asks for, as the request chain sees it. */
export interface RequestTarget {
  /** The site URL of its first request. */
  url: string;
  kind: RequestKind;
  /** A render the pipeline falls back to after an empty body. */
  fallback?: boolean;
}

/**
 * What sends a request for a caller: one queue for every request, its rate limit, retries and
 * pauses (the engine's request scheduler). Callers below the engine (discovery, the page
 * fetchers) see only this.
 */
export interface RequestRunner {
  /**
   * Runs `attempt` when the queue and the rate limit let it, retrying transient failures;
   * resolves with its value or rejects with the last error. A higher `priority` starts first;
   * `target` says what the attempt asks for, to the request chain (required: robots.txt and the
   * drift veto judge the URL, and an attempt without one would pass them unjudged).
   */
  run<T>(label: string, attempt: (signal: AbortSignal) => Promise<T>, signal: AbortSignal | undefined, priority: number | undefined, target: RequestTarget): Promise<T>;
}
