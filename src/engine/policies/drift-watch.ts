import type { Logger } from '../../log/logger.js';
import type { LaneRun } from '../lane.js';
import type { ArticleOutcome } from '../pipeline/article-outcome.js';
import { describeFinding, DriftMonitor, type ExtractionStats } from './drift.js';
import { extractedFields, type WatchedField } from '../pipeline/article-outcome.js';
import type { Policy } from './policy.js';

/** Pages the suspicion is judged on: the latest this many, of every lane. */
const WINDOW = 200;

/**
 * Drift suspicion for every lane: while the latest pages (whichever lane fetched them) yield no
 * article as often as the drift alarm says, pages with an empty body are not sent to the browser
 * (a render would only cost time: the markup changed). Each run still judges its own pages for
 * its summary's alarm (DriftMonitor); this watch decides the browser fallback for all of them.
 */
export class DriftWatch implements Policy {
  private monitor: DriftMonitor;
  private readonly recent: Array<Record<WatchedField, boolean> | null> = [];
  private said = false;

  constructor(
    private baseline: ExtractionStats | null,
    private readonly log: Logger,
  ) {
    this.monitor = new DriftMonitor(baseline);
  }

  /** A new baseline (after a run ended): earlier runs' pooled extraction. */
  rebase(baseline: ExtractionStats | null): void {
    this.baseline = baseline;
    this.rebuild();
  }

  onOutcome(_run: LaneRun, outcome: ArticleOutcome): void {
    const page = extractedFields(outcome);
    if (page === undefined) return;
    this.recent.push(page);
    if (this.recent.length > WINDOW) {
      this.recent.shift();
      this.rebuild();
    } else this.monitor.page(page);
  }

  /** Whether an empty body may still go to the browser; says once when it may not. */
  renderAllowed(run: LaneRun): boolean {
    if (!this.monitor.drifting) {
      this.said = false;
      return true;
    }
    if (!this.said) {
      this.said = true;
      this.log.warn({ lane: run.lane, drift: this.monitor.findings().map(describeFinding) }, 'extraction drift suspected: pages with an empty body are no longer sent to the browser');
    }
    return false;
  }

  private rebuild(): void {
    this.monitor = new DriftMonitor(this.baseline);
    for (const page of this.recent) this.monitor.page(page);
  }
}
