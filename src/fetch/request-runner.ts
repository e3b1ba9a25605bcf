/**
 * What sends a request for a caller: one queue for every request, its rate limit, retries and
 * pauses (the engine's request scheduler). Callers below the engine (discovery, the page
 * fetchers) see only this.
 */
export interface RequestRunner {
  /**
   * Runs `attempt` when the queue and the rate limit let it, retrying transient failures;
   * resolves with its value or rejects with the last error. A higher `priority` starts first.
   */
  run<T>(label: string, attempt: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal, priority?: number): Promise<T>;
}
