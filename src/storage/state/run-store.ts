import type Database from 'better-sqlite3';
import { nowIso } from '../../clock/clock.js';
import { toRun, type RunRow } from './state-rows.js';
import type { RunRecord, SourceValidators } from './state-types.js';

/** Crawl and reextract runs: when they began and ended, how, and their summaries. */
export interface RunStore {
  begin(kind: string): number;
  end(id: number, status: string, summary: unknown): void;
  /** Runs started but never ended (the process died). */
  unfinished(): RunRecord[];
  recent(limit: number): RunRecord[];
  /** The last run that finished `done` or `partial`. */
  lastSuccess(): RunRecord | undefined;
}

/** The validators (and, for robots.txt, the body) of discovery documents, for conditional requests. */
export interface SourceStore {
  get(source: string): SourceValidators | undefined;
  save(source: string, validators: SourceValidators): void;
  /** The source was read again and had not changed (a 304). */
  touch(source: string): void;
  /** When the source was last read (changed or not), or null. */
  checkedAt(source: string): string | null;
}

/** Small facts a storage folder keeps between runs (the manifest bytes applied, the last discovery day). */
export interface MetaStore {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

export class SqliteRuns implements RunStore {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      begin: db.prepare(`INSERT INTO runs (kind, started_at) VALUES (?, ?)`),
      end: db.prepare(`UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?`),
      unfinished: db.prepare<[], RunRow>(`SELECT * FROM runs WHERE finished_at IS NULL ORDER BY id`),
      recent: db.prepare<[number], RunRow>(`SELECT * FROM runs ORDER BY id DESC LIMIT ?`),
      lastSuccess: db.prepare<[], RunRow>(`SELECT * FROM runs WHERE finished_at IS NOT NULL AND status IN ('done', 'partial') ORDER BY id DESC LIMIT 1`),
    };
  }

  begin(kind: string): number {
    return Number(this.s.begin.run(kind, nowIso()).lastInsertRowid);
  }

  end(id: number, status: string, summary: unknown): void {
    this.s.end.run(nowIso(), status, JSON.stringify(summary), id);
  }

  unfinished(): RunRecord[] {
    return this.s.unfinished.all().map(toRun);
  }

  recent(limit: number): RunRecord[] {
    return this.s.recent.all(limit).map(toRun);
  }

  lastSuccess(): RunRecord | undefined {
    const row = this.s.lastSuccess.get();
    return row ? toRun(row) : undefined;
  }
}

export class SqliteSources implements SourceStore {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      get: db.prepare<[string], { etag: string | null; last_modified: string | null; body: string | null }>('SELECT etag, last_modified, body FROM sources WHERE url = ?'),
      put: db.prepare(
        `INSERT INTO sources (url, etag, last_modified, body, checked_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, body = excluded.body, checked_at = excluded.checked_at`,
      ),
      touch: db.prepare('UPDATE sources SET checked_at = ? WHERE url = ?'),
      checkedAt: db.prepare<[string], { checked_at: string }>('SELECT checked_at FROM sources WHERE url = ?'),
    };
  }

  touch(source: string): void {
    this.s.touch.run(nowIso(), source);
  }

  checkedAt(source: string): string | null {
    return this.s.checkedAt.get(source)?.checked_at ?? null;
  }

  get(source: string): SourceValidators | undefined {
    const row = this.s.get.get(source);
    return row ? { etag: row.etag, lastModified: row.last_modified, body: row.body } : undefined;
  }

  save(source: string, v: SourceValidators): void {
    this.s.put.run(source, v.etag, v.lastModified, v.body, nowIso());
  }
}

export class SqliteMeta implements MetaStore {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      get: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      set: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    };
  }

  get(key: string): string | undefined {
    return this.s.get.get(key)?.value;
  }

  set(key: string, value: string): void {
    this.s.set.run(key, value);
  }
}
