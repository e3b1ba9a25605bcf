import type { Logger } from '../../log/logger.js';
import type { LaneRun } from '../lane.js';
import type { ArticleOutcome } from '../pipeline/article-outcome.js';
import { describeFinding, DriftMonitor, type ExtractionStats } from './drift.js';
import { extractedFields, type WatchedField } from '../pipeline/article-outcome.js';
import { RequestVeto } from '../../fetch/site-requests.js';
import type { ChainRequest, RequestMiddleware } from './policy.js';

/** Pages the suspicion is judged on: the latest this many, of every lane. */
const WINDOW = 200;

/**
 * Drift suspicion for every lane: while the latest pages (whichever lane fetched them) yield no
 * article as often as the drift alarm says, pages with an empty body are not sent to the browser
 * (a render would only cost time: the markup changed): the fallback render is vetoed. Each run still judges its own pages for
 * its summary's alarm (DriftMonitor); this watch decides the browser fallback for all of them.
 */
export class DriftWatch implements RequestMiddleware {
  readonly name = 'drift';
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

  outcome(_run: LaneRun, outcome: ArticleOutcome): void {
    const page = extractedFields(outcome);
    if (page === undefined) return;
    this.recent.push(page);
    if (this.recent.length > WINDOW) {
      this.recent.shift();
      this.rebuild();
    } else this.monitor.page(page);
  }

  /** A fallback render of an empty body is vetoed while drift is suspected; says once when that starts. */
  before(req: ChainRequest): void {
    if (req.kind !== 'render' || !req.fallback || req.parent) return;
    const veto = this.fallbackVeto(req.url, req.lane);
    if (veto) throw veto;
  }

  /**
   * The veto a fallback render of `url` meets now, or null. The pipeline asks it directly when no
   * browser is set up: the article is postponed as drift says, not failed for want of a browser.
   */
  fallbackVeto(url: string, lane: LaneRun | null): RequestVeto | null {
    if (!this.monitor.drifting) {
      this.said = false;
      return null;
    }
    if (!this.said) {
      this.said = true;
      this.log.warn({ lane: lane?.lane, drift: this.monitor.findings().map(describeFinding) }, 'extraction drift suspected: pages with an empty body are no longer sent to the browser');
    }
    return new RequestVeto(this.name, url, `${url}: empty body, not rendered: extraction drift suspected`);
  }

  private rebuild(): void {
    this.monitor = new DriftMonitor(this.baseline);
    for (const page of this.recent) this.monitor.page(page);
  }
}
