import { FetchError, retryAfterOf } from '../../fetch/fetch-error.js';
import type { WireAnswer } from '../../fetch/site-requests.js';
import type { ChainRequest, RequestMiddleware } from './policy.js';
import type { RateGate } from './rate-gate.js';

/**
 * `Retry-After` (a 429 or 503 that gives one) pauses every attempt, not just a retry of this one,
 * whichever request heard it: an attempt, a redirect hop or a rendered page's sub-request (the
 * browser's answers carry no error, so the answer itself is read, not the caller's error). Its
 * after-hook runs before the rate gate frees the attempt's slot, so the attempt queued next does
 * not go out inside the pause. A pause past `maxMs` is not waited for: the scheduler fails the
 * attempt instead.
 */
export class RetryAfterPause implements RequestMiddleware {
  readonly name = 'retry-after';

  /** The pause on a rate gate: built here only, for the engine's chain and a bare scheduler's. */
  static on(rate: RateGate, maxMs: number): RetryAfterPause {
    return new RetryAfterPause(maxMs, (ms) => rate.pauseFor(ms));
  }

  constructor(
    private readonly maxMs: number,
    private readonly pause: (ms: number) => void,
  ) {}

  after(req: ChainRequest, answer: WireAnswer): void {
    if (req.signal.aborted || answer.status === null) return;
    const ms = retryAfterOf(answer.status, answer.headers);
    if (ms !== undefined && ms <= this.maxMs) this.pause(ms);
  }

  /** An attempt's error that carries a Retry-After no answer reported (a fetcher outside the chain): the same pause, once more is harmless. */
  error(req: ChainRequest, err: unknown): void {
    if (req.parent || req.signal.aborted) return;
    if (!(err instanceof FetchError) || !err.retryable || err.retryAfterMs === undefined) return;
    if (err.retryAfterMs <= this.maxMs) this.pause(err.retryAfterMs);
  }
}
