import { nowMs } from '../clock/clock.js';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ArticleOutcome } from '../engine/pipeline/article-outcome.js';
import type { CrawlSummary } from '../engine/lanes/crawl-run.js';
import { OUTCOMES } from '../storage/state/article-states.js';
import type { RequestScheduler } from '../engine/request-scheduler.js';
import type { LaneName } from '../engine/lane.js';
import { requestKey, type RequestEvent } from '../engine/policies/policy.js';
import { STORAGE_OPS, type StorageOp } from '../storage/storage-health.js';

/** Seconds: the targets are a minute and two; a crawl cycle is 15 minutes; a day, a week. */
const LAG_BUCKETS = [15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 86_400, 604_800];

/** What the metrics read from the service when they are scraped. */
export interface MetricsProbe {
  /** The alarms the status page shows: the same truth for both. */
  alarms(): { drift: boolean; blocked: boolean };
  /** Articles that failed all their runs. */
  needsAttention(): number;
  /** Crawls in a row, the last one included, that stopped because nothing answered. */
  unreachableRuns(): number;
  /** Why the storage folder cannot be written, or null. */
  storageProblem(): Promise<string | null>;
  /** End of the last crawl that finished done or partial (ms), from state; null if none ever did. */
  lastSuccessMs(): number | null;
  /** Seconds between two scheduled crawls. */
  scheduleIntervalSeconds(): number;
  /** Seconds since the sweep's month read longest ago was read; null when the sweep is off or knows no month. */
  sweepOldestReadAgeSeconds(): number | null;
  /** Webhook deliveries waiting in the outbox. */
  webhookBacklog(): number;
  /** Storage write failures since start, by kind (a counter), and the kinds failing now. */
  storageErrors(): Record<StorageOp, number>;
  storageFailing(): StorageOp[];
}

/** The service's Prometheus metrics, fed by the HTTP client, the pipeline and each run's summary. */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({ name: 'newsnap_requests_total', help: 'Requests sent to the site, by HTTP status (or error kind when there was no response) and by the lane that sent them (manual, watch, schedule, revisit, sweep, backfill; crawl and fetch on the command line; a render\'s document and its page\'s own requests to the site too)', labelNames: ['status', 'lane'], registers: [this.registry] });
  private readonly snapshots = new Counter({ name: 'newsnap_articles_total', help: `Articles processed, by outcome: ${Object.values(OUTCOMES).map((o) => o.metric).join(', ')}`, labelNames: ['outcome'], registers: [this.registry] });
  private readonly sources = new Counter({ name: 'newsnap_discovery_sources_total', help: 'Discovery documents read, by kind and outcome', labelNames: ['kind', 'outcome'], registers: [this.registry] });
  private readonly runs = new Counter({ name: 'newsnap_crawls_total', help: 'Crawl runs, by final status', labelNames: ['status'], registers: [this.registry] });
  private readonly skippedTicks = new Counter({ name: 'newsnap_schedule_skipped_total', help: 'Scheduled ticks skipped because a crawl was still running', registers: [this.registry] });
  private readonly webhooks = new Counter({ name: 'newsnap_webhook_deliveries_total', help: 'Webhook delivery attempts, by outcome: delivered, retried (failed, tried again later), dead (failed its last attempt), disabled (the endpoint answered 410)', labelNames: ['outcome'], registers: [this.registry] });
  private readonly duration = new Histogram({ name: 'newsnap_crawl_duration_seconds', help: 'Duration of crawl runs', buckets: [1, 5, 15, 60, 300, 900, 3600], registers: [this.registry] });
  private readonly captureLag = new Histogram({
    name: 'newsnap_capture_lag_seconds',
    help: "From an article's article:published_time to its first capture (a backfill's captures are not counted)",
    buckets: LAG_BUCKETS,
    registers: [this.registry],
  });
  private readonly editLag = new Histogram({
    name: 'newsnap_edit_lag_seconds',
    help: "From an edited article's article:modified_time to the capture of that version",
    buckets: LAG_BUCKETS,
    registers: [this.registry],
  });
  private readonly feedPolls = new Counter({ name: 'newsnap_feed_polls_total', help: 'Reads of the RSS feed between crawls (discovery.feedEvery), by outcome: changed, unchanged (304), failed', labelNames: ['outcome'], registers: [this.registry] });

  constructor(scheduler: RequestScheduler, probe: MetricsProbe) {
    const startedMs = nowMs();
    const counted: Record<string, number> = {};
    new Counter({
      name: 'newsnap_storage_errors_total',
      help: 'Writes to the storage folder that failed, by kind (state, manifest, snapshot, history, journal, warc, outbox): a full disk, a locked database, an I/O error',
      labelNames: ['op'],
      registers: [this.registry],
      collect() {
        // Every kind is there from the start, at 0, so that an alert's increase() sees the first failure.
        for (const [op, n] of Object.entries(probe.storageErrors())) {
          this.inc({ op }, n - (counted[op] ?? 0));
          counted[op] = n;
        }
      },
    });
    new Gauge({
      name: 'newsnap_storage_failing',
      help: 'Writes of this kind fail now (1) or go through (0); /readyz answers 503 while any fails',
      labelNames: ['op'],
      registers: [this.registry],
      collect() {
        const failing = new Set(probe.storageFailing());
        for (const op of STORAGE_OPS) this.set({ op }, failing.has(op) ? 1 : 0);
      },
    });
    new Gauge({ name: 'newsnap_queue_length', help: 'Requests waiting in the queue', registers: [this.registry], collect() { this.set(scheduler.waiting); } });
    // Waiting time only grows: a counter (promtool rejects `_total` on a gauge), fed the increase since the last scrape.
    let reported = 0;
    new Counter({
      name: 'newsnap_rate_limit_wait_seconds_total',
      help: 'Time requests spent waiting for the rate limit and a free slot',
      registers: [this.registry],
      collect() {
        const waited = scheduler.stats.waitedMs / 1000;
        if (waited > reported) this.inc(waited - reported);
        reported = Math.max(reported, waited);
      },
    });
    // From state, so a restart does not forget it; a store where no crawl ever succeeded counts from the start of this service.
    new Gauge({
      name: 'newsnap_last_successful_crawl_timestamp_seconds',
      help: 'End of the last crawl that finished done or partial (the service start when none ever did)',
      registers: [this.registry],
      collect() {
        this.set((probe.lastSuccessMs() ?? startedMs) / 1000);
      },
    });
    new Gauge({ name: 'newsnap_extraction_drift', help: "The last crawl set off the drift alarm (1): extraction no longer matches the site's markup", registers: [this.registry], collect() { this.set(probe.alarms().drift ? 1 : 0); } });
    new Gauge({ name: 'newsnap_blocked', help: 'The last crawl met block pages in a row and paused (1)', registers: [this.registry], collect() { this.set(probe.alarms().blocked ? 1 : 0); } });
    new Gauge({
      name: 'newsnap_sweep_oldest_read_age_seconds',
      help: "Seconds since the month sitemap read longest ago was read: past discovery.sweepEvery, the sweep of the history is behind",
      registers: [this.registry],
      collect() {
        const age = probe.sweepOldestReadAgeSeconds();
        if (age === null) this.reset();
        else this.set(Math.round(age));
      },
    });
    new Gauge({ name: 'newsnap_schedule_interval_seconds', help: 'Seconds between two scheduled crawls (serve.schedule)', registers: [this.registry], collect() { this.set(probe.scheduleIntervalSeconds()); } });
    new Gauge({
      name: 'newsnap_articles_needing_attention',
      help: 'Articles that failed all their runs (crawl.maxFailedRuns): retried only on revisit.givenUpSchedule; newsnap crawl --retry-failed retries them now',
      registers: [this.registry],
      collect() {
        this.set(probe.needsAttention());
      },
    });
    new Gauge({ name: 'newsnap_unreachable_runs', help: 'Crawls in a row, the last one included, that stopped because the site could not be reached', registers: [this.registry], collect() { this.set(probe.unreachableRuns()); } });
    new Gauge({ name: 'newsnap_webhook_backlog', help: 'Webhook deliveries waiting in the outbox (due now or retried later)', registers: [this.registry], collect() { this.set(probe.webhookBacklog()); } });
    new Gauge({
      name: 'newsnap_storage_writable',
      help: 'The storage folder can be written (1), or not (0: /readyz says why)',
      registers: [this.registry],
      async collect() {
        this.set((await probe.storageProblem()) === null ? 1 : 0);
      },
    });
  }

  /** A request of some lane to the site. */
  request(e: RequestEvent): void {
    this.requests.inc({ status: requestKey(e), lane: e.run?.lane ?? 'none' });
  }

  /** An article's outcome; a backfill's count, but say nothing of freshness. */
  article(outcome: ArticleOutcome, lane: LaneName): void {
    this.snapshots.inc({ outcome: OUTCOMES[outcome.kind].metric });
    if (lane === 'backfill' || !('lag' in outcome) || !outcome.lag) return;
    if (outcome.lag.captureSeconds !== undefined) this.captureLag.observe(outcome.lag.captureSeconds);
    if (outcome.lag.editSeconds !== undefined) this.editLag.observe(outcome.lag.editSeconds);
  }

  feedPoll(outcome: string): void {
    this.feedPolls.inc({ outcome });
  }

  crawl(summary: CrawlSummary): void {
    this.runs.inc({ status: summary.status });
    this.duration.observe(summary.durationMs / 1000);
    for (const s of summary.sources) {
      const kind = s.source.endsWith('/robots.txt') ? 'robots' : s.source.includes('sitemap') ? 'sitemap' : s.source.includes('/rss') ? 'rss' : 'archive';
      this.sources.inc({ kind, outcome: s.outcome });
    }
  }

  webhook(outcome: string): void {
    this.webhooks.inc({ outcome });
  }

  tickSkipped(): void {
    this.skippedTicks.inc();
  }
}
