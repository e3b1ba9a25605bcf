import type { FetchError } from '../../fetch/fetch-error.js';
import type { WireAnswer } from '../../fetch/site-requests.js';
import type { ChainRequest, RequestMiddleware } from './policy.js';

/**
 * The circuit breaker, a request middleware: whether the site answers at all, as every request
 * of every lane sees it. A rendered page's sub-request that is answered says the site is up; one
 * that fails says nothing (a page's broken script is not an outage: the browser's reasons are too
 * vague to tell a dead host from one bad resource), so only attempts and their redirect hops
 * count toward the trip. The site's outage is a run's failure, never an article's. A failure that
 * is about the way to the host (DNS, connection, TLS, proxy) is never an article's; a timeout or a
 * reset is one only when the site answered other requests meanwhile (`answeredSince`). Several
 * requests in a row without any answer mean the site is unreachable: the breaker trips, and every
 * lane's current run stops (`onUnreachable`). The next run tries again: one answer closes it.
 */
export class CircuitBreaker implements RequestMiddleware {
  readonly name = 'circuit-breaker';
  private answered = 0;
  private failedInARow = 0;
  private lastFailure: FetchError | null = null;
  private readonly listeners = new Set<(failure: FetchError) => void>();

  constructor(
    /** Requests in a row that get no answer before the site counts as unreachable. */
    private readonly threshold: number,
  ) {}

  after(req: ChainRequest, { status, error }: WireAnswer): void {
    if (status !== null && !error?.network) this.answer();
    else if (error?.network && req.kind !== 'subrequest') this.failed(error);
  }

  /** A token for `answeredSince`: take it before an article's first request. */
  mark(): number {
    return this.answered;
  }

  /** True when the site answered some request after `mark` was taken. */
  answeredSince(mark: number): boolean {
    return this.answered > mark;
  }

  /** The last failure, while no answer has come since; null once the site answers. */
  get failure(): FetchError | null {
    return this.lastFailure;
  }

  get unreachable(): boolean {
    return this.failedInARow >= this.threshold;
  }

  /** Calls `listener` on every failure once the site counts as unreachable; returns the function that stops it. */
  onUnreachable(listener: (failure: FetchError) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether a failed article's error says the site, not the article, failed. */
  isOutage(error: FetchError, mark: number): boolean {
    if (!error.network) return false;
    return error.hostLevel || !this.answeredSince(mark);
  }

  private answer(): void {
    this.answered++;
    this.failedInARow = 0;
    this.lastFailure = null;
  }

  private failed(error: FetchError): void {
    this.failedInARow++;
    this.lastFailure = error;
    if (this.failedInARow >= this.threshold) for (const listener of this.listeners) listener(error);
  }
}
