import { threadPool } from '../threads/thread-pool.js';
import type { RevisitPolicy } from '../engine/revisit-policy.js';
import type { ArticleRecord, WorkCursor } from '../storage/state/state-store.js';
import type { Logger } from '../log/logger.js';
import type { SiteProfile } from '../site/profile.js';
import type { Storage } from '../storage/storage.js';
import { ArticleRecorder } from '../engine/pipeline/article-recorder.js';
import { emptyCounts, ProgressReporter, type ProgressCounts } from '../engine/progress.js';
import type { ReextractResult, ReextractTask, ReextractWorkerData } from './reextract-worker.js';
import { chunked, paged, runBounded } from '../engine/work-loop.js';

export interface ReextractRequest {
  /** YYYYMMDD bounds on the article's day. */
  since?: string;
  until?: string;
  ids?: string[];
  workers: number;
}

export interface ReextractSummary {
  status: 'done' | 'partial' | 'interrupted';
  /** Archived pages read. */
  pages: number;
  /** Snapshots whose bytes changed (a `reextracted` manifest line each). */
  written: number;
  unchanged: number;
  /** Current snapshot files that were missing and were written again with their recorded bytes. */
  lostRewritten: number;
  notArticle: number;
  failed: number;
  workers: number;
  durationMs: number;
  pagesPerSecond: number;
}

export interface ReextractDeps {
  storage: Storage;
  profile: SiteProfile;
  revisit: RevisitPolicy;
  log: Logger;
  tty: boolean;
  progressIntervalMs: number;
}

const PAGE = 256;
/** Pages per message to a worker: ~40 ms of work, so a stop still lands at once. */
const BATCH = 16;

/**
 * Rebuilds snapshots from the archive with the current configuration, sending no request:
 * every archived article in range (its latest response, or rendered DOM) goes through the
 * crawl's extraction in a worker-thread pool, and what changed goes through the same version
 * logic as an edit (history kept, a `reextracted` manifest line). Unchanged bytes write nothing,
 * so a second pass writes nothing.
 */
export async function runReextract(deps: ReextractDeps, request: ReextractRequest, signal: AbortSignal): Promise<ReextractSummary> {
  const { storage, log } = deps;
  const started = performance.now();
  const range = { ...(request.since ? { since: request.since } : {}), ...(request.until ? { until: request.until } : {}), ...(request.ids ? { ids: request.ids } : {}) };
  const counts = emptyCounts();
  const total = countArchived(storage, range);
  counts.queued = total;
  const workerData: ReextractWorkerData = { root: storage.root, profile: deps.profile };
  const pool = threadPool<ReextractTask[], ReextractResult[]>(new URL('./reextract-worker.js', import.meta.url), {
    threads: request.workers,
    workerData: { ...workerData },
    // Each worker holds its next batch before it finishes the one at hand: no idle round trip
    // through the main thread between two (the work itself is synchronous, one page at a time).
    concurrentTasksPerWorker: 2,
  });
  const recorder = new ArticleRecorder(storage, deps.revisit);
  const progress = new ProgressReporter(counts, log, { tty: deps.tty, intervalMs: deps.progressIntervalMs, total: () => total });
  log.info({ pages: total, workers: request.workers, ...range }, 'reextract started');
  progress.start();
  let lostRewritten = 0;
  try {
    await runBounded(chunked(pages(storage, range), BATCH), { limit: request.workers * 2, signal }, async (batch) => {
      const results = await pool.run(batch.map((rec) => ({ at: rec.warc!, sha256: rec.sha256, path: rec.path })));
      for (const [i, rec] of batch.entries()) {
        if (await settle(recorder, storage, rec, results[i]!, counts, log)) lostRewritten++;
      }
    });
  } finally {
    progress.stop();
    await pool.destroy();
  }
  const durationMs = performance.now() - started;
  const pagesRead = counts.written + counts.unchanged + counts.notArticle + counts.failed;
  return {
    status: signal.aborted ? 'interrupted' : counts.failed > 0 ? 'partial' : 'done',
    pages: pagesRead,
    written: counts.written,
    unchanged: counts.unchanged,
    lostRewritten,
    notArticle: counts.notArticle,
    failed: counts.failed,
    workers: request.workers,
    durationMs: Math.round(durationMs),
    pagesPerSecond: Number((pagesRead / Math.max(durationMs / 1000, 0.001)).toFixed(1)),
  };
}

/** Settles one page; true when it wrote a lost snapshot file again. */
async function settle(recorder: ArticleRecorder, storage: Storage, rec: ArticleRecord, result: ReextractResult, counts: ProgressCounts, log: Logger): Promise<boolean> {
  if ('unreadable' in result) {
    counts.failed++;
    log.warn({ id: rec.id, at: rec.warc, err: result.unreadable }, 'archived page could not be read');
    return false;
  }
  if (!result.ok) {
    counts.notArticle++;
    log.debug({ id: rec.id, reason: result.reason }, 'not an article');
    return false;
  }
  if ('unchanged' in result) {
    counts.unchanged++;
    return false;
  }
  if ('lost' in result) {
    counts.unchanged++;
    const rewrote = await storage.restoreLostSnapshot({ id: rec.id, path: rec.path!, sha256: rec.sha256! }, result.text);
    if (rewrote) log.info({ id: rec.id, path: rec.path }, 'missing or damaged snapshot file written again');
    return rewrote;
  }
  const saved = await recorder.captured(result.article, result.text, { reextracted: true });
  if (saved.outcome === 'unchanged') counts.unchanged++;
  else {
    counts.written++;
    log.info({ id: result.article.id, path: saved.path }, 'snapshot reextracted');
  }
  return false;
}

function countArchived(storage: Storage, range: { since?: string; until?: string; ids?: readonly string[] }): number {
  if (range.ids) return range.ids.filter((id) => storage.state.articles.get(id)?.warc).length;
  return storage.state.articles.countWarc(range);
}

function pages(storage: Storage, range: { since?: string; until?: string; ids?: readonly string[] }): Iterable<ArticleRecord> {
  return paged<ArticleRecord, WorkCursor>((after) => storage.state.articles.warcPage({ limit: PAGE, ...range, ...(after ? { after } : {}) }), (r) => ({ day: r.day, id: r.id }));
}
