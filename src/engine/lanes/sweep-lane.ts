import { nowIso, nowMs } from '../../clock/clock.js';
import { feedWatchMs } from '../../config/config.js';
import { monthSitemapUrl, sweepSourceKey } from '../../discover/discovery.js';
import type { Engine } from '../engine.js';
import type { LaneRun } from '../lane.js';
import { newDiscovery, RobotsCache } from './crawl-discovery.js';
import { LaneTimer } from './lane-timer.js';

/** What /status and the status page show of the sweep. */
export interface SweepStatus {
  every: string;
  /** Months the sitemap index lists. */
  months: number;
  /** Of them, read within the last `discovery.sweepEvery` (by the sweep or any other lane). */
  readThisCycle: number;
  /** The read longest ago of any month (a month never read counts from when the sweep started). */
  oldestReadAt: string | null;
  nextAt: string | null;
  lastRead: { month: string; at: string; outcome: string; unlisted: number; unknown: number; error?: string } | null;
  /**
   * URLs the months list that state does not know, as of each month's last sweep read (a month
   * read whole by another lane since counts none): above 0, a backfill of those months has work.
   */
  unknownListed: number;
  /** Months robots.txt disallowed at their last try: each is tried again a cycle later. */
  disallowed: number;
}

/** A month whose reads keep failing is tried again after 1, 2, 4, then at most this many steps. */
const MAX_RETRY_STEPS = 4;
/** A sweep taking this share of crawl.rate or more is warned about at start (the default takes well under 1 %). */
const COSTLY_SHARE = 0.1;
/** The sitemap index is read again (conditionally) this often: it gains a month a month. */
const INDEX_EVERY_MS = 86_400_000;
/** A sweep that knows no month yet (the index failed) tries again after this, at most. */
const NO_MONTHS_RETRY_MS = 15 * 60_000;

/** Time between two steps of the sweep: the cycle spread evenly over the months (bench/history.mjs plans with it too). */
export function sweepStepMs(everyMs: number, months: number): number {
  return months > 0 ? everyMs / months : Math.min(everyMs, NO_MONTHS_RETRY_MS);
}

/**
 * How long after its `failures`-th failure in a row the sitemap index is tried again: from one
 * step with no month known (at most 15 minutes), doubling, at most a day (its usual interval).
 */
export function indexRetryMs(everyMs: number, failures: number): number {
  return Math.min(sweepStepMs(everyMs, 0) * 2 ** Math.max(0, failures - 1), INDEX_EVERY_MS);
}

/**
 * When the next step starts: one step after the last was planned, or at once when that has passed
 * (a slow read banks no debt); and at once as well while the month the step would read is a whole
 * cycle old (`dueAt`: its last read plus sweepEvery): steps lost to a starved queue are made up,
 * one after another, each still behind every lane above the sweep, until no month is overdue.
 */
export function nextStepAt(plannedAt: number, stepMs: number, now: number, dueAt: number | null): number {
  const next = Math.max(plannedAt + stepMs, now);
  return dueAt !== null && dueAt <= now ? now : next;
}

/** Requests an hour the sweep costs over `months`: a month a step, and the index once a day. */
export function sweepRequestsPerHour(everyMs: number, months: number): number {
  return 3_600_000 / sweepStepMs(everyMs, months) + 3_600_000 / INDEX_EVERY_MS;
}

/**
 * A lane of `serve`: the sweep of the history. Every month's sitemap is read again, conditionally
 * (an unchanged month costs one 304), at least once per `discovery.sweepEvery`, one month a step
 * and the steps spread evenly over the cycle, the month read longest ago first. A moved `lastmod`
 * makes its article due, and a captured article its month no longer lists is due at once: the
 * revisit lane checks them. Only articles state knows are recorded: the sweep finds changes, it
 * does not fetch the history (a backfill does). The months come from the sitemap index, read daily.
 */
export class SweepLane {
  private readonly timer = new LaneTimer(() =>
    this.step()
      .catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'sweep step failed; the next step tries again'))
      .finally(() => this.planNext()),
  );
  /** When the step under way was planned to start: the next is planned from it, so that the steps' own time never stretches the cycle. */
  private plannedAt = 0;
  private get robots(): RobotsCache {
    return RobotsCache.of(this.engine);
  }
  private readonly startedMs = nowMs();
  private indexReadAt = Number.NEGATIVE_INFINITY;
  /** After a failed read of the index, not before this (a backoff), so a failing index is not asked again every step. */
  private indexRetryAt = Number.NEGATIVE_INFINITY;
  private indexFailures = 0;
  private months: string[] = [];
  /**
   * Months not to read before a time (ms): a failed read is tried again after a few steps (a
   * backoff, capped), so its read is at most a little over a cycle old; a month robots.txt
   * disallows waits a whole cycle (or the sweep would pick it, never read, at every step).
   */
  private readonly notBefore = new Map<string, { at: number; failures: number; disallowed: boolean }>();
  private lastRead: SweepStatus['lastRead'] = null;
  /** Whether the last step read its month (changed or not): only then may a catch-up step follow at once. */
  private lastStepRead = false;
  private readonly stopping = new AbortController();
  private readonly everyMs: number | null;

  constructor(private readonly engine: Engine) {
    this.everyMs = feedWatchMs(engine.parts.config.discovery.sweepEvery);
  }

  private get log() {
    return this.engine.parts.log;
  }

  /**
   * Steps spread over `discovery.sweepEvery` (nothing when it is "off"), from the months and the
   * index read an earlier process left in state: a restart does not read everything again at once.
   */
  start(): void {
    if (this.everyMs === null) return;
    const { storage, urls, config } = this.engine.parts;
    const index = new URL(config.site.discovery.sitemapIndex, urls.base).href;
    const known = storage?.state.sources.get(index)?.body;
    if (known) this.months = known.split(',');
    const readAt = storage?.state.sources.checkedAt(index);
    if (readAt) this.indexReadAt = Date.parse(readAt);
    this.log.info({ every: config.discovery.sweepEvery, months: this.months.length }, 'sweep of the history started');
    this.warnIfCostly(this.months.length);
    this.plannedAt = nowMs() + this.stepMs();
    this.timer.after(this.stepMs());
  }

  /** The next step, by nextStepAt(): the month it would read decides whether it is overdue. */
  private planNext(): void {
    const now = nowMs();
    const month = this.oldestMonth();
    // Only months that fell a cycle behind while this process ran are made up: a read before its
    // start (or none) counts from the start, so a first serve, or one after days down, spreads its
    // reads over the cycle instead of reading the whole history back to back. Only after a step
    // that read its month: one that could not (robots.txt, a failed read, the site unreachable) is
    // never repeated at once, or it would spin.
    const dueAt = month === null || !this.lastStepRead ? null : Math.max(this.readAt(month) ?? this.startedMs, this.startedMs) + (this.everyMs as number);
    this.plannedAt = nextStepAt(this.plannedAt, this.stepMs(), now, dueAt);
    this.timer.after(this.plannedAt - now);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.timer.stop();
  }

  /** The sweep's place in its cycle; null when it is off. */
  status(): SweepStatus | null {
    if (this.everyMs === null) return null;
    const now = nowMs();
    const reads = this.months.map((m) => this.readAt(m));
    const oldest = this.oldestOf(reads);
    return {
      every: this.engine.parts.config.discovery.sweepEvery,
      months: this.months.length,
      readThisCycle: reads.filter((at) => (at ?? Number.NEGATIVE_INFINITY) > now - this.everyMs!).length,
      oldestReadAt: oldest === null ? null : new Date(oldest).toISOString(),
      nextAt: this.timer.nextAt,
      lastRead: this.lastRead,
      unknownListed: this.months.reduce((n, m) => n + this.unknownListed(m), 0),
      disallowed: this.months.filter((m) => this.notBefore.get(m)?.disallowed).length,
    };
  }

  /**
   * A sweepEvery short for the history's size takes the request budget from the lanes below it
   * (a backfill): said once per size, with the figures and the fix, never refused (tests and
   * benchmarks sweep in seconds on purpose).
   */
  private warnIfCostly(months: number): void {
    const rate = this.engine.parts.config.crawl.rate;
    if (!(rate > 0) || months === 0) return;
    const share = sweepRequestsPerHour(this.everyMs as number, months) / (rate * 3600);
    if (share < COSTLY_SHARE) return;
    this.log.warn(
      { every: this.engine.parts.config.discovery.sweepEvery, months, rate, share: Math.round(share * 1000) / 1000 },
      `sweep: discovery.sweepEvery over ${months} months takes ${Math.round(share * 100)} % of crawl.rate; a backfill gets only what is left (set discovery.sweepEvery longer: 7d is a request about every ${Math.round(sweepStepMs(7 * 86_400_000, months) / 60_000)} min)`,
    );
  }

  /** When the month read longest ago was read (ms; one never read counts from the sweep's start); null when off or no month is known. */
  oldestReadMs(): number | null {
    return this.everyMs === null ? null : this.oldestOf(this.months.map((m) => this.readAt(m)));
  }

  private oldestOf(reads: Array<number | null>): number | null {
    return reads.length > 0 ? Math.min(...reads.map((at) => at ?? this.startedMs)) : null;
  }

  private stepMs(): number {
    return sweepStepMs(this.everyMs as number, this.months.length);
  }

  /** One step, a run of the sweep lane: the index when due, then the month read longest ago. */
  private async step(): Promise<void> {
    this.lastStepRead = false;
    const run = this.engine.begin('sweep', { signal: this.stopping.signal });
    try {
      const discovery = newDiscovery(this.engine, run);
      const stop = await this.robots.apply(this.engine, run, discovery);
      if (stop !== null) {
        this.log.warn({ err: stop }, 'sweep: robots.txt stops this step');
        return;
      }
      const d = this.engine.parts.config.site.discovery;
      if ((nowMs() - this.indexReadAt >= INDEX_EVERY_MS || this.months.length === 0) && nowMs() >= this.indexRetryAt) {
        const index = await this.engine.within(run, () => discovery.sitemapIndex(d.sitemapIndex));
        if (index.months) {
          if (index.months.length !== this.months.length) this.warnIfCostly(index.months.length);
          this.months = index.months;
        }
        const failed = index.result.outcome === 'failed';
        this.indexFailures = failed ? this.indexFailures + 1 : 0;
        if (failed) this.indexRetryAt = nowMs() + indexRetryMs(this.everyMs as number, this.indexFailures);
        else this.indexReadAt = nowMs();
      }
      const month = this.oldestMonth();
      if (month === null || run.signal.aborted) return;
      await this.readMonth(run, discovery, month);
    } finally {
      this.engine.end(run);
    }
  }

  private async readMonth(run: LaneRun, discovery: ReturnType<typeof newDiscovery>, month: string): Promise<void> {
    const template = this.engine.parts.config.site.discovery.monthSitemap;
    const result = await this.engine.within(run, () => discovery.monthSitemap(template, month, { knownOnly: true }));
    const failures = (this.notBefore.get(month)?.failures ?? 0) + 1;
    if (result.outcome === 'failed') this.notBefore.set(month, { at: nowMs() + this.stepMs() * Math.min(2 ** (failures - 1), MAX_RETRY_STEPS), failures, disallowed: false });
    else if (result.outcome === 'disallowed') this.notBefore.set(month, { at: nowMs() + (this.everyMs as number), failures: 0, disallowed: true });
    else this.notBefore.delete(month);
    this.lastStepRead = result.outcome === 'changed' || result.outcome === 'unchanged';
    this.lastRead = { month, at: nowIso(), outcome: result.outcome, unlisted: result.unlisted ?? 0, unknown: result.unknown ?? 0, ...(result.error ? { error: result.error } : {}) };
  }

  /** The month read longest ago of those not held back; one never read goes first, the newest of those first. */
  private oldestMonth(): string | null {
    const now = nowMs();
    let best: { month: string; at: number } | null = null;
    for (const month of this.months) {
      if ((this.notBefore.get(month)?.at ?? Number.NEGATIVE_INFINITY) > now) continue;
      const at = this.readAt(month) ?? Number.NEGATIVE_INFINITY;
      if (best === null || at < best.at) best = { month, at };
    }
    return best?.month ?? null;
  }

  /**
   * When a month's whole sitemap was last read (ms), or null: by the sweep (its own row of
   * `sources`), or by a lane that reads it whole and records everything (a backfill, the
   * schedule), which does all a sweep read would. The sweep's conditional requests use its own
   * validators only, so another lane's read never turns the sweep's next read into a 304 that
   * hides what changed, and the sweep's never hides a month from them.
   */
  private readAt(month: string): number | null {
    const { own, shared } = this.readsOf(month);
    const at = Math.max(own ?? Number.NEGATIVE_INFINITY, shared ?? Number.NEGATIVE_INFINITY);
    return at === Number.NEGATIVE_INFINITY ? null : at;
  }

  /** The URLs a month's last sweep read listed that state did not know; 0 when a whole read by another lane came after it. */
  private unknownListed(month: string): number {
    const { own, shared, url } = this.readsOf(month);
    if (own === null || (shared !== null && shared >= own)) return 0;
    return Number(this.engine.parts.storage?.state.sources.get(sweepSourceKey(url))?.body ?? 0) || 0;
  }

  private readsOf(month: string): { url: string; own: number | null; shared: number | null } {
    const { config, storage } = this.engine.parts;
    const url = monthSitemapUrl(config.site.discovery.monthSitemap, month, config.site.baseUrl).href;
    const at = (key: string) => {
      const iso = storage?.state.sources.checkedAt(key);
      return iso ? Date.parse(iso) : null;
    };
    return { url, own: at(sweepSourceKey(url)), shared: at(url) };
  }
}
