import { OUTCOMES, type OutcomeKind } from '../storage/state/article-states.js';
import type { Logger } from '../log/logger.js';

export interface ProgressCounts {
  discovered: number;
  /** Articles this run will process: new ones and due revisits. */
  queued: number;
  /** New snapshots. */
  written: number;
  /** New versions of edited articles. */
  updated: number;
  /** Removed articles that answered again. */
  restored: number;
  /** Checked again: no change. */
  unchanged: number;
  /** Found removed (410, or 404 enough times). */
  gone: number;
  /** Answered 404, not yet enough times to be gone. */
  missing: number;
  notArticle: number;
  /** Not the site's page (a challenge or block page, HTTP 403/451). */
  blocked: number;
  /** The article's own failures. */
  failed: number;
  /** Not reached: the site could not be reached (nothing counted against the article). */
  unreachable: number;
  /** Empty bodies not rendered while drift was suspected: left for a later run. */
  postponed: number;
  /** Disallowed by robots.txt. */
  skipped: number;
  /** Checks of articles already captured (revisits), made this run. */
  revisits: number;
  /** Revisits due but left for later runs by `revisit.maxPerRun`. */
  deferred: number;
}

export function emptyCounts(): ProgressCounts {
  return { discovered: 0, queued: 0, written: 0, updated: 0, restored: 0, unchanged: 0, gone: 0, missing: 0, notArticle: 0, blocked: 0, failed: 0, unreachable: 0, postponed: 0, skipped: 0, revisits: 0, deferred: 0 };
}

/** The count each outcome adds to (none for outcomes that are no result of a run: printed, interrupted). */
export const COUNTED_AS: { readonly [K in OutcomeKind]: keyof ProgressCounts | null } = {
  written: 'written',
  updated: 'updated',
  restored: 'restored',
  // reextract counts a rebuilt version as written.
  reextracted: 'written',
  unchanged: 'unchanged',
  printed: null,
  gone: 'gone',
  missing: 'missing',
  'not-article': 'notArticle',
  disallowed: 'skipped',
  blocked: 'blocked',
  failed: 'failed',
  unreachable: 'unreachable',
  postponed: 'postponed',
  interrupted: null,
};

/** Adds one outcome to the counts. */
export function count(c: ProgressCounts, kind: OutcomeKind): void {
  const key = COUNTED_AS[kind];
  if (key) c[key]++;
}

/** Articles the run has finished with, whatever the outcome (older summaries lack the newer counts). */
export function processed(c: ProgressCounts): number {
  return c.written + c.updated + c.restored + c.unchanged + c.gone + c.missing + c.notArticle + c.blocked + c.failed + (c.unreachable ?? 0) + (c.postponed ?? 0) + c.skipped;
}

/** Outcomes among them that are failures (OUTCOMES' `failure`). */
export function failures(c: ProgressCounts): number {
  let n = 0;
  for (const [kind, key] of Object.entries(COUNTED_AS) as Array<[OutcomeKind, keyof ProgressCounts | null]>) if (key && OUTCOMES[kind].failure) n += c[key] ?? 0;
  return n;
}

/**
 * Progress of a long run: one refreshed line on a terminal (discovered, done, failed, rate,
 * ETA), periodic `progress` log records otherwise.
 */
export class ProgressReporter {
  private timer: NodeJS.Timeout | null = null;
  private readonly started = performance.now();
  private drawn = false;

  constructor(
    private readonly counts: ProgressCounts,
    private readonly log: Logger,
    private readonly options: { tty: boolean; intervalMs: number; total: () => number },
  ) {}

  start(): void {
    const every = this.options.tty ? 250 : this.options.intervalMs;
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.drawn) process.stderr.write('\n');
  }

  private tick(): void {
    const c = this.counts;
    const done = processed(c);
    const seconds = (performance.now() - this.started) / 1000;
    const rate = done / Math.max(seconds, 0.001);
    const left = Math.max(0, this.options.total() - done);
    const eta = rate > 0 ? left / rate : Number.POSITIVE_INFINITY;
    if (this.options.tty) {
      const line = `discovered ${c.discovered} · done ${done}/${this.options.total()} (written ${c.written}, updated ${c.updated}, unchanged ${c.unchanged}, gone ${c.gone}) · failed ${c.failed} · ${rate.toFixed(1)}/s · ETA ${formatEta(eta)}`;
      process.stderr.write(`\r\u001b[2K${line}`);
      this.drawn = true;
    } else {
      this.log.info({ ...c, done, total: this.options.total(), pagesPerSecond: Number(rate.toFixed(2)), etaSeconds: Number.isFinite(eta) ? Math.round(eta) : null }, 'progress');
    }
  }
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
