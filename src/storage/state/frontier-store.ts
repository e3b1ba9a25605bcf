import type Database from 'better-sqlite3';
import { nowIso } from '../../clock/clock.js';
import { toRecord, type ArticleRow } from './state-rows.js';
import type { ArticleRecord, DiscoveredRef, DueCursor, WorkCursor } from './state-types.js';

/** What to work on: articles found, new work newest first, and articles due for another look. */
export interface FrontierStore {
  /**
   * Records discovered articles: new ids as pending. With `listing` (a month sitemap being read),
   * marks each as listed in that month, and a captured article's `<lastmod>` that moved (any
   * change from the value last seen; a first value only past its last capture) makes it due at
   * once. Returns how many ids were new; with `listing.knownOnly` (nothing new is recorded), how
   * many were left out as unknown.
   */
  addDiscovered(refs: Iterable<DiscoveredRef>, listing?: SitemapListing): number;
  /** A fresh generation number for one complete read of a month sitemap. */
  nextGeneration(): number;
  /**
   * Captured articles of the listing's month (of its days, for a range) that the sitemap listed
   * before but not in its generation: due at once (listingDrop() counts them first).
   */
  markUnlisted(listing: SitemapListing): void;
  /** Captured articles of the listing's days: how many its generation lists, how many it no longer does. */
  listingDrop(listing: SitemapListing): { listed: number; unlisted: number };
  /**
   * New work: pending articles, and failed ones with runs left (fewer than `maxFailedRuns`
   * failed runs and no slow retry scheduled), newest day first, after the cursor.
   */
  work(options: { limit: number; maxFailedRuns: number; after?: WorkCursor; since?: string; until?: string }): ArticleRecord[];
  countWork(options: { maxFailedRuns: number; since?: string; until?: string }): number;
  /**
   * Articles due for a look at `now`: captured ones by their revisit schedule, and failed ones
   * on their slow retry schedule; the longest due first, after the cursor.
   */
  due(options: { now: string; limit: number; after?: DueCursor; since?: string; until?: string }): ArticleRecord[];
  countDue(options: { now: string; since?: string; until?: string }): number;
  /**
   * Articles that used up their runs without a slow retry scheduled (a store from before the
   * schedule, or a lowered `crawl.maxFailedRuns`) get one, due `at`. Returns how many.
   */
  scheduleGivenUp(maxFailedRuns: number, at: string): number;
  /** `crawl --retry-failed`: every failed article is pending again at once, its runs forgiven. Returns how many. */
  retryFailed(): number;
}

/** One whole read of a sitemap: a month's, or a range of its days (`since`..`until`, YYYYMMDD). */
export interface SitemapListing {
  month: string;
  generation: number;
  since?: string;
  until?: string;
  /**
   * Only articles state knows are recorded (the sweep of the history): its URLs never seen are no
   * one's new work, and the history is fetched only when a backfill asks for it.
   */
  knownOnly?: boolean;
}

const GENERATION = 'sitemap.generation';

export class SqliteFrontier implements FrontierStore {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    private readonly meta: { get(key: string): string | undefined; set(key: string, value: string): void },
  ) {
    this.s = {
      get: db.prepare<[string], { id: string }>('SELECT id FROM articles WHERE id = ?'),
      insert: db.prepare(`INSERT INTO articles (id, url, day, state, discovered_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (id) DO NOTHING`),
      // A `<lastmod>` is a hint (SITE.md): it only moves a check earlier, never later, and counts
      // once, when it moves. Any move from one value seen to another counts, earlier or later:
      // the site writes it to the second or the minute, so an edit in the second or minute of our
      // capture reads as older than it. A first value (none seen before: an article captured from
      // the feed, at its month's first read) counts only past the capture, or every such article
      // would be fetched again for nothing.
      listed: db.prepare(
        `INSERT INTO articles (id, url, day, state, discovered_at, updated_at, lastmod, sitemap_month, sitemap_gen)
         VALUES (@id, @url, @day, 'pending', @now, @now, @lastmod, @month, @gen)
         ON CONFLICT (id) DO UPDATE SET
           next_check_at = CASE
             WHEN excluded.lastmod IS NOT NULL AND excluded.lastmod IS NOT articles.lastmod
               AND articles.state IN ('done', 'gone') AND articles.captured_at IS NOT NULL
               AND (articles.lastmod IS NOT NULL OR excluded.lastmod > articles.captured_at)
             THEN MIN(COALESCE(articles.next_check_at, @now), MIN(excluded.lastmod, @now))
             ELSE articles.next_check_at END,
           lastmod = COALESCE(excluded.lastmod, articles.lastmod),
           sitemap_month = excluded.sitemap_month,
           -- Two reads of one month at once (the sweep's and the schedule's): the later read's
           -- generation is never lowered by the earlier one finishing after it.
           sitemap_gen = CASE WHEN articles.sitemap_month IS excluded.sitemap_month THEN MAX(excluded.sitemap_gen, COALESCE(articles.sitemap_gen, 0)) ELSE excluded.sitemap_gen END`,
      ),
      unlisted: db.prepare(
        `UPDATE articles SET next_check_at = CASE WHEN state = 'done' THEN MIN(COALESCE(next_check_at, @now), @now) ELSE next_check_at END,
           sitemap_month = NULL
         WHERE sitemap_month = @month AND sitemap_gen < @gen AND day BETWEEN @since AND @until`,
      ),
      unlistedDone: db.prepare<Record<string, unknown>, { n: number }>(
        `SELECT COUNT(*) AS n FROM articles WHERE sitemap_month = @month AND sitemap_gen < @gen AND day BETWEEN @since AND @until AND state = 'done'`,
      ),
      listedDone: db.prepare<Record<string, unknown>, { n: number }>(
        `SELECT COUNT(*) AS n FROM articles WHERE sitemap_month = @month AND sitemap_gen >= @gen AND day BETWEEN @since AND @until AND state = 'done'`,
      ),
      workPending: db.prepare<Record<string, unknown>, ArticleRow>(
        `SELECT * FROM articles WHERE state = 'pending' AND (day, id) < (@afterDay, @afterId) AND day >= @since
         ORDER BY day DESC, id DESC LIMIT @limit`,
      ),
      workFailed: db.prepare<Record<string, unknown>, ArticleRow>(
        `SELECT * FROM articles WHERE state = 'failed' AND (day, id) < (@afterDay, @afterId) AND day >= @since
           AND attempts < @maxFailedRuns AND next_check_at IS NULL
         ORDER BY day DESC, id DESC LIMIT @limit`,
      ),
      // Pending articles are new work: never due by time, so nothing is selected twice in a run.
      due: db.prepare<Record<string, unknown>, ArticleRow>(
        `SELECT * FROM articles WHERE next_check_at IS NOT NULL AND next_check_at <= @now AND (next_check_at, id) > (@afterAt, @afterId)
           AND day BETWEEN @since AND @until AND state <> 'pending'
         ORDER BY next_check_at, id LIMIT @limit`,
      ),
      countDue: db.prepare<Record<string, unknown>, { n: number }>(
        `SELECT COUNT(*) AS n FROM articles WHERE next_check_at IS NOT NULL AND next_check_at <= @now AND day BETWEEN @since AND @until AND state <> 'pending'`,
      ),
      scheduleGivenUp: db.prepare(
        `UPDATE articles SET next_check_at = @at, given_up_at = COALESCE(given_up_at, @at)
         WHERE state = 'failed' AND attempts >= @max AND next_check_at IS NULL`,
      ),
      retryFailed: db.prepare(`UPDATE articles SET state = 'pending', attempts = 0, next_check_at = NULL, given_up_at = NULL, updated_at = @now WHERE state = 'failed'`),
    };
  }

  addDiscovered(refs: Iterable<DiscoveredRef>, listing?: SitemapListing): number {
    const now = nowIso();
    let added = 0;
    this.db.transaction(() => {
      for (const ref of refs) {
        if (!listing) {
          added += this.s.insert.run(ref.id, ref.url, ref.day, now, now).changes;
          continue;
        }
        const known = this.s.get.get(ref.id) !== undefined;
        if (!known && listing.knownOnly) {
          // Counted, not added: the sweep shows how many a backfill would find.
          added++;
          continue;
        }
        this.s.listed.run({ id: ref.id, url: ref.url, day: ref.day, now, lastmod: ref.lastmod ?? null, month: listing.month, gen: listing.generation });
        if (!known) added++;
      }
    })();
    return added;
  }

  nextGeneration(): number {
    const next = Number(this.meta.get(GENERATION) ?? '0') + 1;
    this.meta.set(GENERATION, String(next));
    return next;
  }

  markUnlisted(listing: SitemapListing): void {
    this.s.unlisted.run(listingParams(listing));
  }

  listingDrop(listing: SitemapListing): { listed: number; unlisted: number } {
    const params = listingParams(listing);
    return { listed: this.s.listedDone.get(params)?.n ?? 0, unlisted: this.s.unlistedDone.get(params)?.n ?? 0 };
  }

  work(options: { limit: number; maxFailedRuns: number; after?: WorkCursor; since?: string; until?: string }): ArticleRecord[] {
    // One query per state, each a seek into the (state, day, id) index that walks it in order:
    // an OR of the two states would sort every matching row on every page. `until` is folded
    // into the cursor so the row-value bound is the index's starting point.
    const start = options.after ?? { day: options.until ?? '99999999', id: '~' };
    const params = { maxFailedRuns: options.maxFailedRuns, since: options.since ?? '', afterDay: start.day, afterId: start.id, limit: options.limit };
    const pending = this.s.workPending.all(params);
    const failed = this.s.workFailed.all(params);
    const merged = failed.length === 0 ? pending : [...pending, ...failed].sort((a, b) => (a.day === b.day ? cmp(b.id, a.id) : cmp(b.day, a.day)));
    return merged.slice(0, options.limit).map(toRecord);
  }

  countWork(options: { maxFailedRuns: number; since?: string; until?: string }): number {
    const where = [`(state = 'pending' OR (state = 'failed' AND attempts < @maxFailedRuns AND next_check_at IS NULL))`];
    if (options.since) where.push('day >= @since');
    if (options.until) where.push('day <= @until');
    const row = this.db
      .prepare<Record<string, unknown>, { n: number }>(`SELECT COUNT(*) AS n FROM articles WHERE ${where.join(' AND ')}`)
      .get({ maxFailedRuns: options.maxFailedRuns, since: options.since ?? null, until: options.until ?? null });
    return row?.n ?? 0;
  }

  due(options: { now: string; limit: number; after?: DueCursor; since?: string; until?: string }): ArticleRecord[] {
    return this.s.due
      .all({ now: options.now, limit: options.limit, afterAt: options.after?.at ?? '', afterId: options.after?.id ?? '', since: options.since ?? '', until: options.until ?? '99999999' })
      .map(toRecord);
  }

  countDue(options: { now: string; since?: string; until?: string }): number {
    return this.s.countDue.get({ now: options.now, since: options.since ?? '', until: options.until ?? '99999999' })?.n ?? 0;
  }

  scheduleGivenUp(maxFailedRuns: number, at: string): number {
    return this.s.scheduleGivenUp.run({ max: maxFailedRuns, at }).changes;
  }

  retryFailed(): number {
    return this.s.retryFailed.run({ now: nowIso() }).changes;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function listingParams(listing: SitemapListing) {
  return { month: listing.month, gen: listing.generation, since: listing.since ?? '00000000', until: listing.until ?? '99999999', now: nowIso() };
}
