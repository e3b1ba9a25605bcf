import type { RunRecord } from '../../storage/state/state-store.js';
import { WATCHED_FIELDS, type WatchedField } from '../pipeline/article-outcome.js';

/**
 * The drift alarm: the site changed its markup and extraction silently yields nothing, or
 * loses a field, while every page still answers 200. A run measures what its extraction gave;
 * the alarm compares that with earlier runs.
 */


/** What one run's extraction gave. */
export interface ExtractionStats {
  /** The site's own article pages fetched and extracted (not 304s, blocked pages or failures). */
  pages: number;
  /** Those that gave no article. */
  notArticle: number;
  /** Those that gave one, and how many of these carried each optional field. */
  articles: number;
  fields: Record<WatchedField, number>;
}

export interface DriftFinding {
  what: string;
  /** The baseline's value (a share, 0–1). */
  from: number;
  to: number;
}

/** At least this many pages before a run says anything. */
export const MIN_PAGES = 10;
/** Runs back the baseline comes from: a lagged window, so a slow drift cannot pull down its own baseline. */
const WINDOW = { from: 8, to: 14 };

export function emptyStats(): ExtractionStats {
  return { pages: 0, notArticle: 0, articles: 0, fields: { siteName: 0, description: 0, image: 0 } };
}

/**
 * The baseline from earlier runs (newest first): runs 8–14 back, or, with fewer than 8, every
 * run there is. Pooled: the shares of all their pages together. Null without any measured run.
 */
export function baselineOf(previous: readonly RunRecord[]): ExtractionStats | null {
  const measured = previous.map((r) => extractionOf(r.summary)).filter((s): s is ExtractionStats => s !== null && s.pages > 0);
  const window = measured.length >= WINDOW.from ? measured.slice(WINDOW.from - 1, WINDOW.to) : measured;
  if (window.length === 0) return null;
  return window.reduce((sum, s) => {
    sum.pages += s.pages;
    sum.notArticle += s.notArticle;
    sum.articles += s.articles;
    for (const f of WATCHED_FIELDS) sum.fields[f] += s.fields[f];
    return sum;
  }, emptyStats());
}

/** Runs the baseline needs, newest first: the current one's predecessors up to the window's end. */
export const BASELINE_RUNS = WINDOW.to;

/**
 * What dropped, if anything: with at least 10 pages, a no-article share of 20% or more that is
 * at least 3× the baseline's, or a field whose coverage fell below half the baseline's.
 */
export function findDrift(current: ExtractionStats, baseline: ExtractionStats | null): DriftFinding[] {
  if (current.pages < MIN_PAGES) return [];
  const findings: DriftFinding[] = [];
  // Shares are compared as counts, cross-multiplied: 3 × 10% must equal 30%, which floats do not.
  const base = baseline && baseline.pages > 0 ? baseline : null;
  const noArticle = current.notArticle * 5 >= current.pages && (!base || current.notArticle * base.pages >= 3 * base.notArticle * current.pages);
  if (noArticle) findings.push({ what: 'pages that yield no article', from: base ? base.notArticle / base.pages : 0, to: current.notArticle / current.pages });
  if (baseline && baseline.articles > 0 && current.articles > 0) {
    for (const field of WATCHED_FIELDS) {
      if (2 * current.fields[field] * baseline.articles < baseline.fields[field] * current.articles) {
        findings.push({ what: `${field} coverage`, from: baseline.fields[field] / baseline.articles, to: current.fields[field] / current.articles });
      }
    }
  }
  return findings;
}

/** One line a person reads: `pages that yield no article rose from 2% to 50%`. */
export function describeFinding(f: DriftFinding): string {
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  return `${f.what} ${f.to > f.from ? 'rose' : 'fell'} from ${pct(f.from)} to ${pct(f.to)}`;
}

export const DRIFT_REMEDY = 'fix site.selectors in the config (see config/README.md), then run newsnap reextract to rebuild the snapshots from the archive';

/** A run's extraction as it goes: it says as soon as the no-article share looks like drift. */
export class DriftMonitor {
  readonly stats = emptyStats();

  constructor(private readonly baseline: ExtractionStats | null) {}

  /** One extracted page: the fields its article carried, or null when it gave none. */
  page(fields: Record<WatchedField, boolean> | null): void {
    this.stats.pages++;
    if (!fields) {
      this.stats.notArticle++;
      return;
    }
    this.stats.articles++;
    for (const f of WATCHED_FIELDS) if (fields[f]) this.stats.fields[f]++;
  }

  /** The no-article share already meets the alarm: sending more empty pages to a browser would only cost time. */
  get drifting(): boolean {
    return findDrift(this.stats, this.baseline).some((f) => f.what === 'pages that yield no article');
  }

  findings(): DriftFinding[] {
    return findDrift(this.stats, this.baseline);
  }
}

function extractionOf(summary: unknown): ExtractionStats | null {
  const e = (summary as { extraction?: ExtractionStats } | null)?.extraction;
  return e && typeof e.pages === 'number' ? e : null;
}
