import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { nowIso } from '../clock/clock.js';
import type { ArchivedAt } from '../fetch/exchange.js';
import type { ManifestRecord } from '../snapshot/manifest.js';
import { ensureSchema } from './state-schema.js';
import type {
  ArticleRecord,
  ArticleState,
  CheckRecord,
  DiscoveredRef,
  DueCursor,
  EventRecord,
  RunRecord,
  SourceValidators,
  WorkCursor,
} from './state-types.js';

export type * from './state-types.js';

/**
 * What a crawl remembers between runs. The default is SQLite in WAL mode: embedded (no server
 * to run beside a cron job), transactional (a kill -9 loses no committed state), and it pages
 * through 100 000 ids without holding them in memory. A shared store (Redis) for cooperating
 * workers implements the same interface.
 */
export interface StateStore {
  /**
   * Records discovered articles: new ids as pending. With `listing` (a month sitemap being read),
   * marks each as listed in that month, and a `<lastmod>` that moved past an article's last
   * capture makes it due at once. Returns how many ids were new.
   */
  addDiscovered(refs: Iterable<DiscoveredRef>, listing?: { month: string; generation: number }): number;
  /** A fresh generation number for one complete read of a month sitemap. */
  nextGeneration(): number;
  /** Captured articles a month sitemap listed before but not in `generation`: due at once. Returns how many. */
  markUnlisted(month: string, generation: number): number;
  get(id: string): ArticleRecord | undefined;
  /** Pending articles and failed ones with fewer than `maxFailedRuns` failed runs, newest day first, after the cursor. */
  work(options: { limit: number; maxFailedRuns: number; after?: WorkCursor; since?: string; until?: string }): ArticleRecord[];
  countWork(options: { maxFailedRuns: number; since?: string; until?: string }): number;
  /** Captured or gone articles due for a check at `now`, the longest due first, after the cursor. */
  due(options: { now: string; limit: number; after?: DueCursor; since?: string; until?: string }): ArticleRecord[];
  countDue(options: { now: string; since?: string; until?: string }): number;
  /** Applies one manifest line (idempotent: its offset is its identity). */
  applyEvent(record: ManifestRecord, offset: number): void;
  /** What a check of a captured article found: its schedule, validators and 404 count. */
  recordCheck(id: string, check: CheckRecord & { publishedAt?: string | null }): void;
  /** Where the archive holds the page extraction last read for an article (known or not yet). */
  setArchived(id: string, url: string, at: ArchivedAt): void;
  /** Articles the archive holds a page of, by day then id, after the cursor (one page of them). */
  archivedPage(options: { limit: number; after?: WorkCursor; since?: string; until?: string; ids?: readonly string[] }): ArticleRecord[];
  countArchived(options: { since?: string; until?: string }): number;
  markFailed(id: string, url: string, error: string): void;
  markSkipped(id: string, url: string, reason: string): void;
  /** A new article the site did not serve (a block page): pending still, with why. */
  markBlocked(id: string, url: string, reason: string): void;
  /** An article's events (its versions and removals), oldest first. */
  events(id: string): EventRecord[];
  validators(source: string): SourceValidators | undefined;
  saveValidators(source: string, validators: SourceValidators): void;
  beginRun(kind: string): number;
  endRun(id: number, status: string, summary: unknown): void;
  /** Runs started but never ended (the process died). */
  unfinishedRuns(): RunRecord[];
  recentRuns(limit: number): RunRecord[];
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  countByState(): Record<ArticleState, number>;
  close(): void;
}

interface ArticleRow {
  id: string;
  url: string;
  day: string;
  state: ArticleState;
  attempts: number;
  last_error: string | null;
  reason: string | null;
  sha256: string | null;
  path: string | null;
  title: string | null;
  captured_at: string | null;
  published_at: string | null;
  modified_time: string | null;
  changed_at: string | null;
  checked_at: string | null;
  next_check_at: string | null;
  etag: string | null;
  last_modified: string | null;
  missing_count: number;
  missing_at: string | null;
  gone_at: string | null;
  lastmod: string | null;
  archived_file: string | null;
  archived_offset: number | null;
  archived_length: number | null;
}

interface EventRow {
  line_offset: number;
  id: string;
  event: EventRecord['event'];
  at: string;
  sha256: string | null;
  previous_sha256: string | null;
  bytes: number | null;
  path: string | null;
  modified_time: string | null;
  reason: string | null;
}

interface RunRow {
  id: number;
  kind: string;
  started_at: string;
  finished_at: string | null;
  status: string | null;
  summary: string | null;
}

const GENERATION = 'sitemap.generation';

export class SqliteStateStore implements StateStore {
  private readonly db: Database.Database;
  private readonly stmts;
  /** True when opening migrated a store written by an earlier newsnap. */
  readonly migrated: boolean;

  constructor(storageDir: string, options: { readonly?: boolean } = {}) {
    if (!options.readonly) mkdirSync(storageDir, { recursive: true });
    this.db = new Database(join(storageDir, 'state.sqlite'), options.readonly ? { readonly: true, fileMustExist: true } : {});
    this.db.pragma('busy_timeout = 5000');
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode survives a killed process; only a power cut may drop the last commits.
      this.db.pragma('synchronous = NORMAL');
    }
    this.migrated = options.readonly ? false : ensureSchema(this.db);
    const db = this.db;
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO articles (id, url, day, state, discovered_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (id) DO NOTHING`,
      ),
      // A `<lastmod>` only moves a check earlier, never later; it counts once, when it moves.
      listed: db.prepare(
        `INSERT INTO articles (id, url, day, state, discovered_at, updated_at, lastmod, sitemap_month, sitemap_gen)
         VALUES (@id, @url, @day, 'pending', @now, @now, @lastmod, @month, @gen)
         ON CONFLICT (id) DO UPDATE SET
           next_check_at = CASE
             WHEN excluded.lastmod IS NOT NULL AND excluded.lastmod IS NOT articles.lastmod
               AND articles.state IN ('done', 'gone') AND articles.captured_at IS NOT NULL AND excluded.lastmod > articles.captured_at
             THEN MIN(COALESCE(articles.next_check_at, @now), MIN(excluded.lastmod, @now))
             ELSE articles.next_check_at END,
           lastmod = COALESCE(excluded.lastmod, articles.lastmod),
           sitemap_month = excluded.sitemap_month,
           sitemap_gen = excluded.sitemap_gen`,
      ),
      unlisted: db.prepare(
        `UPDATE articles SET next_check_at = CASE WHEN state = 'done' THEN MIN(COALESCE(next_check_at, @now), @now) ELSE next_check_at END,
           sitemap_month = NULL
         WHERE sitemap_month = @month AND sitemap_gen < @gen`,
      ),
      unlistedDone: db.prepare<Record<string, unknown>, { n: number }>(
        `SELECT COUNT(*) AS n FROM articles WHERE sitemap_month = @month AND sitemap_gen < @gen AND state = 'done'`,
      ),
      get: db.prepare<[string], ArticleRow>('SELECT * FROM articles WHERE id = ?'),
      upsertState: db.prepare(
        `INSERT INTO articles (id, url, day, state, attempts, last_error, reason, discovered_at, updated_at)
         VALUES (@id, @url, @day, @state, @attempts, @last_error, @reason, @now, @now)
         ON CONFLICT (id) DO UPDATE SET url = excluded.url, state = excluded.state,
           attempts = CASE WHEN excluded.state = 'failed' THEN articles.attempts + 1 ELSE articles.attempts END,
           last_error = excluded.last_error, reason = excluded.reason, updated_at = excluded.updated_at`,
      ),
      insertEvent: db.prepare(
        `INSERT OR IGNORE INTO events (line_offset, id, event, at, sha256, previous_sha256, bytes, path, modified_time, reason)
         VALUES (@offset, @id, @event, @at, @sha256, @previous, @bytes, @path, @modified, @reason)`,
      ),
      // A rebuilt version (`reextracted`) says nothing of the site: a gone article stays gone.
      version: db.prepare(
        `INSERT INTO articles (id, url, day, state, sha256, path, title, captured_at, modified_time, discovered_at, updated_at)
         VALUES (@id, @url, @day, 'done', @sha256, @path, @title, @at, @modified, @now, @now)
         ON CONFLICT (id) DO UPDATE SET url = excluded.url,
           state = CASE WHEN @event = 'reextracted' AND articles.state = 'gone' THEN 'gone' ELSE 'done' END,
           attempts = 0, last_error = NULL, reason = NULL,
           sha256 = excluded.sha256, path = excluded.path, title = COALESCE(excluded.title, articles.title),
           captured_at = excluded.captured_at, modified_time = excluded.modified_time,
           missing_count = CASE WHEN @event = 'reextracted' THEN articles.missing_count ELSE 0 END,
           missing_at = CASE WHEN @event = 'reextracted' THEN articles.missing_at ELSE NULL END,
           gone_at = CASE WHEN @event = 'reextracted' THEN articles.gone_at ELSE NULL END,
           updated_at = excluded.updated_at`,
      ),
      superseded: db.prepare(`UPDATE events SET path = @history WHERE id = @id AND sha256 = @previous AND path = @snapshot AND line_offset < @offset`),
      gone: db.prepare(`UPDATE articles SET state = 'gone', gone_at = @at, updated_at = @now WHERE id = @id`),
      check: db.prepare(
        `UPDATE articles SET checked_at = @checkedAt, next_check_at = @nextCheckAt,
           changed_at = COALESCE(@changedAt, changed_at), published_at = COALESCE(@publishedAt, published_at),
           etag = CASE WHEN @setValidators THEN @etag ELSE etag END,
           last_modified = CASE WHEN @setValidators THEN @lastModified ELSE last_modified END,
           missing_count = CASE WHEN @setMissing THEN @missingCount ELSE missing_count END,
           missing_at = CASE WHEN @setMissing THEN @missingAt ELSE missing_at END,
           last_error = @lastError, updated_at = @now
         WHERE id = @id`,
      ),
      events: db.prepare<[string], EventRow>('SELECT * FROM events WHERE id = ? ORDER BY line_offset'),
      archived: db.prepare(
        `INSERT INTO articles (id, url, day, state, archived_file, archived_offset, archived_length, discovered_at, updated_at)
         VALUES (@id, @url, @day, 'pending', @file, @offset, @length, @now, @now)
         ON CONFLICT (id) DO UPDATE SET archived_file = excluded.archived_file, archived_offset = excluded.archived_offset, archived_length = excluded.archived_length`,
      ),
      countArchived: db.prepare<Record<string, unknown>, { n: number }>(
        `SELECT COUNT(*) AS n FROM articles WHERE archived_file IS NOT NULL AND day BETWEEN @since AND @until`,
      ),
      archivedPage: db.prepare<Record<string, unknown>, ArticleRow>(
        `SELECT * FROM articles WHERE archived_file IS NOT NULL AND (day, id) > (@afterDay, @afterId) AND day BETWEEN @since AND @until
         ORDER BY day, id LIMIT @limit`,
      ),
      getSource: db.prepare<[string], { etag: string | null; last_modified: string | null; body: string | null }>(
        'SELECT etag, last_modified, body FROM sources WHERE url = ?',
      ),
      putSource: db.prepare(
        `INSERT INTO sources (url, etag, last_modified, body, checked_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, body = excluded.body, checked_at = excluded.checked_at`,
      ),
      beginRun: db.prepare(`INSERT INTO runs (kind, started_at) VALUES (?, ?)`),
      endRun: db.prepare(`UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?`),
      unfinished: db.prepare<[], RunRow>(`SELECT * FROM runs WHERE finished_at IS NULL ORDER BY id`),
      recent: db.prepare<[number], RunRow>(`SELECT * FROM runs ORDER BY id DESC LIMIT ?`),
      getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      counts: db.prepare<[], { state: ArticleState; n: number }>('SELECT state, COUNT(*) AS n FROM articles GROUP BY state'),
      workPending: db.prepare<Record<string, unknown>, ArticleRow>(
        `SELECT * FROM articles WHERE state = 'pending' AND (day, id) < (@afterDay, @afterId) AND day >= @since
         ORDER BY day DESC, id DESC LIMIT @limit`,
      ),
      workFailed: db.prepare<Record<string, unknown>, ArticleRow>(
        `SELECT * FROM articles WHERE state = 'failed' AND (day, id) < (@afterDay, @afterId) AND day >= @since AND attempts < @maxFailedRuns
         ORDER BY day DESC, id DESC LIMIT @limit`,
      ),
      due: db.prepare<Record<string, unknown>, ArticleRow>(
        `SELECT * FROM articles WHERE next_check_at IS NOT NULL AND next_check_at <= @now AND (next_check_at, id) > (@afterAt, @afterId)
           AND day BETWEEN @since AND @until
         ORDER BY next_check_at, id LIMIT @limit`,
      ),
      countDue: db.prepare<Record<string, unknown>, { n: number }>(
        `SELECT COUNT(*) AS n FROM articles WHERE next_check_at IS NOT NULL AND next_check_at <= @now AND day BETWEEN @since AND @until`,
      ),
    };
  }

  addDiscovered(refs: Iterable<DiscoveredRef>, listing?: { month: string; generation: number }): number {
    const now = nowIso();
    let added = 0;
    this.db.transaction(() => {
      for (const ref of refs) {
        if (!listing) {
          added += this.stmts.insert.run(ref.id, ref.url, ref.day, now, now).changes;
          continue;
        }
        const known = this.stmts.get.get(ref.id) !== undefined;
        this.stmts.listed.run({ id: ref.id, url: ref.url, day: ref.day, now, lastmod: ref.lastmod ?? null, month: listing.month, gen: listing.generation });
        if (!known) added++;
      }
    })();
    return added;
  }

  nextGeneration(): number {
    const next = Number(this.getMeta(GENERATION) ?? '0') + 1;
    this.setMeta(GENERATION, String(next));
    return next;
  }

  markUnlisted(month: string, generation: number): number {
    const params = { month, gen: generation, now: nowIso() };
    return this.db.transaction(() => {
      const n = this.stmts.unlistedDone.get(params)?.n ?? 0;
      this.stmts.unlisted.run(params);
      return n;
    })();
  }

  get(id: string): ArticleRecord | undefined {
    const row = this.stmts.get.get(id);
    return row ? toRecord(row) : undefined;
  }

  work(options: { limit: number; maxFailedRuns: number; after?: WorkCursor; since?: string; until?: string }): ArticleRecord[] {
    // One query per state, each a seek into the (state, day, id) index that walks it in order:
    // an OR of the two states would sort every matching row on every page. `until` is folded
    // into the cursor so the row-value bound is the index's starting point.
    const start = options.after ?? { day: options.until ?? '99999999', id: '~' };
    const params = {
      maxFailedRuns: options.maxFailedRuns,
      since: options.since ?? '',
      afterDay: start.day,
      afterId: start.id,
      limit: options.limit,
    };
    const pending = this.stmts.workPending.all(params);
    const failed = this.stmts.workFailed.all(params);
    const merged = failed.length === 0 ? pending : [...pending, ...failed].sort((a, b) => (a.day === b.day ? cmp(b.id, a.id) : cmp(b.day, a.day)));
    return merged.slice(0, options.limit).map(toRecord);
  }

  countWork(options: { maxFailedRuns: number; since?: string; until?: string }): number {
    const where = [`(state = 'pending' OR (state = 'failed' AND attempts < @maxFailedRuns))`];
    if (options.since) where.push('day >= @since');
    if (options.until) where.push('day <= @until');
    const row = this.db
      .prepare<Record<string, unknown>, { n: number }>(`SELECT COUNT(*) AS n FROM articles WHERE ${where.join(' AND ')}`)
      .get({ maxFailedRuns: options.maxFailedRuns, since: options.since ?? null, until: options.until ?? null });
    return row?.n ?? 0;
  }

  due(options: { now: string; limit: number; after?: DueCursor; since?: string; until?: string }): ArticleRecord[] {
    return this.stmts.due
      .all({ now: options.now, limit: options.limit, afterAt: options.after?.at ?? '', afterId: options.after?.id ?? '', since: options.since ?? '', until: options.until ?? '99999999' })
      .map(toRecord);
  }

  countDue(options: { now: string; since?: string; until?: string }): number {
    return this.stmts.countDue.get({ now: options.now, since: options.since ?? '', until: options.until ?? '99999999' })?.n ?? 0;
  }

  applyEvent(r: ManifestRecord, offset: number): void {
    const now = nowIso();
    this.db.transaction(() => {
      this.stmts.insertEvent.run({
        offset,
        id: r.id,
        event: r.event,
        at: r.capturedAt,
        sha256: r.sha256 ?? null,
        previous: r.previousSha256 ?? null,
        bytes: r.bytes ?? null,
        path: r.event === 'gone' ? null : r.path,
        modified: r.modifiedTime ?? null,
        reason: r.reason ?? null,
      });
      if (r.event === 'gone') {
        this.stmts.gone.run({ id: r.id, at: r.capturedAt, now });
        return;
      }
      this.stmts.version.run({ id: r.id, url: r.url, day: dayOf(r.url), event: r.event, sha256: r.sha256, path: r.path, title: r.title ?? null, at: r.capturedAt, modified: r.modifiedTime ?? null, now });
      if (r.previousSha256 && r.historyPath) this.stmts.superseded.run({ id: r.id, previous: r.previousSha256, history: r.historyPath, snapshot: r.path, offset });
    })();
  }

  recordCheck(id: string, c: CheckRecord & { publishedAt?: string | null }): void {
    this.stmts.check.run({
      id,
      checkedAt: c.checkedAt,
      nextCheckAt: c.nextCheckAt,
      changedAt: c.changedAt ?? null,
      publishedAt: c.publishedAt ?? null,
      setValidators: c.etag !== undefined || c.lastModified !== undefined ? 1 : 0,
      etag: c.etag ?? null,
      lastModified: c.lastModified ?? null,
      setMissing: c.missingCount !== undefined ? 1 : 0,
      missingCount: c.missingCount ?? 0,
      missingAt: c.missingAt ?? null,
      lastError: c.lastError ?? null,
      now: nowIso(),
    });
  }

  setArchived(id: string, url: string, at: ArchivedAt): void {
    this.stmts.archived.run({ id, url, day: dayOf(url), file: at.file, offset: at.offset, length: at.length, now: nowIso() });
  }

  archivedPage(options: { limit: number; after?: WorkCursor; since?: string; until?: string; ids?: readonly string[] }): ArticleRecord[] {
    if (options.ids) {
      const wanted = [...options.ids].sort().filter((id) => !options.after || id > options.after.id).slice(0, options.limit);
      return wanted.map((id) => this.get(id)).filter((r): r is ArticleRecord => r?.archived != null);
    }
    return this.stmts.archivedPage
      .all({ limit: options.limit, afterDay: options.after?.day ?? '', afterId: options.after?.id ?? '', since: options.since ?? '', until: options.until ?? '99999999' })
      .map(toRecord);
  }

  countArchived(options: { since?: string; until?: string }): number {
    return this.stmts.countArchived.get({ since: options.since ?? '', until: options.until ?? '99999999' })?.n ?? 0;
  }

  markFailed(id: string, url: string, error: string): void {
    this.setState({ id, url, state: 'failed', last_error: error });
  }

  markSkipped(id: string, url: string, reason: string): void {
    this.setState({ id, url, state: 'skipped', reason });
  }

  markBlocked(id: string, url: string, reason: string): void {
    this.setState({ id, url, state: 'pending', last_error: `blocked: ${reason}` });
  }

  events(id: string): EventRecord[] {
    return this.stmts.events.all(id).map((e) => ({
      offset: e.line_offset,
      id: e.id,
      event: e.event,
      at: e.at,
      sha256: e.sha256,
      previousSha256: e.previous_sha256,
      bytes: e.bytes,
      path: e.path,
      modifiedTime: e.modified_time,
      reason: e.reason,
    }));
  }

  validators(source: string): SourceValidators | undefined {
    const row = this.stmts.getSource.get(source);
    return row ? { etag: row.etag, lastModified: row.last_modified, body: row.body } : undefined;
  }

  saveValidators(source: string, v: SourceValidators): void {
    this.stmts.putSource.run(source, v.etag, v.lastModified, v.body, nowIso());
  }

  beginRun(kind: string): number {
    return Number(this.stmts.beginRun.run(kind, nowIso()).lastInsertRowid);
  }

  endRun(id: number, status: string, summary: unknown): void {
    this.stmts.endRun.run(nowIso(), status, JSON.stringify(summary), id);
  }

  unfinishedRuns(): RunRecord[] {
    return this.stmts.unfinished.all().map(toRun);
  }

  recentRuns(limit: number): RunRecord[] {
    return this.stmts.recent.all(limit).map(toRun);
  }

  getMeta(key: string): string | undefined {
    return this.stmts.getMeta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.stmts.setMeta.run(key, value);
  }

  countByState(): Record<ArticleState, number> {
    const out: Record<ArticleState, number> = { pending: 0, done: 0, failed: 0, skipped: 0, gone: 0 };
    for (const row of this.stmts.counts.all()) out[row.state] = row.n;
    return out;
  }

  close(): void {
    this.db.close();
  }

  private setState(change: { id: string; url: string; state: ArticleState; last_error?: string; reason?: string }): void {
    this.stmts.upsertState.run({
      id: change.id,
      url: change.url,
      day: dayOf(change.url),
      state: change.state,
      attempts: change.state === 'failed' ? 1 : 0,
      last_error: change.last_error ?? null,
      reason: change.reason ?? null,
      now: nowIso(),
    });
  }
}

function dayOf(url: string): string {
  return /\/(\d{8})\//.exec(url)?.[1] ?? '';
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toRecord(row: ArticleRow): ArticleRecord {
  return {
    id: row.id,
    url: row.url,
    day: row.day,
    state: row.state,
    attempts: row.attempts,
    lastError: row.last_error,
    reason: row.reason,
    sha256: row.sha256,
    path: row.path,
    title: row.title,
    capturedAt: row.captured_at,
    modifiedTime: row.modified_time,
    publishedAt: row.published_at,
    changedAt: row.changed_at,
    checkedAt: row.checked_at,
    nextCheckAt: row.next_check_at,
    etag: row.etag,
    lastModified: row.last_modified,
    missingCount: row.missing_count,
    missingAt: row.missing_at,
    goneAt: row.gone_at,
    lastmod: row.lastmod,
    archived: row.archived_file ? { file: row.archived_file, offset: row.archived_offset ?? 0, length: row.archived_length ?? 0 } : null,
  };
}

function toRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    kind: row.kind,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    status: row.status,
    summary: row.summary ? JSON.parse(row.summary) : null,
  };
}
