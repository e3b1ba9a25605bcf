import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteArticles, type ArticleStore } from './article-store.js';
import { SqliteFrontier, type FrontierStore } from './frontier-store.js';
import { SqliteOutbox, type OutboxStore } from './outbox-store.js';
import { SqlitePayloads, type PayloadStore } from './payload-store.js';
import { SqliteReports, type ReportStore } from './report-store.js';
import { SqliteMeta, SqliteRuns, SqliteSources, type MetaStore, type RunStore, type SourceStore } from './run-store.js';
import { ensureSchema, RELEASE_DISALLOWED, RELEASED_DISALLOWED, requireCurrentSchema, type Migration } from './state-schema.js';

export type * from './state-types.js';
export type { ArticleStore, FrontierStore, MetaStore, OutboxStore, PayloadStore, ReportStore, RunStore, SourceStore };

/**
 * What a storage folder remembers between runs, by concern: the frontier (what to work on),
 * articles and their versions, runs, discovery sources' validators, the status page's reports,
 * and a few facts. The default is SQLite in WAL mode: embedded (no server to run beside a cron
 * job), transactional (a kill -9 loses no committed state), and it pages through 100 000 ids
 * without holding them in memory. A shared store (Redis) for cooperating workers implements the
 * same interfaces.
 */
export interface State {
  readonly frontier: FrontierStore;
  readonly articles: ArticleStore;
  readonly runs: RunStore;
  readonly sources: SourceStore;
  readonly reports: ReportStore;
  readonly meta: MetaStore;
  /** Webhook deliveries, one per endpoint and manifest event. */
  readonly outbox: OutboxStore;
  /** The last archived payload of each URL (what a WARC revisit record refers to). */
  readonly payloads: PayloadStore;
  /** Runs `work` as one transaction: all its writes, or none. */
  transaction<T>(work: () => T): T;
  /** A small write that fails at once rather than wait for another process's lock (a health probe). */
  probeWrite(key: string, value: string): void;
  /**
   * Whether writes wait for another process's lock (up to the busy timeout) or fail at once: while
   * state writes are known to fail, waiting would only block this thread (the HTTP API with it).
   */
  waitForLocks(wait: boolean): void;
  close(): void;
}

/** How long a write waits for another process's lock on the database (a `deliver --replay` beside `serve`). */
const BUSY_TIMEOUT_MS = 5000;

export class SqliteState implements State {
  private readonly db: Database.Database;
  readonly frontier: FrontierStore;
  readonly articles: ArticleStore;
  readonly runs: RunStore;
  readonly sources: SourceStore;
  readonly reports: ReportStore;
  readonly meta: MetaStore;
  readonly outbox: OutboxStore;
  readonly payloads: PayloadStore;
  /** What opening did to a store written by an earlier newsnap; null when it was current. */
  readonly migration: Migration | null;

  constructor(storageDir: string, options: { readonly?: boolean } = {}) {
    if (!options.readonly) mkdirSync(storageDir, { recursive: true });
    this.db = new Database(join(storageDir, 'state.sqlite'), options.readonly ? { readonly: true, fileMustExist: true } : {});
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode survives a killed process; only a power cut may drop the last commits.
      this.db.pragma('synchronous = NORMAL');
    }
    const where = join(storageDir, 'state.sqlite');
    if (options.readonly) requireCurrentSchema(this.db, where);
    this.migration = options.readonly ? null : ensureSchema(this.db, where);
    this.meta = new SqliteMeta(this.db);
    if (!options.readonly && this.meta.get(RELEASED_DISALLOWED) === undefined) {
      this.db.transaction(() => {
        this.db.prepare(RELEASE_DISALLOWED).run();
        this.meta.set(RELEASED_DISALLOWED, '1');
      })();
    }
    this.frontier = new SqliteFrontier(this.db, this.meta);
    this.articles = new SqliteArticles(this.db);
    this.runs = new SqliteRuns(this.db);
    this.sources = new SqliteSources(this.db);
    this.reports = new SqliteReports(this.db);
    this.outbox = new SqliteOutbox(this.db);
    this.payloads = new SqlitePayloads(this.db);
  }

  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  /**
   * A small write that never waits for a lock (a health probe): it fails at once while another
   * process holds the database, instead of blocking this thread for the busy timeout.
   */
  probeWrite(key: string, value: string): void {
    this.db.pragma('busy_timeout = 0');
    try {
      this.meta.set(key, value);
    } finally {
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
  }

  private busyTimeoutMs = BUSY_TIMEOUT_MS;

  waitForLocks(wait: boolean): void {
    this.busyTimeoutMs = wait ? BUSY_TIMEOUT_MS : 0;
    this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
  }

  /**
   * Begins a read transaction that a reader keeps across its awaits: every read until `end()` sees
   * state as it was at the first (WAL mode), whatever a writer beside it commits meanwhile.
   */
  readSnapshot(): { end(): void } {
    this.db.exec('BEGIN');
    // The snapshot is taken at the first read, not at BEGIN: read now.
    this.db.prepare('SELECT 1 FROM meta LIMIT 1').get();
    return { end: () => (this.db.inTransaction ? this.db.exec('COMMIT') : undefined) };
  }

  /** The connection, for a store that joins its transactions (the search index, attached to it). */
  get connection(): Database.Database {
    return this.db;
  }

  close(): void {
    this.db.close();
  }
}
