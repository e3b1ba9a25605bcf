import { nowIso, nowMs } from '../clock/clock.js';
import type { Config } from '../config/config.js';
import type { Engine } from '../engine/engine.js';
import type { LaneRun } from '../engine/lane.js';
import { BackfillLane, parseBackfillRange, type BackfillRange, type BackfillStatus } from '../engine/lanes/backfill-lane.js';
import { RETRY_FAILED_HINT, type CrawlDeps, type CrawlSummary } from '../engine/lanes/crawl-run.js';
import { FeedWatch } from '../engine/lanes/feed-watch.js';
import { ManualFetch, StoppingError } from '../engine/lanes/manual-fetch.js';
import { ScheduleLane } from '../engine/lanes/schedule-lane.js';
import { SweepLane } from '../engine/lanes/sweep-lane.js';
import type { ArticleOutcome } from '../engine/pipeline/article-outcome.js';
import { describeFinding, DRIFT_REMEDY } from '../engine/policies/drift.js';
import { COUNTED_AS, emptyCounts, processed, type ProgressCounts } from '../engine/progress.js';
import { describeProxy, redactUrl } from '../fetch/proxy.js';
import type { ArticleRef } from '../site/site-urls.js';
import { MANIFEST_EVENTS } from '../storage/manifest.js';
import type { RunRecord, State } from '../storage/state/state-store.js';
import type { Storage } from '../storage/storage.js';
import type { ServiceMetrics } from './metrics.js';
import { freshness, storageAlarm, webhookAlarm, type Alarms, type StatusDocument, type WebhookStatus } from './service-status.js';

export type { Alarms, Freshness, StatusDocument, WebhookStatus } from './service-status.js';
export { BusyError, StoppingError } from '../engine/lanes/manual-fetch.js';

export interface ServiceDeps {
  config: Config;
  engine: Engine;
  storage: Storage;
  metrics: ServiceMetrics;
}

/** What `/status` and the status page count since the service started: every outcome a crawl counts. */
const OUTCOME_COUNTS = [...new Set(Object.values(COUNTED_AS).filter((k): k is keyof ProgressCounts => k !== null))];

/**
 * `serve`'s lanes around one engine: `POST /fetch`, the feed watch, the schedule (with its
 * revisits), the sweep of the history and the backfill hand it work, each with its own plan; none of them can stop another, or the engine (only `stop` does, at shutdown).
 * Holds the storage lock for its whole life, and builds the status document every page, `/status`
 * and the metrics read.
 */
export class CrawlService {
  private readonly startedAt = nowIso();
  /** Article outcomes since the service started, of every lane. */
  private readonly outcomes: Record<string, number> = Object.fromEntries(OUTCOME_COUNTS.map((k) => [k, 0]));
  private readonly schedule: ScheduleLane;
  private readonly watch: FeedWatch;
  private readonly backfill: BackfillLane;
  private readonly manual: ManualFetch;
  private readonly sweep: SweepLane;
  private stopping = false;

  constructor(private readonly d: ServiceDeps) {
    const { config, engine, metrics } = d;
    const log = engine.parts.log;
    engine.onOutcome((o, run) => this.counted(o, run));
    engine.onRequest((e) => metrics.request(e));
    this.schedule = new ScheduleLane({
      schedule: config.serve.schedule,
      jitterSeconds: config.serve.jitterSeconds,
      log,
      deps: () => this.crawlDeps('schedule'),
      // The days of a backfill under way are its own new work; due checks of every age are the revisit lane's.
      request: () => {
        const leave = this.backfill.ownDays;
        return leave ? { leave } : {};
      },
      onSkipped: () => metrics.tickSkipped(),
      neverCrawled: () => d.storage.state.runs.recent(1).length === 0,
    });
    this.watch = new FeedWatch({ engine, onPoll: (outcome) => metrics.feedPoll(outcome) });
    this.backfill = new BackfillLane(d.storage.state.meta, () => this.crawlDeps('backfill'), log.child({ component: 'backfill' }));
    this.manual = new ManualFetch(engine, { lane: 'manual', maxQueued: config.serve.maxQueuedFetches });
    this.sweep = new SweepLane(engine);
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
        this.d.engine.parts.log.warn({ err: (err as Error).message, configured: range }, 'serve.backfill not started');
      }
    }
    this.backfill.resume();
    this.schedule.start();
    this.watch.start();
    this.sweep.start();
  }

  /** Seconds since the month read longest ago was read (the sweep's gauge); null when the sweep is off or knows no month yet. */
  sweepOldestReadAgeSeconds(): number | null {
    const at = this.sweep.oldestReadMs();
    return at === null ? null : Math.max(0, (nowMs() - at) / 1000);
  }

  /** `POST /backfill`: a backfill of `range` beside the schedule. Throws BackfillConflict while another is under way. */
  requestBackfill(range: BackfillRange): BackfillStatus {
    if (this.stopping) throw new StoppingError('newsnap is shutting down; try again later');
    return this.backfill.request(range);
  }

  /** `POST /fetch`: one article through the engine. Throws BusyError past the queue bound. */
  fetch(ref: ArticleRef): Promise<ArticleOutcome> {
    return this.manual.fetch(ref);
  }

  /** A scheduled crawl now (tests and the first tick use it). */
  tick(): Promise<CrawlSummary | null> {
    return this.schedule.tick();
  }

  /** The state store, read by the status pages. */
  get state(): State {
    return this.d.storage.state;
  }

  /** Seconds between two scheduled crawls. */
  scheduleIntervalSeconds(): number {
    return this.schedule.intervalSeconds();
  }

  private crawlDeps(lane: 'schedule' | 'backfill'): CrawlDeps {
    return { engine: this.d.engine, lane, out: process.stdout, tty: false, onSummary: (s) => this.d.metrics.crawl(s) };
  }

  private counted(o: ArticleOutcome, run: LaneRun): void {
    this.d.metrics.article(o, run.lane);
    const key = COUNTED_AS[o.kind];
    if (key) this.outcomes[key] = (this.outcomes[key] ?? 0) + 1;
  }

  /** The alarms alone (the metrics read them): cheaper than the whole status document. */
  alarmsNow(): Alarms {
    const state = this.d.storage.state;
    const needsAttention = state.reports.countNeedingAttention(this.d.config.crawl.maxFailedRuns);
    return this.allAlarms(state.runs.recent(10), needsAttention, this.webhooks());
  }

  private allAlarms(runs: RunRecord[], needsAttention: number, webhooks: WebhookStatus[]): Alarms {
    return { ...this.alarms(runs, needsAttention), webhooks: webhookAlarm(webhooks), storage: storageAlarm(this.d.storage.health.current()), scheduleFailure: this.schedule.lastFailure };
  }

  /** The status document of `GET /status`. */
  status(): StatusDocument {
    const live = this.schedule.running?.live;
    const state = this.d.storage.state;
    const runs = state.runs.recent(10);
    const needsAttention = state.reports.countNeedingAttention(this.d.config.crawl.maxFailedRuns);
    const webhooks = this.webhooks();
    const lastSuccess = state.runs.lastSuccess();
    const running = this.schedule.running;
    return {
      site: this.d.config.site.baseUrl,
      storage: this.d.config.storage,
      startedAt: this.startedAt,
      alarms: this.allAlarms(runs, needsAttention, webhooks),
      running: running
        ? { runId: live?.runId ?? null, startedAt: running.startedAt, done: live ? processed(live.counts) : 0, total: live?.total() ?? 0, counts: live ? { ...live.counts } : emptyCounts() }
        : null,
      nextRun: this.schedule.nextRun(),
      lastSuccess: lastSuccess?.finishedAt ? { runId: lastSuccess.id, finishedAt: lastSuccess.finishedAt } : null,
      queue: { waiting: this.d.engine.parts.scheduler.waiting, running: this.d.engine.parts.scheduler.running, manualFetchesQueued: this.manual.waiting },
      proxy: describeProxy(this.d.engine.parts.http.proxy),
      articles: { ...state.reports.countByState(), needsAttention },
      outcomes: { ...this.outcomes },
      recentRuns: runs,
      webhooks,
      feedWatch: this.watch.status(),
      freshness: freshness(state.reports.captureLags(new Date(nowMs() - 86_400_000).toISOString())),
      backfill: this.backfill.status(),
      sweep: this.sweep.status(),
    };
  }

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

  /**
   * The alarms: of the last finished crawl among `runs` (newest first), extraction drift, block
   * pages that paused it, and an unreachable site (with the runs in a row it lasted); and the
   * articles that failed all their runs.
   */
  private alarms(runs: RunRecord[], needsAttention: number): Omit<Alarms, 'webhooks' | 'storage' | 'scheduleFailure'> {
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

  /**
   * Stops the lanes (no more ticks, polls or fetches taken), the engine (every request and render
   * in flight aborted), and waits for the lanes' writes to finish and the crawls' summaries to be
   * saved.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.d.engine.stop();
    await Promise.all([this.schedule.stop(), this.watch.stop(), this.sweep.stop(), this.backfill.stop(), this.manual.stop()]);
  }
}
