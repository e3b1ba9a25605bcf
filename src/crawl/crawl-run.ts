import type { Config } from '../config/config.js';
import { Discovery, type SourceResult } from '../discover/discovery.js';
import type { HttpClient } from '../fetch/http-client.js';
import type { RequestScheduler } from '../frontier/request-scheduler.js';
import type { WorkCursor } from '../frontier/state-store.js';
import type { Logger } from '../log/logger.js';
import type { SiteUrls } from '../site/site-urls.js';
import type { Archive } from './archive.js';
import type { ArticleOutcome, ArticlePipeline } from './article-pipeline.js';
import { siteToday } from '../site/calendar.js';
import { nowMs } from '../clock/clock.js';
import { daysOf, incrementalWindow, monthsOf, type CrawlWindow } from './crawl-plan.js';
import { ProgressReporter, type ProgressCounts } from './progress.js';

export interface CrawlRequest {
  /** YYYYMMDD; with it the run is a backfill of [since, until]. */
  since?: string;
  until?: string;
  /** Articles to process at most. */
  max?: number;
  /** Discover and list the work; fetch no article. */
  dryRun?: boolean;
}

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
  message?: string;
}

export interface CrawlDeps {
  config: Config;
  log: Logger;
  urls: SiteUrls;
  http: HttpClient;
  scheduler: RequestScheduler;
  archive: Archive;
  pipeline: ArticlePipeline;
  /** Where a dry run lists URLs. */
  out: NodeJS.WritableStream;
  tty: boolean;
  /** Today in the site's time zone (YYYYMMDD); default from the clock (which `NEWSNAP_NOW` pins). */
  today?: string;
  /** Sees every article outcome as it happens (metrics). */
  onOutcome?: (outcome: ArticleOutcome) => void;
  /** Sees the summary when the run ends. */
  onSummary?: (summary: CrawlSummary) => void;
}

const LAST_DISCOVERY_DAY = 'incremental.lastDiscoveryDay';
const PAGE = 256;

/** One crawl: discover, then work through pending and retryable articles, politely. */
export async function runCrawl(deps: CrawlDeps, request: CrawlRequest, signal: AbortSignal): Promise<CrawlSummary> {
  const { config, log, archive, scheduler } = deps;
  const state = archive.state;
  const started = performance.now();
  const today = deps.today ?? siteToday(nowMs());
  const backfill = request.since !== undefined;
  const window: CrawlWindow = backfill
    ? { since: request.since as string, until: request.until ?? today, backfill: true }
    : incrementalWindow(today, state.getMeta(LAST_DISCOVERY_DAY) ?? null);
  const runId = state.beginRun(backfill ? 'backfill' : 'incremental');
  const counts: ProgressCounts = { discovered: 0, queued: 0, written: 0, unchanged: 0, notArticle: 0, failed: 0, skipped: 0 };
  const requests: Record<string, number> = {};
  const stopObserving = deps.http.observe(({ status, error }) => {
    const key = status !== null && !error ? String(status) : (error?.kind ?? 'error');
    requests[key] = (requests[key] ?? 0) + 1;
  });

  const discovery = new Discovery({ http: deps.http, scheduler, state, urls: deps.urls, log, productToken: productToken(config.http.userAgent), signal });
  const summary = (status: CrawlStatus, listed = 0, message?: string): CrawlSummary => {
    const durationMs = performance.now() - started;
    const processed = counts.written + counts.unchanged + counts.notArticle + counts.failed;
    const s: CrawlSummary = {
      runId,
      kind: backfill ? 'backfill' : 'incremental',
      status,
      window,
      counts,
      listed,
      durationMs: Math.round(durationMs),
      pagesPerSecond: Number((processed / Math.max(durationMs / 1000, 0.001)).toFixed(2)),
      requests,
      sources: discovery.results,
      ...(message ? { message } : {}),
    };
    state.endRun(runId, status, s);
    stopObserving();
    deps.onSummary?.(s);
    return s;
  };

  log.info({ runId, window, rate: scheduler.effectiveRate, concurrency: config.crawl.concurrency }, 'crawl started');
  if (!(await discovery.loadRobots())) return summary('failed', 0, 'robots.txt could not be read and no earlier copy exists: the site may not be crawled now');
  const delay = discovery.robots.crawlDelay;
  if (delay !== undefined) {
    scheduler.applyCrawlDelay(delay);
    log.info({ crawlDelay: delay, rate: scheduler.effectiveRate }, 'robots.txt Crawl-delay applied');
  }

  const d = config.site.discovery;
  if (!backfill && !signal.aborted) await discovery.rss(d.rss);
  for (const month of monthsOf(window)) {
    if (signal.aborted) break;
    const result = await discovery.monthSitemap(d.monthSitemap, month);
    if (result.outcome === 'failed' && config.crawl.archiveFallback) {
      log.warn({ month }, 'month sitemap failed: reading day archives instead');
      for (const day of daysOf(month, window)) {
        if (signal.aborted) break;
        await discovery.dayArchive(d.dayArchive, day);
      }
    }
  }
  counts.discovered = discovery.results.reduce((n, r) => n + r.added, 0);
  const discoveryFailed = discovery.results.some((r) => r.outcome === 'failed');
  if (!backfill && !discoveryFailed && !signal.aborted) state.setMeta(LAST_DISCOVERY_DAY, today);
  const workRange = backfill ? rangeOf(window) : {};
  const total = Math.min(state.countWork({ maxFailedRuns: config.crawl.maxFailedRuns, ...workRange }), request.max ?? Number.POSITIVE_INFINITY);
  counts.queued = total;
  log.info({ discovered: counts.discovered, work: total }, 'discovery finished');

  if (request.dryRun) {
    let listed = 0;
    for (const rec of pages(state, config.crawl.maxFailedRuns, workRange)) {
      if (request.max !== undefined && listed >= request.max) break;
      deps.out.write(`${rec.url}\n`);
      listed++;
    }
    return summary(signal.aborted ? 'interrupted' : 'done', listed);
  }

  const progress = new ProgressReporter(counts, log, { tty: deps.tty, intervalMs: config.crawl.progressIntervalMs, total: () => total });
  progress.start();
  const inflight = new Set<Promise<void>>();
  const limit = Math.max(2, config.crawl.concurrency * 2);
  let launched = 0;
  try {
    for (const rec of pages(state, config.crawl.maxFailedRuns, workRange)) {
      if (signal.aborted || (request.max !== undefined && launched >= request.max)) break;
      if (!discovery.allowed(rec.url)) {
        archive.recordSkipped(rec.id, rec.url, 'disallowed by robots.txt');
        counts.skipped++;
        continue;
      }
      launched++;
      const job: Promise<void> = deps.pipeline.process({ id: rec.id, day: rec.day, url: rec.url }, archive, signal).then((o) => {
        tally(o, counts, log);
        deps.onOutcome?.(o);
      });
      inflight.add(job);
      void job.finally(() => inflight.delete(job)).catch(() => undefined);
      while (inflight.size >= limit) await Promise.race(inflight);
    }
    await Promise.all(inflight);
  } catch (err) {
    scheduler.stop();
    await Promise.allSettled(inflight);
    progress.stop();
    try {
      summary('failed', 0, (err as Error).message);
    } catch {
      // The state store may be what failed (a full disk); the original error says why.
    }
    throw err;
  }
  progress.stop();

  const processed = counts.written + counts.unchanged + counts.notArticle;
  let status: CrawlStatus = 'done';
  if (signal.aborted) status = 'interrupted';
  else if (counts.failed > 0 && processed === 0) status = 'failed';
  else if (counts.failed > 0 || discoveryFailed) status = 'partial';
  if (status !== 'interrupted' && launched === 0 && discovery.results.length > 0 && discovery.results.every((r) => r.outcome === 'failed')) status = 'failed';
  return summary(status);
}

function tally(o: ArticleOutcome, counts: ProgressCounts, log: Logger): void {
  switch (o.kind) {
    case 'written':
      counts.written++;
      break;
    case 'unchanged':
      counts.unchanged++;
      break;
    case 'not-article':
      counts.notArticle++;
      break;
    case 'failed':
      counts.failed++;
      break;
    case 'printed':
    case 'interrupted':
      break;
  }
  const fields = {
    id: o.ref.id,
    url: o.ref.url,
    outcome: o.kind,
    ...(o.kind === 'failed' ? { err: o.message } : {}),
    ...(o.kind === 'not-article' ? { reason: o.reason } : {}),
    ...((o.kind === 'written' || o.kind === 'unchanged') && o.rendered ? { rendered: true, renderMs: o.renderMs } : {}),
  };
  if (o.kind === 'failed') log.warn(fields, 'article failed');
  else if (o.kind === 'not-article') log.info(fields, 'not an article');
  else log.debug(fields, 'article');
}

function rangeOf(window: CrawlWindow): { since: string; until: string } {
  return { since: window.since, until: window.until };
}

/** Work in pages, newest first, walking a cursor so in-flight rows are never selected twice. */
function* pages(state: Archive['state'], maxFailedRuns: number, range: { since?: string; until?: string }) {
  let after: WorkCursor | undefined;
  for (;;) {
    const batch = state.work({ limit: PAGE, maxFailedRuns, ...range, ...(after ? { after } : {}) });
    if (batch.length === 0) return;
    for (const rec of batch) {
      after = { day: rec.day, id: rec.id };
      yield rec;
    }
  }
}

/** The robots.txt product token: the User-Agent's first word without its version. */
export function productToken(userAgent: string): string {
  return (userAgent.split(/[\s/]/)[0] ?? 'newsnap').toLowerCase();
}
