import type { FetchError } from '../../fetch/fetch-error.js';
import type { WireAnswer } from '../../fetch/site-requests.js';
import { requestKey, type ChainRequest, type RequestEvent, type RequestMiddleware } from './policy.js';

/**
 * Counts every request that went out, once, under its run (a lane's summary) and for the
 * listeners (`newsnap_requests_total`): its status, or its error's kind when nothing answered.
 * A sub-request the browser aborted is not counted: it was in flight when we closed the page
 * (the render was over), so the site never failed it.
 */
export class RequestAccounting implements RequestMiddleware {
  readonly name = 'accounting';
  private readonly listeners = new Set<(e: RequestEvent) => void>();

  after(req: ChainRequest, answer: WireAnswer): void {
    if (req.parent && answer.error?.kind === 'aborted') return;
    this.count(req, answer.status, answer.error);
  }

  /** A request that never went out but is counted all the same (a render's sub-requests past the cap, once). */
  count(req: ChainRequest, status: number | null, error: FetchError | null): void {
    const event: RequestEvent = { run: req.lane, url: req.url, kind: req.kind, status, error };
    req.lane?.countRequest(requestKey(event));
    for (const listener of this.listeners) listener(event);
  }

  /** Hears every request that went out; returns the function that stops it. */
  listen(listener: (e: RequestEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
