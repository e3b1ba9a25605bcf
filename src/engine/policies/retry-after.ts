import { FetchError } from '../../fetch/fetch-error.js';
import type { ChainRequest, RequestMiddleware } from './policy.js';

/**
 * `Retry-After` (a 429 or 503 that gives one) pauses every attempt, not just a retry of this one.
 * Its error-hook runs before the rate gate frees the attempt's slot, so the attempt queued next
 * does not go out inside the pause. A pause past `maxMs` is not waited for: the attempt fails.
 */
export class RetryAfterPause implements RequestMiddleware {
  readonly name = 'retry-after';

  constructor(
    private readonly maxMs: number,
    private readonly pause: (ms: number) => void,
  ) {}

  error(req: ChainRequest, err: unknown): void {
    if (req.parent || req.signal.aborted) return;
    if (!(err instanceof FetchError) || !err.retryable || err.retryAfterMs === undefined) return;
    if (err.retryAfterMs <= this.maxMs) this.pause(err.retryAfterMs);
  }
}
