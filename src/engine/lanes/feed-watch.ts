import { nowIso, nowMs } from '../../clock/clock.js';
import { feedWatchMs } from '../../config/config.js';
import { shiftDay, siteToday } from '../../site/calendar.js';
import type { Engine } from '../engine.js';
import type { LaneRun } from '../lane.js';
import { runBounded } from '../work-loop.js';
import { newDiscovery, RobotsCache } from './crawl-discovery.js';
import { LaneTimer } from './lane-timer.js';
import { logOutcome } from './outcome-log.js';

export interface FeedWatchDeps {
  engine: Engine;
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

/** Longest wait after failures in a row. */
const MAX_BACKOFF_MS = 15 * 60_000;
/** New articles fetched by one poll at most (the feed lists 100). */
const MAX_NEW = 100;

/**
 * A lane of `serve`: a light watch between crawls. Every `discovery.feedEvery` the RSS feed is read
 * with a conditional request (an unchanged feed costs one 304), and articles it lists for the
 * first time are fetched at once, through the engine (the same queue, rate limit, policies and
 * writer as everything else), ahead of a running crawl's requests. The feed's `Cache-Control:
 * max-age` and a `Retry-After` stretch the interval where they ask for less; failures (the site's,
 * or our storage's) back off, exponentially with jitter, and end only the poll they hit. Nothing
 * is kept per poll but its outcome.
 */
export class FeedWatch {
  private readonly timer = new LaneTimer(() =>
    this.poll().catch((err: unknown) => {
      // poll() catches what it expects; anything else must not end the process, and the watch goes on.
      this.log.error({ err: (err as Error).message }, 'feed watch failed');
      this.timer.after(this.everyMs ?? 60_000);
    }),
  );
  private get robots(): RobotsCache {
    return RobotsCache.of(this.d.engine);
  }
  private failures = 0;
  private lastPoll: FeedWatchStatus['lastPoll'] = null;
  private readonly stopping = new AbortController();
  private readonly everyMs: number | null;

  constructor(private readonly d: FeedWatchDeps) {
    this.everyMs = feedWatchMs(d.engine.parts.config.discovery.feedEvery);
  }

  private get log() {
    return this.d.engine.parts.log;
  }

  /** Polls at once, then every `discovery.feedEvery` (nothing when it is "off"). */
  start(): void {
    if (this.everyMs === null) return;
    this.log.info({ every: this.d.engine.parts.config.discovery.feedEvery }, 'feed watch started');
    this.timer.after(0);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.timer.stop();
  }

  status(): FeedWatchStatus {
    return {
      every: this.d.engine.parts.config.discovery.feedEvery,
      nextPollAt: this.timer.nextAt,
      lastPoll: this.lastPoll,
      failuresInARow: this.failures,
    };
  }

  /** One poll, a run of the watch lane: whatever fails ends this poll alone, and the next waits longer. */
  private async poll(): Promise<void> {
    const every = this.everyMs as number;
    let wait = every;
    const run = this.d.engine.begin('watch', { signal: this.stopping.signal });
    try {
      const result = await this.read(run);
      if (this.stopping.signal.aborted) return;
      this.d.onPoll(result.outcome);
      const fresh = result.outcome === 'changed' && result.added > 0 ? await this.fetchNew(run) : 0;
      this.lastPoll = { at: nowIso(), outcome: result.outcome, newArticles: fresh, ...(result.error ? { error: result.error } : {}) };
      if (result.outcome === 'failed') {
        this.failures++;
        wait = Math.max(this.backoff(every), result.holdMs ?? 0);
        this.log.warn({ err: result.error, failuresInARow: this.failures, nextInMs: Math.round(wait) }, 'feed watch: the feed could not be read');
      } else {
        this.failures = 0;
        wait = Math.max(every, result.holdMs ?? 0);
      }
    } catch (err) {
      // Our own storage failing (a full disk, a locked database): this poll ends, the next tries again.
      this.failures++;
      wait = this.backoff(every);
      this.lastPoll = { at: nowIso(), outcome: 'failed', newArticles: 0, error: (err as Error).message };
      this.log.error({ err: (err as Error).message, nextInMs: Math.round(wait) }, 'feed watch failed');
    } finally {
      this.d.engine.end(run);
    }
    this.timer.after(wait);
  }

  /** Equal jitter, as the request queue's own backoff: never all at once, never too soon. */
  private backoff(every: number): number {
    const ceiling = Math.min(MAX_BACKOFF_MS, every * 2 ** this.failures);
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  /** robots.txt when it is due (its rules and Crawl-delay hold for the watch too), then the feed. */
  private async read(run: LaneRun): Promise<{ outcome: string; added: number; error?: string; holdMs?: number }> {
    const { engine } = this.d;
    const discovery = newDiscovery(engine, run);
    const stop = await this.robots.apply(engine, run, discovery);
    if (stop !== null) return { outcome: 'failed', added: 0, error: stop };
    return engine.within(run, () => discovery.rss(engine.parts.config.site.discovery.rss));
  }

  /** Articles of today and yesterday never tried yet (the feed just added them), newest first. */
  private async fetchNew(run: LaneRun): Promise<number> {
    const { engine } = this.d;
    const { config } = engine.parts;
    const today = siteToday(nowMs());
    const fresh = engine.storage!.state.frontier
      .work({ limit: MAX_NEW, maxFailedRuns: config.crawl.maxFailedRuns, since: shiftDay(today, -1) })
      // One robots.txt that disallows (the chain's own judge) stays pending for a later crawl that
      // robots.txt allows: asked at every poll, it would be logged and counted every minute.
      .filter((r) => r.state === 'pending' && r.attempts === 0 && engine.parts.policies.robots.allows(r.url));
    await runBounded(fresh, { limit: Math.max(1, config.crawl.concurrency), signal: run.signal, onFailure: () => run.stop(new Error('the poll failed')) }, (rec) => {
      const ref = { id: rec.id, day: rec.day, url: rec.url };
      return engine.article(run, ref).then((o) => {
        const lag = 'lag' in o ? o.lag?.captureSeconds : undefined;
        this.log.info({ id: ref.id, url: ref.url, outcome: o.kind, ...(lag === undefined ? {} : { lagSeconds: Math.round(lag) }) }, 'feed watch: new article');
        if (o.kind !== 'written') logOutcome(o, this.log);
      });
    });
    return fresh.length;
  }
}
