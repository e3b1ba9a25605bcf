import { nowMs } from '../../clock/clock.js';
import { parseDuration } from '../../clock/durations.js';
import type { Config } from '../../config/config.js';
import { Discovery, monthSitemapUrl } from '../../discover/discovery.js';
import type { Logger } from '../../log/logger.js';
import type { Engine } from '../engine.js';
import type { LaneRun } from '../lane.js';
import { daysOf, incrementalSitemapReads, monthsOf, type CrawlWindow, type SitemapRead } from './crawl-plan.js';

/** Meta key: the last day whose discovery succeeded (an incremental run reads the days since). */
export const LAST_DISCOVERY_DAY = 'incremental.lastDiscoveryDay';

/** The robots.txt product token: the User-Agent's first word without its version. */
export function productToken(userAgent: string): string {
  return (userAgent.split(/[\s/]/)[0] ?? 'newsnap').toLowerCase();
}

/** A run's discovery: robots.txt, then (incremental) the feed, then the sitemaps its window needs. */
export function newDiscovery(engine: Engine, run: LaneRun): Discovery {
  const { config, log, http, scheduler, urls, storage } = engine.parts;
  if (!storage) throw new Error('discovery records what it finds in a storage folder');
  return new Discovery({ http, scheduler, state: storage.state, urls, log, productToken: productToken(config.http.userAgent), signal: run.signal, priority: run.priority });
}

/**
 * Reads robots.txt (its rules and Crawl-delay then apply to every request), and returns why the run stops
 * there, or null. Requests count under the run's lane.
 */
export async function readRobots(engine: Engine, run: LaneRun, discovery: Discovery): Promise<string | null> {
  const stop = await engine.within(run, () => discovery.loadRobots());
  if (stop) {
    if (stop.unreachable) run.unreachable ??= stop.unreachable;
    return stop.message;
  }
  engine.followRobots(discovery.robots);
  return null;
}

/** robots.txt is read again (conditionally) this often by a lane that polls between crawls. */
const ROBOTS_EVERY_MS = 3_600_000;

/**
 * robots.txt for a lane that polls between crawls (the feed watch, the sweep): its rules carried
 * from poll to poll, and read again (conditionally) once an hour, not at every poll.
 */
export class RobotsCache {
  private static readonly shared = new WeakMap<Engine, RobotsCache>();
  private readAt = Number.NEGATIVE_INFINITY;

  /** The engine's one cache: the feed watch and the sweep read robots.txt once an hour between them, not once each. */
  static of(engine: Engine): RobotsCache {
    let cache = RobotsCache.shared.get(engine);
    if (!cache) RobotsCache.shared.set(engine, (cache = new RobotsCache()));
    return cache;
  }

  /**
   * Reads robots.txt through `discovery` when due (its rules then hold in the request chain for
   * every lane); returns why the poll stops, or null. Between reads the chain keeps the rules.
   */
  async apply(engine: Engine, run: LaneRun, discovery: Discovery): Promise<string | null> {
    if (nowMs() - this.readAt < ROBOTS_EVERY_MS) return null;
    const stop = await readRobots(engine, run, discovery);
    if (stop !== null) return stop;
    this.readAt = nowMs();
    return null;
  }
}

/**
 * The feed (incremental runs) and the sitemaps of the window: the month sitemaps of a backfill,
 * or the ranges (and now and then the whole month) of an incremental run; a sitemap that fails
 * is replaced by the day listings of its days.
 */
export async function readSources(engine: Engine, run: LaneRun, discovery: Discovery, window: CrawlWindow): Promise<void> {
  const { config, log, storage } = engine.parts;
  const state = storage!.state;
  const d = config.site.discovery;
  await engine.within(run, async () => {
    if (!window.backfill && !run.signal.aborted) await discovery.rss(d.rss);
    for (const read of sitemapReads(config, window, state)) {
      if (run.signal.aborted) break;
      const result = read.kind === 'month' ? await discovery.monthSitemap(d.monthSitemap, read.month) : await discovery.rangeSitemap(d.monthSitemap, read.since, read.until);
      if (result.outcome === 'failed' && !result.short && config.crawl.archiveFallback && !run.signal.aborted) await readDayListings(discovery, d.dayArchive, read, window, run, log);
    }
  });
}

function sitemapReads(config: Config, window: CrawlWindow, state: NonNullable<Engine['storage']>['state']): SitemapRead[] {
  if (window.backfill) return monthsOf(window).map((month) => ({ kind: 'month', month }));
  return incrementalSitemapReads({
    window,
    lastDiscoveryDay: state.meta.get(LAST_DISCOVERY_DAY) ?? null,
    nowMs: nowMs(),
    monthEveryMs: parseDuration(config.discovery.monthEvery),
    monthReadAt: (month) => {
      const at = state.sources.checkedAt(monthSitemapUrl(config.site.discovery.monthSitemap, month, config.site.baseUrl).href);
      return at === null ? null : Date.parse(at);
    },
  });
}

async function readDayListings(discovery: Discovery, dayArchive: string, read: SitemapRead, window: CrawlWindow, run: LaneRun, log: Logger): Promise<void> {
  log.warn(read, 'sitemap failed: reading day listings instead');
  const days = read.kind === 'month' ? daysOf(read.month, window) : daysOf(read.since.slice(0, 6), { since: read.since, until: read.until, backfill: false });
  for (const day of days) {
    if (run.signal.aborted) break;
    await discovery.dayListing(dayArchive, day);
  }
}
