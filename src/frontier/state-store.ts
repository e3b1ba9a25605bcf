import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { nowIso } from '../clock/clock.js';
import type { ArticleRef } from '../site/site-urls.js';

export type ArticleState = 'pending' | 'done' | 'failed' | 'skipped';

export interface ArticleRecord {
  id: string;
  url: string;
  day: string;
  state: ArticleState;
  /** Runs whose attempts at this article all failed. */
  attempts: number;
  lastError: string | null;
  reason: string | null;
  sha256: string | null;
  path: string | null;
}

export interface SourceValidators {
  etag: string | null;
  lastModified: string | null;
  /** The body last seen, for sources that must be re-read when unchanged (robots.txt). */
  body: string | null;
}

export interface RunRecord {
  id: number;
  kind: string;
  startedAt: string;
  finishedAt: string | null;
  status: string | null;
  summary: unknown;
}

/**
 * What a crawl remembers between runs. The default is SQLite in WAL mode: embedded (no server
 * to run beside a cron job), transactional (a kill -9 loses no committed state), and it pages
 * through 100 000 ids without holding them in memory. A shared store (Redis) for cooperating
 * workers implements the same interface.
 */
export interface StateStore {
  /** Records newly discovered articles as pending; known ids are left as they are. Returns how many were new. */
  addDiscovered(refs: Iterable<ArticleRef>): number;
  get(id: string): ArticleRecord | undefined;
  /** Pending articles and failed ones with fewer than `maxFailedRuns` failed runs, newest day first, after the cursor. */
  work(options: { limit: number; maxFailedRuns: number; after?: WorkCursor; since?: string; until?: string }): ArticleRecord[];
  countWork(options: { maxFailedRuns: number; since?: string; until?: string }): number;
  markDone(id: string, url: string, snapshot: { path: string; sha256: string }): void;
  markFailed(id: string, url: string, error: string): void;
  markSkipped(id: string, url: string, reason: string): void;
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

export interface WorkCursor {
  day: string;
  id: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS articles (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  day TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'skipped')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  reason TEXT,
  sha256 TEXT,
  path TEXT,
  discovered_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS articles_work ON articles (state, day, id);
CREATE TABLE IF NOT EXISTS sources (
  url TEXT PRIMARY KEY,
  etag TEXT,
  last_modified TEXT,
  body TEXT,
  checked_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT,
  summary TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

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
}

interface RunRow {
  id: number;
  kind: string;
  started_at: string;
  finished_at: string | null;
  status: string | null;
  summary: string | null;
}

export class SqliteStateStore implements StateStore {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(storageDir: string) {
    mkdirSync(storageDir, { recursive: true });
    this.db = new Database(join(storageDir, 'state.sqlite'));
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode survives a killed process; only a power cut may drop the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    const db = this.db;
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO articles (id, url, day, state, discovered_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?) ON CONFLICT (id) DO NOTHING`,
      ),
      get: db.prepare<[string], ArticleRow>('SELECT * FROM articles WHERE id = ?'),
      upsertState: db.prepare(
        `INSERT INTO articles (id, url, day, state, attempts, last_error, reason, sha256, path, discovered_at, updated_at)
         VALUES (@id, @url, @day, @state, @attempts, @last_error, @reason, @sha256, @path, @now, @now)
         ON CONFLICT (id) DO UPDATE SET url = excluded.url, state = excluded.state,
           attempts = CASE WHEN excluded.state = 'failed' THEN articles.attempts + 1 ELSE articles.attempts END,
           last_error = excluded.last_error, reason = excluded.reason,
           sha256 = COALESCE(excluded.sha256, articles.sha256), path = COALESCE(excluded.path, articles.path),
           updated_at = excluded.updated_at`,
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
    };
  }

  addDiscovered(refs: Iterable<ArticleRef>): number {
    const now = nowIso();
    let added = 0;
    this.db.transaction(() => {
      for (const ref of refs) added += this.stmts.insert.run(ref.id, ref.url, ref.day, now, now).changes;
    })();
    return added;
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

  markDone(id: string, url: string, snapshot: { path: string; sha256: string }): void {
    this.setState({ id, url, state: 'done', sha256: snapshot.sha256, path: snapshot.path });
  }

  markFailed(id: string, url: string, error: string): void {
    this.setState({ id, url, state: 'failed', last_error: error });
  }

  markSkipped(id: string, url: string, reason: string): void {
    this.setState({ id, url, state: 'skipped', reason });
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
    const out: Record<ArticleState, number> = { pending: 0, done: 0, failed: 0, skipped: 0 };
    for (const row of this.stmts.counts.all()) out[row.state] = row.n;
    return out;
  }

  close(): void {
    this.db.close();
  }

  private setState(change: { id: string; url: string; state: ArticleState; last_error?: string; reason?: string; sha256?: string; path?: string }): void {
    const day = /\/(\d{8})\//.exec(change.url)?.[1] ?? '';
    this.stmts.upsertState.run({
      id: change.id,
      url: change.url,
      day,
      state: change.state,
      attempts: change.state === 'failed' ? 1 : 0,
      last_error: change.last_error ?? null,
      reason: change.reason ?? null,
      sha256: change.sha256 ?? null,
      path: change.path ?? null,
      now: nowIso(),
    });
  }
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
