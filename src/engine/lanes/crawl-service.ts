import { Cron } from 'croner';
import { nowIso, nowMs } from '../../clock/clock.js';
import type { Config } from '../../config/config.js';
import type { Storage } from '../../storage/storage.js';
import type { ArticleOutcome } from '../pipeline/article-pipeline.js';
import { RETRY_FAILED_HINT, runCrawl, type CrawlDeps, type CrawlSummary } from './crawl-run.js';
import { describeFinding, DRIFT_REMEDY } from '../policies/drift.js';
import { COUNTED_AS, emptyCounts, processed, type ProgressCounts } from '../progress.js';
import type { RunRecord, State } from '../../storage/state/state-store.js';
import type { HttpClient } from '../../fetch/http-client.js';
import type { SiteHealth } from '../policies/site-health.js';
import { describeProxy, redactUrl } from '../../fetch/proxy.js';
import { MANIFEST_EVENTS } from '../../storage/manifest.js';
import type { RequestScheduler } from '../request-scheduler.js';
import type { Logger } from '../../log/logger.js';
import type { ArticlePipeline } from '../pipeline/article-pipeline.js';
import type { ArticleRef, SiteUrls } from '../../site/site-urls.js';
import type { ServiceMetrics } from '../../service/metrics.js';
import { BackfillLane, parseBackfillRange, type BackfillRange, type BackfillStatus } from './backfill-lane.js';
import { FeedWatch } from './feed-watch.js';
import { freshness, webhookAlarm, type Alarms, type StatusDocument, type WebhookStatus } from '../../service/service-status.js';

export type { Alarms, Freshness, StatusDocument, WebhookStatus } from '../../service/service-status.js';

export interface ServiceDeps {
  config: Config;
  log: Logger;
  urls: SiteUrls;
  http: HttpClient;
  scheduler: RequestScheduler;
  pipeline: ArticlePipeline;
  health: SiteHealth;
  storage: Storage;
  metrics: ServiceMetrics;
  /** Manual fetches allowed to wait in the queue at once; more get "busy". */
  maxQueuedFetches?: number;
}

/** What `/status` and the status page count since the service started: every outcome a crawl counts. */
const OUTCOME_COUNTS = [...new Set(Object.values(COUNTED_AS).filter((k): k is keyof ProgressCounts => k !== null))];

export class BusyError extends Error {
  override readonly name = 'BusyError';
}

/** The service is shutting down and takes no new work. */
export class StoppingError extends Error {
  override readonly name = 'StoppingError';
}

/**
 * The long-lived side of newsnap: crawls on a cron schedule, never two at once, and one-off
 * fetches through the same queue and rate limit. Holds the storage lock for its whole life.
 */
export class CrawlService {
  private cron: Cron | null = null;
  private current: {
    controller: AbortController;
    done: Promise<CrawlSummary | null>;
    startedAt: string;
    /** The run's live counts, once it has started. */
    live?: { runId: number; counts: ProgressCounts; total: () => number };
  } | null = null;
  private queuedFetches = 0;
  private readonly stopping = new AbortController();
  private readonly startedAt = nowIso();
  private readonly fetches = new Set<Promise<unknown>>();
  /** Article outcomes since the service started: crawls and manual fetches alike. */
  private readonly outcomes: Record<string, number> = Object.fromEntries(OUTCOME_COUNTS.map((k) => [k, 0]));
  private readonly watch: FeedWatch;
  private readonly backfill: BackfillLane;

  constructor(private readonly d: ServiceDeps) {
    this.watch = new FeedWatch({ ...d, storage: d.storage, onOutcome: (o) => this.counted(o), onPoll: (outcome) => d.metrics.feedPoll(outcome) });
    this.backfill = new BackfillLane(d.storage.state.meta, () => this.crawlDeps(true), d.log.child({ component: 'backfill' }));
  }

  /**
   * Starts the schedule, the feed watch, and the backfill in state (resumed after a restart) or
   * in `serve.backfill`. A configured backfill that cannot be read stops start-up.
   */
  start(): void {
    const configured = this.d.config.serve.backfill;
    if (configured.since) {
      const range = parseBackfillRange(configured);
      if (typeof range === 'string') throw new Error(`configuration key serve.backfill: ${range}`);
      try {
        this.backfill.request(range);
      } catch (err) {
        this.d.log.warn({ err: (err as Error).message, configured: range }, 'serve.backfill not started');
      }
    }
    this.backfill.resume();
    const { schedule, jitterSeconds } = this.d.config.serve;
    this.cron = new Cron(schedule, { protect: true }, () => {
      const delayMs = jitterSeconds > 0 ? Math.random() * jitterSeconds * 1000 : 0;
      setTimeout(() => void this.tick(), delayMs).unref();
    });
    this.d.log.info({ schedule, next: this.cron.nextRun()?.toISOString() ?? null }, 'schedule started');
    this.watch.start();
  }

  /** `POST /backfill`: a backfill of `range` beside the schedule. Throws BackfillConflict while another is under way. */
  requestBackfill(range: BackfillRange): BackfillStatus {
    if (this.stopping.signal.aborted) throw new StoppingError('newsnap is shutting down; try again later');
    return this.backfill.request(range);
  }

  /** What a crawl of this service runs with; a background one's outcomes say nothing of freshness. */
  private crawlDeps(background: boolean): CrawlDeps {
    return {
      config: this.d.config,
      log: this.d.log,
      urls: this.d.urls,
      http: this.d.http,
      scheduler: this.d.scheduler,
      storage: this.d.storage,
      pipeline: this.d.pipeline,
      health: this.d.health,
      out: process.stdout,
      tty: false,
      onOutcome: (o) => this.counted(o, background),
      onSummary: (s) => this.d.metrics.crawl(s),
    };
  }

  /** Runs a crawl now unless one is running (then the tick is skipped and logged). */
  async tick(): Promise<CrawlSummary | null> {
    if (this.stopping.signal.aborted) return null;
    if (this.current) {
      this.d.log.info({ runningSince: this.current.startedAt }, 'scheduled crawl skipped: the previous one is still running');
      this.d.metrics.tickSkipped();
      return null;
    }
    const controller = new AbortController();
    // Recorded before the run starts: it reports its live counts at once, synchronously.
    const current: NonNullable<CrawlService['current']> = { controller, done: Promise.resolve(null), startedAt: nowIso() };
    this.current = current;
    current.done = runCrawl(
      {
        ...this.crawlDeps(false),
        onStart: (live) => {
          current.live = live;
        },
      },
      // While a backfill runs beside it, a scheduled crawl keeps to its own days.
      { ownWindowOnly: this.backfill.active },
      controller.signal,
    )
      .then((summary) => {
        this.d.log.info({ summary }, 'crawl finished');
        return summary;
      })
      .catch((err: Error) => {
        this.d.log.error({ err: err.message }, 'crawl failed');
        return null;
      })
      .finally(() => {
        if (this.current === current) this.current = null;
      });
    return current.done;
  }

  /** The state store, read by the status pages. */
  get state(): State {
    return this.d.storage.state;
  }

  /**
   * The alarms: of the last finished crawl among `runs` (newest first), extraction drift, block
   * pages that paused it, and an unreachable site (with the runs in a row it lasted); and the
   * articles that failed all their runs.
   */
  /** Each configured endpoint with its deliveries; an endpoint no longer configured shows while it has some. */
  private webhooks(): WebhookStatus[] {
    const tallies = new Map(this.d.storage.state.outbox.tally().map((t) => [t.endpoint, t]));
    const configured = this.d.config.delivery.webhooks.map((w) => w.url);
    const urls = [...configured, ...[...tallies.keys()].filter((u) => !configured.includes(u))];
    return urls.map((url) => {
      const t = tallies.get(url);
      const events = this.d.config.delivery.webhooks.find((w) => w.url === url)?.events ?? (configured.includes(url) ? [...MANIFEST_EVENTS] : []);
      return { url: redactUrl(url), events, pending: t?.pending ?? 0, delivered: t?.delivered ?? 0, dead: t?.dead ?? 0, disabled: t?.disabled ?? null, lastError: t?.lastError ?? null };
    });
  }

  private alarms(runs: RunRecord[], needsAttention: number): Omit<Alarms, 'webhooks'> {
    const { maxFailedRuns } = this.d.config.crawl;
    const attention = needsAttention > 0 ? { articles: needsAttention, maxFailedRuns, schedule: this.d.config.revisit.givenUpSchedule, remedy: RETRY_FAILED_HINT } : null;
    const finished = runs.filter((r) => r.finishedAt !== null && r.status !== 'interrupted');
    const last = finished[0];
    const summary = last?.summary as Partial<CrawlSummary> | null | undefined;
    if (!last || !summary) return { drift: null, blocked: null, unreachable: null, needsAttention: attention };
    const inARow = finished.findIndex((r) => !(r.summary as Partial<CrawlSummary> | null)?.unreachable);
    return {
      drift: summary.drift?.length ? { runId: last.id, at: last.finishedAt, findings: summary.drift, said: summary.drift.map(describeFinding), remedy: DRIFT_REMEDY } : null,
      blocked: summary.blockedPauses ? { runId: last.id, at: last.finishedAt, pauses: summary.blockedPauses } : null,
      unreachable: summary.unreachable ? { runId: last.id, at: last.finishedAt, runsInARow: inARow < 0 ? finished.length : inARow, ...summary.unreachable } : null,
      needsAttention: attention,
    };
  }

  /** The status document of `GET /status`. */
  status(): StatusDocument {
    const live = this.current?.live;
    const state = this.d.storage.state;
    const runs = state.runs.recent(10);
    const needsAttention = state.reports.countNeedingAttention(this.d.config.crawl.maxFailedRuns);
    const webhooks = this.webhooks();
    const lastSuccess = state.runs.lastSuccess();
    return {
      site: this.d.config.site.baseUrl,
      storage: this.d.config.storage,
      startedAt: this.startedAt,
      alarms: { ...this.alarms(runs, needsAttention), webhooks: webhookAlarm(webhooks) },
      running: this.current
        ? {
            runId: live?.runId ?? null,
            startedAt: this.current.startedAt,
            done: live ? processed(live.counts) : 0,
            total: live?.total() ?? 0,
            counts: live ? { ...live.counts } : emptyCounts(),
          }
        : null,
      nextRun: this.cron?.nextRun()?.toISOString() ?? null,
      lastSuccess: lastSuccess?.finishedAt ? { runId: lastSuccess.id, finishedAt: lastSuccess.finishedAt } : null,
      queue: { waiting: this.d.scheduler.waiting, running: this.d.scheduler.running, manualFetchesQueued: this.queuedFetches },
      proxy: describeProxy(this.d.http.proxy),
      articles: { ...state.reports.countByState(), needsAttention },
      outcomes: { ...this.outcomes },
      recentRuns: runs,
      webhooks,
      feedWatch: this.watch.status(),
      freshness: freshness(state.reports.captureLags(new Date(nowMs() - 86_400_000).toISOString())),
      backfill: this.backfill.status(),
    };
  }

  /** Seconds between two scheduled crawls. */
  scheduleIntervalSeconds(): number {
    const [a, b] = new Cron(this.d.config.serve.schedule, { paused: true }).nextRuns(2);
    return a && b ? (b.getTime() - a.getTime()) / 1000 : 0;
  }

  private counted(o: ArticleOutcome, background = false): void {
    this.d.metrics.article(o, background);
    const key = COUNTED_AS[o.kind];
    if (key) this.outcomes[key] = (this.outcomes[key] ?? 0) + 1;
  }

  /** A manual one-off fetch through the shared queue. Throws BusyError past the queue bound. */
  async fetch(ref: ArticleRef): Promise<ArticleOutcome> {
    if (this.stopping.signal.aborted) throw new StoppingError('newsnap is shutting down; try again later');
    if (this.queuedFetches >= (this.d.maxQueuedFetches ?? 32)) throw new BusyError(`${this.queuedFetches} manual fetches are already queued; try again later`);
    this.queuedFetches++;
    const job = this.d.pipeline.process(ref, this.d.storage, this.stopping.signal);
    this.fetches.add(job);
    try {
      const outcome = await job;
      this.counted(outcome);
      return outcome;
    } finally {
      this.fetches.delete(job);
      this.queuedFetches--;
    }
  }

  /**
   * Stops scheduling and aborts what is in flight: the running crawl stops taking work, its
   * requests and renders and the manual fetches are aborted; resolves once their writes have
   * finished and the crawl's summary is saved.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.cron?.stop();
    this.current?.controller.abort();
    this.d.scheduler.stop();
    await Promise.all([this.current?.done, ...this.fetches, this.watch.stop(), this.backfill.stop()]);
  }
}
