import { nowMs } from '../clock/clock.js';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ArticleOutcome } from '../crawl/article-pipeline.js';
import type { CrawlSummary } from '../crawl/crawl-run.js';
import type { HttpClient } from '../fetch/http-client.js';
import type { RequestScheduler } from '../frontier/request-scheduler.js';

/** The service's Prometheus metrics, fed by the HTTP client, the pipeline and each run's summary. */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({ name: 'newsnap_requests_total', help: 'Requests sent to the site, by HTTP status (or error kind when there was no response)', labelNames: ['status'], registers: [this.registry] });
  private readonly snapshots = new Counter({ name: 'newsnap_articles_total', help: 'Articles processed, by outcome: written, unchanged, not_article, failed', labelNames: ['outcome'], registers: [this.registry] });
  private readonly sources = new Counter({ name: 'newsnap_discovery_sources_total', help: 'Discovery documents read, by kind and outcome', labelNames: ['kind', 'outcome'], registers: [this.registry] });
  private readonly runs = new Counter({ name: 'newsnap_crawls_total', help: 'Crawl runs, by final status', labelNames: ['status'], registers: [this.registry] });
  private readonly skippedTicks = new Counter({ name: 'newsnap_schedule_skipped_total', help: 'Scheduled ticks skipped because a crawl was still running', registers: [this.registry] });
  private readonly lastSuccess = new Gauge({ name: 'newsnap_last_successful_crawl_timestamp_seconds', help: 'End of the last crawl that finished done or partial', registers: [this.registry] });
  private readonly drift = new Gauge({ name: 'newsnap_extraction_drift', help: 'The last crawl set off the drift alarm (1): extraction no longer matches the site\'s markup', registers: [this.registry] });
  private readonly blockedAlarm = new Gauge({ name: 'newsnap_blocked', help: 'The last crawl met block pages in a row and paused (1)', registers: [this.registry] });
  private readonly duration = new Histogram({ name: 'newsnap_crawl_duration_seconds', help: 'Duration of crawl runs', buckets: [1, 5, 15, 60, 300, 900, 3600], registers: [this.registry] });

  constructor(http: HttpClient, scheduler: RequestScheduler) {
    http.observe(({ status, error }) => this.requests.inc({ status: status !== null && !error ? String(status) : (error?.kind ?? 'error') }));
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
  }

  article(outcome: ArticleOutcome): void {
    const label = outcome.kind.replace('-', '_');
    this.snapshots.inc({ outcome: label });
  }

  crawl(summary: CrawlSummary): void {
    this.runs.inc({ status: summary.status });
    if (summary.status !== 'interrupted') {
      this.drift.set(summary.drift ? 1 : 0);
      this.blockedAlarm.set(summary.blockedPauses > 0 ? 1 : 0);
    }
    this.duration.observe(summary.durationMs / 1000);
    if (summary.status === 'done' || summary.status === 'partial') this.lastSuccess.set(nowMs() / 1000);
    for (const s of summary.sources) {
      const kind = s.source.endsWith('/robots.txt') ? 'robots' : s.source.includes('sitemap') ? 'sitemap' : s.source.includes('/rss') ? 'rss' : 'archive';
      this.sources.inc({ kind, outcome: s.outcome });
    }
  }

  tickSkipped(): void {
    this.skippedTicks.inc();
  }
}
