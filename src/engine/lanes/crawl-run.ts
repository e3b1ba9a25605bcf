import { join } from 'node:path';
import { nowIso, nowMs } from '../../clock/clock.js';
import type { Discovery } from '../../discover/discovery.js';
import { StorageError } from '../../disk/storage-error.js';
import { describeUnreachable } from '../../fetch/unreachable.js';
import { siteToday } from '../../site/calendar.js';
import type { ArticleRecord, DueCursor, WorkCursor } from '../../storage/state/state-store.js';
import type { Storage } from '../../storage/storage.js';
import type { Engine } from '../engine.js';
import type { LaneName, LaneRun } from '../lane.js';
import type { ArticleOutcome } from '../pipeline/article-outcome.js';
import { baselineOf, BASELINE_RUNS, DriftMonitor } from '../policies/drift.js';
import { extractedFields } from '../pipeline/article-outcome.js';
import { count, emptyCounts, failures, processed, ProgressReporter, type ProgressCounts } from '../progress.js';
import { chain, paged, runBounded, take } from '../work-loop.js';
import { logOutcome } from './outcome-log.js';
import { incrementalWindow, newWorkRanges, type CrawlWindow, type DayRange } from './crawl-plan.js';
import { LAST_DISCOVERY_DAY, newDiscovery, readRobots, readSources } from './crawl-discovery.js';
import { summarize, type CrawlStatus, type CrawlSummary } from './crawl-summary.js';

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
   * Days whose new work is another lane's (a backfill under way in `serve`): this run takes none
   * of it. Due checks of those days are still the revisit lane's.
   */
  leave?: { since: string; until: string };
  /** Due checks with the new work (default); a backfill in `serve` leaves them to the schedule's runs. */
  revisits?: boolean;
  /** New articles in flight at once; default twice `crawl.concurrency`. A backfill in `serve` takes one at a time. */
  inFlight?: number;
}

export type { CrawlStatus, CrawlSummary };

export interface CrawlDeps {
  engine: Engine;
  lane: LaneName;
  /** Where a dry run lists URLs. */
  out: NodeJS.WritableStream;
  tty: boolean;
  /** Today in the site's time zone (YYYYMMDD); default from the clock (which `NEWSNAP_NOW` pins). */
  today?: string;
  /** Sees the summary when the run ends. */
  onSummary?: (summary: CrawlSummary) => void;
  /** Gets the run's live counts when it starts (a status page shows them as they move). */
  onStart?: (live: { runId: number; counts: ProgressCounts; total: () => number }) => void;
}

const PAGE = 256;

export const RETRY_FAILED_HINT = 'newsnap crawl --retry-failed retries them now';

/** The work a run found: new articles (newest first), and due revisits (the longest due first). */
interface Work {
  fresh: number;
  revisits: number;
  newWork(): Iterable<ArticleRecord>;
  dueWork(): Iterable<ArticleRecord>;
}

/**
 * One crawl, a run of a lane: discover, then work through pending and retryable articles and,
 * beside them as a run of the revisit lane, the due revisits, through the engine (whose queue
 * serves the lanes in their order, the revisits owed their share). A failure (a full disk) ends this run alone: its jobs in
 * flight are stopped and waited for, and the error is thrown to the lane.
 */
export async function runCrawl(deps: CrawlDeps, request: CrawlRequest, signal: AbortSignal): Promise<CrawlSummary> {
  const crawl = new CrawlRun(deps, request, signal);
  try {
    return await crawl.run();
  } finally {
    deps.engine.end(crawl.lane);
  }
}

/**
 * Runs this process began and could not record the end of (the storage failed just then): ended
 * now as failed, so that no page shows them running. Only this process writes the folder (the
 * lock), so a run not under way in its engine is over.
 */
function endStaleRuns(engine: Engine, state: Storage['state']): void {
  const active = engine.activeRunIds();
  for (const r of state.runs.unfinished()) {
    if (!active.has(r.id)) state.runs.end(r.id, 'failed', { ...(r.summary as object | null), message: 'the run ended while the storage could not record it' });
  }
}

/** A crawl's own state while it runs: its lane run, window, counts and drift measure. */
class CrawlRun {
  readonly lane: LaneRun;
  private readonly storage: Storage;
  private readonly started = performance.now();
  private readonly today: string;
  private readonly window: CrawlWindow;
  private readonly monitor: DriftMonitor;
  private readonly runId: number;
  private readonly counts = emptyCounts();
  private total = 0;
  private launched = 0;
  private discovery: Discovery | null = null;
  private revisitRun: LaneRun | null = null;

  constructor(
    private readonly deps: CrawlDeps,
    private readonly request: CrawlRequest,
    private readonly signal: AbortSignal,
  ) {
    const { engine } = deps;
    if (!engine.storage) throw new Error('a crawl writes a storage folder');
    this.storage = engine.storage;
    const state = this.storage.state;
    this.today = deps.today ?? siteToday(nowMs());
    this.window = request.since !== undefined ? { since: request.since, until: request.until ?? this.today, backfill: true } : incrementalWindow(this.today, state.meta.get(LAST_DISCOVERY_DAY) ?? null);
    // Earlier runs only: the baseline is read before this run exists.
    this.monitor = new DriftMonitor(baselineOf(state.runs.recent(BASELINE_RUNS).filter((r) => r.finishedAt !== null)));
    endStaleRuns(engine, state);
    this.runId = state.runs.begin(this.window.backfill ? 'backfill' : 'incremental');
    this.lane = engine.begin(deps.lane, { signal });
    this.lane.runId = this.runId;
    this.lane.onOutcome((o) => this.settled(o));
    deps.onStart?.({ runId: this.runId, counts: this.counts, total: () => this.total });
  }

  private get interrupted(): boolean {
    return this.signal.aborted || this.deps.engine.stopSignal.aborted;
  }

  async run(): Promise<CrawlSummary> {
    const { engine } = this.deps;
    engine.parts.log.info({ runId: this.runId, lane: this.deps.lane, window: this.window, rate: engine.parts.scheduler.effectiveRate, concurrency: engine.parts.config.crawl.concurrency }, 'crawl started');
    const stop = await this.guarded('record discovered articles in', () => this.discover());
    if (stop !== null) return this.finish(this.interrupted ? 'interrupted' : 'failed', 0, stop);
    const work = await this.guarded(null, async () => this.plan());
    if (this.request.dryRun) {
      let listed = 0;
      for (const rec of chain(work.newWork(), work.dueWork())) {
        this.deps.out.write(`${rec.url}\n`);
        listed++;
      }
      return this.finish(this.interrupted ? 'interrupted' : 'done', listed);
    }
    await this.guarded(null, () => this.workThrough(work));
    return this.finish(this.status());
  }

  /** Forgives and schedules failed articles, reads robots.txt and the sources; returns why the run stops, or null. */
  private async discover(): Promise<string | null> {
    const { config, log } = this.deps.engine.parts;
    const state = this.storage.state;
    if (this.request.retryFailed) log.info({ articles: state.frontier.retryFailed() }, 'failed articles are pending again (--retry-failed)');
    const slow = state.frontier.scheduleGivenUp(config.crawl.maxFailedRuns, nowIso());
    if (slow > 0) log.info({ articles: slow, schedule: config.revisit.givenUpSchedule }, 'articles that failed all their runs are retried on the slow schedule');
    const discovery = newDiscovery(this.deps.engine, this.lane);
    this.discovery = discovery;
    const stop = await readRobots(this.deps.engine, this.lane, discovery);
    if (stop !== null) return stop;
    await readSources(this.deps.engine, this.lane, discovery, this.window);
    if (this.lane.unreachable && !this.interrupted) return describeUnreachable(this.lane.unreachable);
    this.counts.discovered = discovery.results.reduce((n, r) => n + r.added, 0);
    if (!this.window.backfill && !this.discoveryFailed && !this.interrupted) state.meta.set(LAST_DISCOVERY_DAY, this.today);
    return null;
  }

  private get discoveryFailed(): boolean {
    return this.discovery?.results.some((r) => r.outcome === 'failed') ?? false;
  }

  /**
   * How much there is to do: new work (at most --max) of the run's days but those it leaves to
   * another lane, then revisits within revisit.maxPerRun: of any age, but a backfill's own days.
   */
  private plan(): Work {
    const { config, log } = this.deps.engine.parts;
    const state = this.storage.state;
    const maxFailedRuns = config.crawl.maxFailedRuns;
    const ranges = newWorkRanges(this.window, this.request.leave);
    const dueRange = this.window.backfill ? { since: this.window.since, until: this.window.until } : {};
    const max = this.request.max ?? Number.POSITIVE_INFINITY;
    const fresh = Math.min(
      ranges.reduce((n, range) => n + state.frontier.countWork({ maxFailedRuns, ...range }), 0),
      max,
    );
    const dueAt = nowIso();
    const due = this.request.revisits === false ? 0 : state.frontier.countDue({ now: dueAt, ...dueRange });
    const revisits = Math.max(0, Math.min(due, config.revisit.maxPerRun, max - fresh));
    this.counts.deferred = due - revisits;
    this.total = fresh + revisits;
    this.counts.queued = this.total;
    log.info({ discovered: this.counts.discovered, work: fresh, revisits, revisitsLeftForLater: this.counts.deferred }, 'discovery finished');
    const rangeWork = (range: DayRange) => paged<ArticleRecord, WorkCursor>((after) => state.frontier.work({ limit: PAGE, maxFailedRuns, ...range, ...(after ? { after } : {}) }), (r) => ({ day: r.day, id: r.id }));
    const dueWork = () => paged<ArticleRecord, DueCursor>((after) => state.frontier.due({ now: dueAt, limit: PAGE, ...dueRange, ...(after ? { after } : {}) }), (r) => ({ at: r.nextCheckAt ?? '', id: r.id }));
    return { fresh, revisits, newWork: () => take(chain(...ranges.map(rangeWork)), fresh), dueWork: () => take(dueWork(), revisits) };
  }

  /**
   * The new work under this run's lane and the due checks under a run of the revisit lane, side by
   * side: the engine's queue orders their requests. The first failure stops both.
   */
  private async workThrough(work: Work): Promise<void> {
    const { engine } = this.deps;
    const config = engine.parts.config;
    const progress = new ProgressReporter(this.counts, engine.parts.log, { tty: this.deps.tty, intervalMs: config.crawl.progressIntervalMs, total: () => this.total });
    progress.start();
    const wide = Math.max(2, config.crawl.concurrency * 2);
    const revisit = work.revisits > 0 ? this.beginRevisits() : null;
    try {
      const loops = await Promise.allSettled([this.launch(this.lane, work.newWork(), this.request.inFlight ?? wide), revisit ? this.launch(revisit, work.dueWork(), wide) : Promise.resolve()]);
      const failed = loops.find((l): l is PromiseRejectedResult => l.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      if (revisit) engine.end(revisit);
      progress.stop();
    }
  }

  /** The run of the revisit lane this crawl's due checks go through: it stops with the crawl, and counts in its summary. */
  private beginRevisits(): LaneRun {
    const run = this.deps.engine.begin('revisit', { signal: this.lane.signal });
    run.runId = this.runId;
    run.onOutcome((o) => this.settled(o));
    this.revisitRun = run;
    return run;
  }

  /** Articles through the engine as `run`, a bounded number at a time; the first failure stops the crawl. */
  private launch(run: LaneRun, items: Iterable<ArticleRecord>, limit: number): Promise<void> {
    const { engine } = this.deps;
    // A failure ends this run: its other jobs stop, the shared queue goes on for every other lane.
    return runBounded(items, { limit, signal: run.signal, onFailure: () => this.lane.stop(new Error('the run failed')) }, (rec) => {
      const ref = { id: rec.id, day: rec.day, url: rec.url };
      this.launched++;
      if (rec.state === 'done' || rec.state === 'gone') this.counts.revisits++;
      return engine.article(run, ref).then(() => undefined);
    });
  }

  /** The requests, pauses and unreachable site of the crawl's runs together (its own and its revisits'). */
  private accounts(): Pick<LaneRun, 'requests' | 'blockedPauses' | 'unreachable'> {
    const r = this.revisitRun;
    if (!r) return this.lane;
    const requests = { ...this.lane.requests };
    for (const [k, n] of Object.entries(r.requests)) requests[k] = (requests[k] ?? 0) + n;
    return { requests, blockedPauses: this.lane.blockedPauses + r.blockedPauses, unreachable: this.lane.unreachable ?? r.unreachable };
  }

  /** Each outcome of this run: counted, logged, measured for drift. */
  private settled(o: ArticleOutcome): void {
    count(this.counts, o.kind);
    logOutcome(o, this.deps.engine.parts.log);
    const page = extractedFields(o);
    if (page !== undefined) this.monitor.page(page);
  }

  private status(): CrawlStatus {
    const problems = failures(this.counts);
    const succeeded = processed(this.counts) - problems - this.counts.skipped;
    const results = this.discovery?.results ?? [];
    if (this.interrupted) return 'interrupted';
    if (this.lane.unreachable || this.revisitRun?.unreachable) return 'failed';
    if (problems > 0 && succeeded === 0) return 'failed';
    if (this.launched === 0 && results.length > 0 && results.every((r) => r.outcome === 'failed')) return 'failed';
    if (problems > 0 || this.discoveryFailed) return 'partial';
    return 'done';
  }

  /** A storage failure ends the run with its summary saved (when state can still take it), then goes to the lane. */
  private async guarded<T>(doing: string | null, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      const failure = doing !== null && StorageError.isStorageFailure(err) ? StorageError.from(err, join(this.storage.root, 'state.sqlite'), doing) : err;
      try {
        this.finish('failed', 0, (failure as Error).message);
      } catch {
        // The state store may be what failed (a full disk); the original error says why.
      }
      throw failure;
    }
  }

  private finish(status: CrawlStatus, listed = 0, message?: string): CrawlSummary {
    const { engine } = this.deps;
    const summary = summarize({
      runId: this.runId,
      lane: this.deps.lane,
      status,
      window: this.window,
      counts: this.counts,
      listed,
      durationMs: performance.now() - this.started,
      run: this.accounts(),
      sources: this.discovery?.results ?? [],
      monitor: this.monitor,
      needsAttention: this.storage.state.reports.countNeedingAttention(engine.parts.config.crawl.maxFailedRuns),
      ...(message ? { message } : this.lane.unreachable ? { message: describeUnreachable(this.lane.unreachable) } : {}),
      log: engine.parts.log,
    });
    this.storage.state.runs.end(this.runId, status, summary);
    engine.runEnded();
    this.deps.onSummary?.(summary);
    return summary;
  }
}
