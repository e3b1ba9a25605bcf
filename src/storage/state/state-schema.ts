import type Database from 'better-sqlite3';

/**
 * The state store's tables, and the migration of a store written by an earlier newsnap. The
 * version lives in SQLite's `user_version`; a migration runs once, in one transaction.
 */
export const SCHEMA_VERSION = 5;

const ARTICLES = `
CREATE TABLE articles (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  day TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'skipped', 'gone')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  reason TEXT,
  sha256 TEXT,
  path TEXT,
  title TEXT,
  title_key TEXT,
  captured_at TEXT,
  published_at TEXT,
  modified_time TEXT,
  changed_at TEXT,
  checked_at TEXT,
  next_check_at TEXT,
  etag TEXT,
  last_modified TEXT,
  missing_count INTEGER NOT NULL DEFAULT 0,
  missing_at TEXT,
  gone_at TEXT,
  lastmod TEXT,
  sitemap_month TEXT,
  sitemap_gen INTEGER,
  archived_file TEXT,
  archived_offset INTEGER,
  archived_length INTEGER,
  given_up_at TEXT,
  discovered_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX articles_work ON articles (state, day, id);
CREATE INDEX articles_due ON articles (next_check_at, id) WHERE next_check_at IS NOT NULL;
CREATE INDEX articles_listing ON articles (sitemap_month, sitemap_gen) WHERE sitemap_month IS NOT NULL;
CREATE INDEX articles_archived ON articles (day, id) WHERE archived_file IS NOT NULL;
CREATE INDEX articles_errors ON articles (updated_at) WHERE last_error IS NOT NULL;
`;

const REST = `
CREATE TABLE IF NOT EXISTS events (
  line_offset INTEGER PRIMARY KEY,
  seq INTEGER,
  id TEXT NOT NULL,
  event TEXT NOT NULL,
  at TEXT NOT NULL,
  sha256 TEXT,
  previous_sha256 TEXT,
  bytes INTEGER,
  path TEXT,
  modified_time TEXT,
  reason TEXT
);
CREATE INDEX IF NOT EXISTS events_article ON events (id, line_offset);
CREATE INDEX IF NOT EXISTS events_time ON events (at);
CREATE INDEX IF NOT EXISTS events_kind ON events (event, line_offset);
CREATE UNIQUE INDEX IF NOT EXISTS events_seq ON events (seq);
CREATE TABLE IF NOT EXISTS deliveries (
  endpoint TEXT NOT NULL,
  seq INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at TEXT,
  last_status INTEGER,
  last_error TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (endpoint, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (endpoint, next_at, seq) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_dead ON deliveries (endpoint, seq) WHERE state = 'dead';
CREATE INDEX IF NOT EXISTS deliveries_done ON deliveries (updated_at) WHERE state = 'delivered';
CREATE TABLE IF NOT EXISTS delivery_totals (
  endpoint TEXT PRIMARY KEY,
  delivered INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS webhook_endpoints (
  url TEXT PRIMARY KEY,
  disabled_at TEXT,
  disabled_reason TEXT
);
CREATE INDEX IF NOT EXISTS articles_captured ON articles (day, id) WHERE sha256 IS NOT NULL AND path IS NOT NULL;
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
CREATE INDEX IF NOT EXISTS articles_published ON articles (published_at) WHERE published_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS warc_payloads (
  url TEXT PRIMARY KEY,
  digest TEXT NOT NULL,
  record_id TEXT NOT NULL,
  date TEXT NOT NULL,
  file TEXT NOT NULL,
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** The first schema had no versions, schedule or `gone` state: its articles are carried over. */
const FROM_V0 = `
ALTER TABLE articles RENAME TO articles_v0;
DROP INDEX IF EXISTS articles_work;
${ARTICLES}
INSERT INTO articles (id, url, day, state, attempts, last_error, reason, sha256, path, captured_at, discovered_at, updated_at)
  SELECT id, url, day, state, attempts, last_error, reason, sha256, path, CASE WHEN state = 'done' THEN updated_at END, discovered_at, updated_at FROM articles_v0;
DROP TABLE articles_v0;
`;

/**
 * Schema 1 had no slow retry of articles that used up their runs, and counted a run against an
 * article when the site could not be reached at all. Those failures are forgiven: an article whose
 * last error was a network failure (DNS, connection, timeout, proxy) is pending again.
 */
const NETWORK_ERRORS = [
  '%: host not found (%',
  '%: connection failed (%',
  '% timed out (%',
  '%: proxy % could not be resolved (%',
  '%: proxy % refused the connection (%',
  '%: proxy % did not answer (%',
  '%: connection to proxy % failed (%',
  '%: browser render timed out %',
  '%: browser navigation failed (net::ERR_%',
];
const FROM_V1 = `ALTER TABLE articles ADD COLUMN given_up_at TEXT;`;
const FORGIVE_NETWORK_FAILURES = `
UPDATE articles SET state = 'pending', attempts = 0
  WHERE state = 'failed' AND (${NETWORK_ERRORS.map((p) => `last_error LIKE '${p}'`).join(' OR ')});
`;

/**
 * Builds before robots.txt had one judge made an article it disallowed `skipped` for ever; now it
 * waits as it was. Once per store, at a writer's open (RELEASED_DISALLOWED in meta): such articles
 * are pending again, their runs forgotten, for the first run robots.txt allows them.
 */
export const RELEASE_DISALLOWED = `UPDATE articles SET state = 'pending', reason = NULL, attempts = 0, given_up_at = NULL, next_check_at = NULL
  WHERE state = 'skipped' AND reason = 'disallowed by robots.txt'`;
/** Meta key: RELEASE_DISALLOWED has run on this store. */
export const RELEASED_DISALLOWED = 'fix.disallowedReleased';

/** Meta key of the manifest bytes already applied to state. */
export const MANIFEST_OFFSET = 'manifest.offset';
/** Meta key of the `seq` of the last manifest line applied to state. */
export const MANIFEST_SEQ = 'manifest.seq';

/** What opening a store written by an earlier newsnap did to it. */
export interface Migration {
  /** The schema it had. */
  from: number;
  /** Articles that had failed only because the site could not be reached: pending again. */
  forgiven: number;
}

/** A state store this newsnap cannot use as it is: nothing was read or written. */
export class StateVersionError extends Error {
  override readonly name = 'StateVersionError';
}

/**
 * A store only read (verify, export, events, history) is never migrated: one written by an older
 * newsnap is refused, naming the command that upgrades it, rather than failing on a missing table.
 */
export function requireCurrentSchema(db: Database.Database, where: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) throw newerStore(version, where);
  if (version < SCHEMA_VERSION) {
    throw new StateVersionError(
      `${where} was written by an older newsnap (schema ${version}, this one reads ${SCHEMA_VERSION}) and is upgraded only by a command that writes: run newsnap crawl (or fetch) on it once`,
    );
  }
}

function newerStore(version: number, where: string): StateVersionError {
  return new StateVersionError(`${where} was written by a newer newsnap (schema ${version}, this one knows ${SCHEMA_VERSION}): upgrade newsnap`);
}

/** Creates the tables, or migrates an older store (and says what it did). */
export function ensureSchema(db: Database.Database, where: string): Migration | null {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SCHEMA_VERSION) return null;
  if (version > SCHEMA_VERSION) throw newerStore(version, where);
  const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'articles'`).get() !== undefined;
  let forgiven = 0;
  db.transaction(() => {
    if (!exists) db.exec(ARTICLES);
    else if (version === 0) db.exec(FROM_V0);
    else if (version === 1) db.exec(FROM_V1);
    if (exists && version < 2) forgiven = db.prepare(FORGIVE_NETWORK_FAILURES).run().changes;
    // Schema 3 numbers the manifest's lines (seq): the storage fills the column from the manifest.
    const events = db.prepare(`SELECT name FROM pragma_table_info('events')`).all() as Array<{ name: string }>;
    if (events.length > 0 && !events.some((c) => c.name === 'seq')) {
      db.exec('ALTER TABLE events ADD COLUMN seq INTEGER');
      db.prepare(`DELETE FROM meta WHERE key = ?`).run(MANIFEST_SEQ);
    }
    const totals = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'delivery_totals'`).get() !== undefined;
    db.exec(REST);
    // Schema 5 counts delivered webhooks in a total (delivered rows are pruned): it starts from the rows there are.
    if (!totals) db.exec(`INSERT INTO delivery_totals (endpoint, delivered) SELECT endpoint, COUNT(*) FROM deliveries WHERE state = 'delivered' GROUP BY endpoint`);
    // The events table starts empty: the whole manifest is applied again at open, which fills it
    // (applying a line is idempotent).
    if (exists && version === 0) db.prepare(`DELETE FROM meta WHERE key = ?`).run(MANIFEST_OFFSET);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
  return exists ? { from: version, forgiven } : null;
}
