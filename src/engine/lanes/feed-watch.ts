import { nowIso, nowMs } from '../../clock/clock.js';
import { feedWatchMs } from '../../config/config.js';
import type { ArticleOutcome } from '../pipeline/article-pipeline.js';
import { productToken, type CrawlTools } from './crawl-run.js';
import { runBounded } from '../work-loop.js';
import { Discovery } from '../../discover/discovery.js';
import { shiftDay, siteToday } from '../../site/calendar.js';

export interface FeedWatchDeps extends CrawlTools {
  /** Every article outcome of the watch (counted as a crawl's are). */
  onOutcome: (outcome: ArticleOutcome) => void;
  /** Every poll of the feed, by outcome: changed, unchanged, failed. */
  onPoll: (outcome: string) => void;
}

/** What /status and the status page show of the watch. */
export interface FeedWatchStatus {
  every: string;
  nextPollAt: string | null;
  lastPoll: { at: string; outcome: string; newArticles: number; error?: string } | null;
  failuresInARow: number;
}

/** The watch's requests go before a crawl's (0) and a backfill's (-1). */
export const WATCH_PRIORITY = 1;
/** robots.txt is read again (conditionally) this often between crawls. */
const ROBOTS_EVERY_MS = 3_600_000;
/** Longest wait after failures in a row. */
const MAX_BACKOFF_MS = 15 * 60_000;
/** New articles fetched by one poll at most (the feed lists 100). */
const MAX_NEW = 100;

/**
 * A light watch between crawls: every `discovery.feedEvery` the RSS feed is read with a
 * conditional request (an unchanged feed costs one 304), and articles it lists for the first time
 * are fetched at once, through the same queue, rate limit and writer as everything else, ahead of
 * a running crawl's requests. The feed's `Cache-Control: max-age` and a `Retry-After` stretch the
 * interval where they ask for less; failures back off (exponentially, with jitter).
 */
export class FeedWatch {
  private timer: NodeJS.Timeout | null = null;
  private nextAt: number | null = null;
  private polling: Promise<void> | null = null;
  private robotsReadAt = Number.NEGATIVE_INFINITY;
  private failures = 0;
  private lastPoll: FeedWatchStatus['lastPoll'] = null;
  private readonly stopping = new AbortController();
  private readonly everyMs: number | null;
  private readonly discovery: Discovery;

  constructor(private readonly d: FeedWatchDeps) {
    this.everyMs = feedWatchMs(d.config.discovery.feedEvery);
    this.discovery = new Discovery({
      http: d.http,
      scheduler: d.scheduler,
      state: d.storage.state,
      urls: d.urls,
      log: d.log.child({ component: 'feed-watch' }),
      productToken: productToken(d.config.http.userAgent),
      signal: this.stopping.signal,
      priority: WATCH_PRIORITY,
    });
  }

  /** Polls at once, then every `discovery.feedEvery` (nothing when it is "off"). */
  start(): void {
    if (this.everyMs === null) return;
    this.d.log.info({ every: this.d.config.discovery.feedEvery }, 'feed watch started');
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.nextAt = null;
    await this.polling;
  }

  status(): FeedWatchStatus {
    return {
      every: this.d.config.discovery.feedEvery,
      nextPollAt: this.nextAt === null ? null : new Date(this.nextAt).toISOString(),
      lastPoll: this.lastPoll,
      failuresInARow: this.failures,
    };
  }

  private schedule(ms: number): void {
    if (this.stopping.signal.aborted) return;
    this.nextAt = nowMs() + ms;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.polling = this.poll().finally(() => (this.polling = null));
    }, ms);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const every = this.everyMs as number;
    let wait = every;
    try {
      const result = await this.read();
      if (this.stopping.signal.aborted) return;
      this.d.onPoll(result.outcome);
      const fresh = result.outcome === 'changed' && result.added > 0 ? await this.fetchNew() : 0;
      this.lastPoll = { at: nowIso(), outcome: result.outcome, newArticles: fresh, ...(result.error ? { error: result.error } : {}) };
      if (result.outcome === 'failed') {
        this.failures++;
        // Equal jitter, as the request queue's own backoff: never all at once, never too soon.
        const ceiling = Math.min(MAX_BACKOFF_MS, every * 2 ** this.failures);
        wait = Math.max(ceiling / 2 + (Math.random() * ceiling) / 2, result.holdMs ?? 0);
        this.d.log.warn({ err: result.error, failuresInARow: this.failures, nextInMs: Math.round(wait) }, 'feed watch: the feed could not be read');
      } else {
        this.failures = 0;
        wait = Math.max(every, result.holdMs ?? 0);
      }
    } catch (err) {
      // Our own storage failing: logged; the scheduled crawl reports it as the run's failure.
      this.failures++;
      this.d.log.error({ err: (err as Error).message }, 'feed watch failed');
      wait = Math.min(MAX_BACKOFF_MS, every * 2 ** this.failures);
    }
    this.schedule(wait);
  }

  /** robots.txt when it is due (its rules and Crawl-delay hold for the watch too), then the feed. */
  private async read(): Promise<{ outcome: string; added: number; error?: string; holdMs?: number }> {
    if (nowMs() - this.robotsReadAt >= ROBOTS_EVERY_MS) {
      const stop = await this.discovery.loadRobots();
      if (stop) return { outcome: 'failed', added: 0, error: stop.message };
      this.robotsReadAt = nowMs();
      const delay = this.discovery.robots.crawlDelay;
      if (delay !== undefined) this.d.scheduler.applyCrawlDelay(delay);
    }
    return this.discovery.rss(this.d.config.site.discovery.rss);
  }

  /** Articles of today and yesterday never tried yet (the feed just added them), newest first. */
  private async fetchNew(): Promise<number> {
    const { storage, pipeline, config } = this.d;
    const today = siteToday(nowMs());
    const fresh = storage.state.frontier
      .work({ limit: MAX_NEW, maxFailedRuns: config.crawl.maxFailedRuns, since: shiftDay(today, -1) })
      .filter((r) => r.state === 'pending' && r.attempts === 0);
    await runBounded(fresh, { limit: Math.max(1, config.crawl.concurrency), signal: this.stopping.signal }, (rec) => {
      const ref = { id: rec.id, day: rec.day, url: rec.url };
      if (!this.discovery.allowed(rec.url)) {
        this.d.onOutcome(pipeline.disallowed(ref, storage, rec));
        return null;
      }
      return pipeline.process(ref, storage, this.stopping.signal, { priority: WATCH_PRIORITY }).then((o) => {
        const lag = 'lag' in o ? o.lag?.captureSeconds : undefined;
        this.d.log.info({ id: ref.id, url: ref.url, outcome: o.kind, ...(lag === undefined ? {} : { lagSeconds: Math.round(lag) }) }, 'feed watch: new article');
        this.d.onOutcome(o);
      });
    });
    return fresh.length;
  }
}
