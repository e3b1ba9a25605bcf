import { join } from 'node:path';
import { nowIso, nowMs } from '../../clock/clock.js';
import type { Config } from '../../config/config.js';
import { Discovery, monthSitemapUrl, type SourceResult } from '../../discover/discovery.js';
import type { FetchError } from '../../fetch/fetch-error.js';
import type { HttpClient } from '../../fetch/http-client.js';
import type { SiteHealth } from '../policies/site-health.js';
import { describeUnreachable } from '../../fetch/unreachable.js';
import { OUTCOMES } from '../../storage/state/article-states.js';
import { parseDuration } from '../../clock/durations.js';
import type { RequestScheduler } from '../request-scheduler.js';
import type { ArticleRecord, DueCursor, WorkCursor } from '../../storage/state/state-store.js';
import type { Logger } from '../../log/logger.js';
import { siteToday } from '../../site/calendar.js';
import type { SiteUrls } from '../../site/site-urls.js';
import { StorageError } from '../../disk/storage-error.js';
import type { ArticleOutcome, ArticlePipeline } from '../pipeline/article-pipeline.js';
import { daysOf, incrementalSitemapReads, incrementalWindow, monthsOf, type CrawlWindow, type SitemapRead } from './crawl-plan.js';
import { BASELINE_RUNS, baselineOf, describeFinding, DRIFT_REMEDY, DriftMonitor, type DriftFinding, type ExtractionStats } from '../policies/drift.js';
import { count, emptyCounts, failures, processed, ProgressReporter, type ProgressCounts } from '../progress.js';
import type { Storage } from '../../storage/storage.js';
import { chain, paged, runBounded, take } from '../work-loop.js';

export interface CrawlRequest {
  /** YYYYMMDD; with it the run is a backfill of [since, until]. */
  since?: string;
  until?: string;
  /** Articles to process at most. */
  max?: number;
  /** Discover and list the work; fetch no article. */
  dryRun?: boolean;
  /** Every failed article is pending again first, its runs forgiven. */
  retryFailed?: boolean;
  /**
   * A backfill inside `serve`: its requests wait behind every other in the shared queue (it gets
   * the budget left over), one article at a time, and it leaves due revisits to the scheduled runs.
   */
  background?: boolean;
  /** New work from the run's own window only: a background backfill has the older days. */
  ownWindowOnly?: boolean;
}

/** Queue priority of a background run's requests (p-queue: higher goes first; others are 0). */
export const BACKGROUND_PRIORITY = -1;

export type CrawlStatus = 'done' | 'partial' | 'failed' | 'interrupted';

export interface CrawlSummary {
  runId: number;
  kind: 'incremental' | 'backfill';
  status: CrawlStatus;
  window: CrawlWindow;
  counts: ProgressCounts;
  /** Work listed by a dry run. */
  listed: number;
  durationMs: number;
  pagesPerSecond: number;
  /** Requests by HTTP status, or by error kind when there was no response. */
  requests: Record<string, number>;
  sources: SourceResult[];
  /** What extraction gave this run: the drift alarm's measure (and a later run's baseline). */
  extraction: ExtractionStats;
  /** The drift alarm: what dropped, against the baseline of earlier runs. Absent when all is well. */
  drift?: DriftFinding[];
  /** Blocked pages in a row paused the run this many times (the blocked alarm). */
  blockedPauses: number;
  /** The run stopped because nothing answered: the address contacted and why. */
  unreachable?: { address: string; message: string };
  /** Articles that failed all their runs, after this one (retried only on the slow schedule). */
  needsAttention: number;
  message?: string;
}

/** What any work on the site runs with: one queue, one rate limit, one writer. */
export interface CrawlTools {
  config: Config;
  log: Logger;
  urls: SiteUrls;
  http: HttpClient;
  scheduler: RequestScheduler;
  storage: Storage;
  pipeline: ArticlePipeline;
}

export interface CrawlDeps extends CrawlTools {
  health: SiteHealth;
  /** Where a dry run lists URLs. */
  out: NodeJS.WritableStream;
  tty: boolean;
  /** Today in the site's time zone (YYYYMMDD); default from the clock (which `NEWSNAP_NOW` pins). */
  today?: string;
  /** Sees every article outcome as it happens (metrics). */
  onOutcome?: (outcome: ArticleOutcome) => void;
  /** Sees the summary when the run ends. */
  onSummary?: (summary: CrawlSummary) => void;
  /** Gets the run's live counts when it starts (a status page shows them as they move). */
  onStart?: (live: { runId: number; counts: ProgressCounts; total: () => number }) => void;
}

const LAST_DISCOVERY_DAY = 'incremental.lastDiscoveryDay';
const PAGE = 256;

export const RETRY_FAILED_HINT = 'newsnap crawl --retry-failed retries them now';

/** One crawl: discover, then work through pending and retryable articles, politely. */
export async function runCrawl(deps: CrawlDeps, request: CrawlRequest, signal: AbortSignal): Promise<CrawlSummary> {
  const { config, log, storage, scheduler } = deps;
  const state = storage.state;
  const started = performance.now();
  const today = deps.today ?? siteToday(nowMs());
  const backfill = request.since !== undefined;
  const window: CrawlWindow = backfill
    ? { since: request.since as string, until: request.until ?? today, backfill: true }
    : incrementalWindow(today, state.meta.get(LAST_DISCOVERY_DAY) ?? null);
  // Earlier runs only: the baseline is read before this run exists.
  const monitor = new DriftMonitor(baselineOf(state.runs.recent(BASELINE_RUNS).filter((r) => r.finishedAt !== null)));
  const blocked = { inARow: 0, pauses: 0 };
  const maxFailedRuns = config.crawl.maxFailedRuns;
  const runId = state.runs.begin(backfill ? 'backfill' : 'incremental');
  const counts = emptyCounts();
  let total = 0;
  deps.onStart?.({ runId, counts, total: () => total });
  const requests: Record<string, number> = {};
  const stopObserving = deps.http.observe(({ status, error }) => {
    const key = status !== null && !error ? String(status) : (error?.kind ?? 'error');
    requests[key] = (requests[key] ?? 0) + 1;
  });
  // The circuit breaker: once nothing answers several requests in a row, the run stops.
  const breaker = new AbortController();
  const trip: { failure: FetchError | null } = { failure: null };
  const stopWatching = deps.health.onUnreachable((failure) => {
    trip.failure ??= failure;
    breaker.abort(new Error(describeUnreachable(failure)));
  });
  const run = AbortSignal.any([signal, breaker.signal]);

  const priority = request.background ? BACKGROUND_PRIORITY : 0;
  const discovery = new Discovery({ http: deps.http, scheduler, state, urls: deps.urls, log, productToken: productToken(config.http.userAgent), signal: run, priority });
  const summary = (status: CrawlStatus, listed = 0, message?: string): CrawlSummary => {
    const durationMs = performance.now() - started;
    const done = processed(counts) - counts.skipped;
    const drift = status === 'interrupted' ? [] : monitor.findings();
    if (drift.length > 0) log.error({ drift: drift.map(describeFinding), findings: drift, remedy: DRIFT_REMEDY }, 'extraction drift');
    const needsAttention = state.reports.countNeedingAttention(maxFailedRuns);
    const s: CrawlSummary = {
      runId,
      kind: backfill ? 'backfill' : 'incremental',
      status,
      window,
      counts,
      listed,
      durationMs: Math.round(durationMs),
      pagesPerSecond: Number((done / Math.max(durationMs / 1000, 0.001)).toFixed(2)),
      requests,
      sources: discovery.results,
      extraction: monitor.stats,
      blockedPauses: blocked.pauses,
      needsAttention,
      ...(drift.length > 0 ? { drift } : {}),
      ...(trip.failure ? { unreachable: { address: trip.failure.contacted?.address ?? new URL(trip.failure.url).host, message: describeUnreachable(trip.failure) } } : {}),
      ...(message ? { message } : {}),
    };
    if (trip.failure) log.error({ address: s.unreachable?.address, err: trip.failure.message }, s.unreachable?.message ?? 'site unreachable');
    state.runs.end(runId, status, s);
    stopObserving();
    stopWatching();
    deps.onSummary?.(s);
    return s;
  };

  log.info({ runId, window, rate: scheduler.effectiveRate, concurrency: config.crawl.concurrency }, 'crawl started');
  try {
    if (request.retryFailed) log.info({ articles: state.frontier.retryFailed() }, 'failed articles are pending again (--retry-failed)');
    const slow = state.frontier.scheduleGivenUp(maxFailedRuns, nowIso());
    if (slow > 0) log.info({ articles: slow, schedule: config.revisit.givenUpSchedule }, 'articles that failed all their runs are retried on the slow schedule');
    const stop = await discovery.loadRobots();
    if (stop) {
      if (stop.unreachable) trip.failure = stop.unreachable;
      return summary(signal.aborted ? 'interrupted' : 'failed', 0, stop.message);
    }
    const delay = discovery.robots.crawlDelay;
    if (delay !== undefined) {
      scheduler.applyCrawlDelay(delay);
      log.info({ crawlDelay: delay, rate: scheduler.effectiveRate }, 'robots.txt Crawl-delay applied');
    }

    const d = config.site.discovery;
    if (!backfill && !run.aborted) await discovery.rss(d.rss);
    const reads: SitemapRead[] = backfill
      ? monthsOf(window).map((month) => ({ kind: 'month', month }))
      : incrementalSitemapReads({
          window,
          lastDiscoveryDay: state.meta.get(LAST_DISCOVERY_DAY) ?? null,
          nowMs: nowMs(),
          monthEveryMs: parseDuration(config.discovery.monthEvery),
          monthReadAt: (month) => {
            const at = state.sources.checkedAt(monthSitemapUrl(d.monthSitemap, month, config.site.baseUrl).href);
            return at === null ? null : Date.parse(at);
          },
        });
    for (const read of reads) {
      if (run.aborted) break;
      const result = read.kind === 'month' ? await discovery.monthSitemap(d.monthSitemap, read.month) : await discovery.rangeSitemap(d.monthSitemap, read.since, read.until);
      if (result.outcome === 'failed' && config.crawl.archiveFallback && !run.aborted) {
        log.warn(read, 'sitemap failed: reading day listings instead');
        const days = read.kind === 'month' ? daysOf(read.month, window) : daysOf(read.since.slice(0, 6), { since: read.since, until: read.until, backfill: false });
        for (const day of days) {
          if (run.aborted) break;
          await discovery.dayListing(d.dayArchive, day);
        }
      }
    }
  } catch (err) {
    if (!StorageError.isStorageFailure(err)) throw err;
    const failure = StorageError.from(err, join(storage.root, 'state.sqlite'), 'record discovered articles in');
    try {
      summary('failed', 0, failure.message);
    } catch {
      // The state store is what failed; the error says why.
    }
    throw failure;
  }
  if (trip.failure && !signal.aborted) return summary('failed', 0, describeUnreachable(trip.failure));
  counts.discovered = discovery.results.reduce((n, r) => n + r.added, 0);
  const discoveryFailed = discovery.results.some((r) => r.outcome === 'failed');
  if (!backfill && !discoveryFailed && !signal.aborted) state.meta.set(LAST_DISCOVERY_DAY, today);
  const workRange = backfill ? rangeOf(window) : request.ownWindowOnly ? { since: window.since } : {};
  const fresh = Math.min(state.frontier.countWork({ maxFailedRuns, ...workRange }), request.max ?? Number.POSITIVE_INFINITY);
  // Revisits (and slow retries) come after new articles, the longest due first, at most revisit.maxPerRun a run.
  const dueAt = nowIso();
  const due = state.frontier.countDue({ now: dueAt, ...workRange });
  const revisitBudget = request.background ? 0 : Math.max(0, Math.min(due, config.revisit.maxPerRun, (request.max ?? Number.POSITIVE_INFINITY) - fresh));
  counts.deferred = due - revisitBudget;
  total = fresh + revisitBudget;
  counts.queued = total;
  log.info({ discovered: counts.discovered, work: fresh, revisits: revisitBudget, revisitsLeftForLater: counts.deferred }, 'discovery finished');
  // New work newest first, then revisits the longest due first; both in pages behind a cursor.
  const newWork = () => paged<ArticleRecord, WorkCursor>((after) => state.frontier.work({ limit: PAGE, maxFailedRuns, ...workRange, ...(after ? { after } : {}) }), (r) => ({ day: r.day, id: r.id }));
  const dueWork = () => paged<ArticleRecord, DueCursor>((after) => state.frontier.due({ now: dueAt, limit: PAGE, ...workRange, ...(after ? { after } : {}) }), (r) => ({ at: r.nextCheckAt ?? '', id: r.id }));
  const work = (): Iterable<ArticleRecord> => chain(take(newWork(), fresh), take(dueWork(), revisitBudget));

  if (request.dryRun) {
    let listed = 0;
    for (const rec of work()) {
      deps.out.write(`${rec.url}\n`);
      listed++;
    }
    return summary(signal.aborted ? 'interrupted' : 'done', listed);
  }

  let driftSaid = false;
  const renderFallback = () => {
    if (!monitor.drifting) return true;
    if (!driftSaid) {
      driftSaid = true;
      log.warn({ drift: monitor.findings().map(describeFinding) }, 'extraction drift suspected: pages with an empty body are no longer sent to the browser this run');
    }
    return false;
  };
  /** Feeds the drift measure, and pauses the run when the site keeps answering with block pages. */
  const watch = (o: ArticleOutcome) => {
    if (o.kind === 'not-article' || o.kind === 'postponed') monitor.page(null);
    else if ('fields' in o && o.fields) monitor.page(o.fields);
    if (o.kind !== 'blocked') {
      if (o.kind !== 'interrupted') blocked.inARow = 0;
      return;
    }
    if (++blocked.inARow < config.crawl.blockedInARow) return;
    blocked.inARow = 0;
    blocked.pauses++;
    scheduler.pauseFor(config.crawl.blockedPauseMs);
    log.warn({ inARow: config.crawl.blockedInARow, pauseMs: config.crawl.blockedPauseMs, reason: o.reason }, 'blocked pages in a row: pausing the run, as for a 429');
  };
  const settle = (o: ArticleOutcome) => {
    count(counts, o.kind);
    logOutcome(o, log);
    watch(o);
    deps.onOutcome?.(o);
  };
  const progress = new ProgressReporter(counts, log, { tty: deps.tty, intervalMs: config.crawl.progressIntervalMs, total: () => total });
  progress.start();
  let launched = 0;
  try {
    const limit = request.background ? 1 : Math.max(2, config.crawl.concurrency * 2);
    await runBounded(work(), { limit, signal: run, onFailure: () => scheduler.stop() }, (rec) => {
      const ref = { id: rec.id, day: rec.day, url: rec.url };
      if (!discovery.allowed(rec.url)) {
        settle(deps.pipeline.disallowed(ref, storage, rec));
        return null;
      }
      launched++;
      if (rec.state === 'done' || rec.state === 'gone') counts.revisits++;
      return deps.pipeline.process(ref, storage, run, { renderFallback, priority }).then(settle);
    });
  } catch (err) {
    progress.stop();
    try {
      summary('failed', 0, (err as Error).message);
    } catch {
      // The state store may be what failed (a full disk); the original error says why.
    }
    throw err;
  }
  progress.stop();

  const problems = failures(counts);
  const succeeded = processed(counts) - problems - counts.skipped;
  let status: CrawlStatus = 'done';
  if (signal.aborted) status = 'interrupted';
  else if (trip.failure) status = 'failed';
  else if (problems > 0 && succeeded === 0) status = 'failed';
  else if (problems > 0 || discoveryFailed) status = 'partial';
  if (status !== 'interrupted' && launched === 0 && discovery.results.length > 0 && discovery.results.every((r) => r.outcome === 'failed')) status = 'failed';
  return summary(status, 0, trip.failure ? describeUnreachable(trip.failure) : undefined);
}

/** One log record an article's outcome: a warning for failures, info for the site's changes, debug otherwise. */
function logOutcome(o: ArticleOutcome, log: Logger): void {
  const fields = {
    id: o.ref.id,
    url: o.ref.url,
    outcome: o.kind,
    ...(o.kind === 'failed' || o.kind === 'unreachable' || o.kind === 'postponed' ? { err: o.message } : {}),
    ...(o.kind === 'not-article' || o.kind === 'gone' || o.kind === 'blocked' ? { reason: o.reason } : {}),
    ...(o.kind === 'missing' ? { count: o.count } : {}),
    ...('rendered' in o && o.rendered && 'renderMs' in o ? { rendered: true, renderMs: o.renderMs } : {}),
  };
  if (o.kind === 'failed') log.warn(fields, 'article failed');
  else if (o.kind === 'unreachable') log.warn(fields, 'article not reached: the site is unreachable');
  else if (o.kind === 'blocked') log.warn(fields, "blocked: not the site's page");
  else if (o.kind === 'not-article') log.info(fields, 'not an article');
  else if (o.kind === 'updated' || o.kind === 'gone' || o.kind === 'restored' || o.kind === 'missing') log.info(fields, `article ${o.kind}`);
  else log.debug(fields, OUTCOMES[o.kind].word);
}

function rangeOf(window: CrawlWindow): { since: string; until: string } {
  return { since: window.since, until: window.until };
}

/** The robots.txt product token: the User-Agent's first word without its version. */
export function productToken(userAgent: string): string {
  return (userAgent.split(/[\s/]/)[0] ?? 'newsnap').toLowerCase();
}
