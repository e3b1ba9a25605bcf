import type Database from 'better-sqlite3';
import type { ArticleRecord, ArticleState, EventRecord, RunRecord } from './state-types.js';

/** The store's SQL, prepared once per connection, and the rows it reads turned into records. */

export interface ArticleRow {
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
  title_key: string | null;
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

export interface EventRow {
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

export interface RunRow {
  id: number;
  kind: string;
  started_at: string;
  finished_at: string | null;
  status: string | null;
  summary: string | null;
}

export type Statements = ReturnType<typeof prepareStatements>;

export function prepareStatements(db: Database.Database) {
  return {
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
      `INSERT INTO articles (id, url, day, state, sha256, path, title, title_key, captured_at, modified_time, discovered_at, updated_at)
       VALUES (@id, @url, @day, 'done', @sha256, @path, @title, @titleKey, @at, @modified, @now, @now)
       ON CONFLICT (id) DO UPDATE SET url = excluded.url,
         state = CASE WHEN @event = 'reextracted' AND articles.state = 'gone' THEN 'gone' ELSE 'done' END,
         attempts = 0, last_error = NULL, reason = NULL,
         sha256 = excluded.sha256, path = excluded.path, title = COALESCE(excluded.title, articles.title),
         title_key = COALESCE(excluded.title_key, articles.title_key),
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
    recentOfKind: db.prepare<[string, number], EventRow & { url: string; title: string | null }>(
      `SELECT e.*, a.url, a.title FROM events e JOIN articles a ON a.id = e.id WHERE e.event = ? ORDER BY e.line_offset DESC LIMIT ?`,
    ),
    perDay: db.prepare<[string, string], { day: string; event: EventRow['event']; count: number }>(
      `SELECT date(at, ?) AS day, event, COUNT(*) AS count FROM events WHERE at >= ? GROUP BY day, event ORDER BY day`,
    ),
    errors: db.prepare<[string], { error: string; state: ArticleState; count: number; lastAt: string }>(
      `SELECT last_error AS error, state, COUNT(*) AS count, MAX(updated_at) AS lastAt FROM articles
       WHERE last_error IS NOT NULL AND updated_at >= ? GROUP BY last_error, state ORDER BY count DESC LIMIT 500`,
    ),
    byTitle: db.prepare<[string, number], ArticleRow>(`SELECT * FROM articles WHERE title_key LIKE ? ESCAPE '\\' ORDER BY day DESC, id DESC LIMIT ?`),
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

export function toEvent(e: EventRow): EventRecord {
  return {
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
  };
}

/** Titles are searched in lower case as Turkish writes it (İ → i, I → ı), so any spelling finds them. */
export function searchKey(text: string): string {
  return text.toLocaleLowerCase('tr');
}

export function dayOf(url: string): string {
  return /\/(\d{8})\//.exec(url)?.[1] ?? '';
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function toRecord(row: ArticleRow): ArticleRecord {
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

export function toRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    kind: row.kind,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    status: row.status,
    summary: row.summary ? JSON.parse(row.summary) : null,
  };
}
