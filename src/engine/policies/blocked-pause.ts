import type { Logger } from '../../log/logger.js';
import type { LaneRun } from '../lane.js';
import type { ArticleOutcome } from '../pipeline/article-outcome.js';
import type { RequestMiddleware } from './policy.js';

/** HTTP answers that say the site is not serving us, not that the article is missing. */
export const BLOCKED_STATUSES: ReadonlySet<number> = new Set([403, 451]);

/**
 * Block pages (a challenge page, HTTP 403/451) in a row, from whichever lanes, pause the whole
 * queue as a 429 would: the site is telling every lane the same thing. The run whose page set
 * the pause off counts it (its summary's blocked alarm).
 */
export class BlockedPause implements RequestMiddleware {
  readonly name = 'blocked-pause';
  private inARow = 0;

  constructor(
    private readonly o: { inARow: number; pauseMs: number; pause: (ms: number) => void; log: Logger },
  ) {}

  outcome(run: LaneRun, outcome: ArticleOutcome): void {
    if (outcome.kind !== 'blocked') {
      // A run cut short says nothing of the site.
      if (outcome.kind !== 'interrupted') this.inARow = 0;
      return;
    }
    if (++this.inARow < this.o.inARow) return;
    this.inARow = 0;
    run.blockedPauses++;
    this.o.pause(this.o.pauseMs);
    this.o.log.warn({ lane: run.lane, inARow: this.o.inARow, pauseMs: this.o.pauseMs, reason: outcome.reason }, 'blocked pages in a row: pausing every request, as for a 429');
  }
}
