import type { WireAnswer } from '../../fetch/site-requests.js';
import { requestKey, type ChainRequest, type RequestEvent, type RequestMiddleware } from './policy.js';

/**
 * Counts every request that went out, once, under its run (a lane's summary) and for the
 * listeners (`newsnap_requests_total`): its status, or its error's kind when nothing answered.
 */
export class RequestAccounting implements RequestMiddleware {
  readonly name = 'accounting';
  private readonly listeners = new Set<(e: RequestEvent) => void>();

  after(req: ChainRequest, answer: WireAnswer): void {
    const event: RequestEvent = { run: req.lane, url: req.url, kind: req.kind, status: answer.status, error: answer.error };
    req.lane?.countRequest(requestKey(event));
    for (const listener of this.listeners) listener(event);
  }

  /** Hears every request that went out; returns the function that stops it. */
  listen(listener: (e: RequestEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
