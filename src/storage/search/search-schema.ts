import type Database from 'better-sqlite3';
import { foldExact, foldTurkish } from '../../search/fold.js';
import { QUERY_LIMITS } from '../../search/query.js';

/**
 * The search index's tables, in `search.sqlite` beside state. One row per version in `docs`
 * (the original text, the body's blocks one per line); two FTS5 indexes over it as external
 * content: `fts` reads the text through `fold_tr` (İ, I, ı and i are one letter) with
 * `remove_diacritics 2`, `fts_exact` through `fold_exact` (Turkish lower case only) keeping
 * diacritics. The text is stored once; FTS5 reads it back folded (for highlight()) through the
 * two views, which call the fold functions every connection registers (registerFolds).
 */
export const SEARCH_FILE = 'search.sqlite';
/**
 * 2: FTS5 prefix indexes (PREFIX_INDEXES) and `docs_edited`. A file of another version is
 * rebuilt at the next start (SearchIndex.attach), and refused by readers until then.
 */
export const SEARCH_SCHEMA_VERSION = 2;

/**
 * The prefix lengths FTS5 keeps an index for, in characters, on the folded table only. FTS5 uses
 * one only for a prefix of exactly that length. The shortest prefix the query language allows (3)
 * spreads over thousands of terms, which FTS5 would otherwise merge at every probe; a longer one
 * spreads over few, and the main index's term order finds them. Each length costs every write
 * about the main index again, so the crawl pays for one length on one table: exact mode (rare)
 * expands its prefixes from the main index.
 */
export const PREFIX_INDEXES = [QUERY_LIMITS.prefixLetters] as const;

/** Meta key: the `seq` of the last manifest line the index has applied. */
export const INDEXED_SEQ = 'seq';
/** Meta key: the storage folder the index belongs to (state's `storage.id`). */
export const INDEX_STORAGE_ID = 'storage.id';

/**
 * `docs.doc_id`, the FTS rowid: the published day (days since 1990-01-01) above the manifest
 * line's `seq`. FTS5 walks rowids in order, so newest-published-first is its natural order and a
 * `--since/--until` range is a rowid range it seeks to, not a filter after the match.
 */
export const SEQ_BITS = 37;
const SEQ_SPAN = 2 ** SEQ_BITS;
const DAY_EPOCH_MS = Date.UTC(1990, 0, 1);
/** Days that fit beside the seq bits below 2^53 (JavaScript's exact integers): to 2079. */
const MAX_DAY = 2 ** (53 - SEQ_BITS) - 1;

/** Days since 1990-01-01 of a `YYYY-MM-DD` date (clamped to what a doc id holds). */
export function dayNumber(date: string): number {
  const ms = Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10)));
  const n = Math.floor((ms - DAY_EPOCH_MS) / 86_400_000);
  return Number.isFinite(n) ? Math.min(MAX_DAY, Math.max(0, n)) : 0;
}

/** `YYYY-MM-DD` of a day number. */
export function dateOfDay(day: number): string {
  return new Date(DAY_EPOCH_MS + day * 86_400_000).toISOString().slice(0, 10);
}

export function docId(date: string, seq: number): number {
  return dayNumber(date) * SEQ_SPAN + seq;
}

/** The doc ids of versions published from `since` to `until` (inclusive, `YYYY-MM-DD`). */
export function docIdRange(since?: string, until?: string): { low: number; high: number } {
  return { low: since ? dayNumber(since) * SEQ_SPAN : 0, high: until ? (dayNumber(until) + 1) * SEQ_SPAN - 1 : Number.MAX_SAFE_INTEGER };
}

export function dayOfDocId(id: number): number {
  return Math.floor(id / SEQ_SPAN);
}

/** The fold functions the views call: every connection that reads or writes the index registers them. */
export function registerFolds(db: Database.Database): void {
  db.function('fold_tr', { deterministic: true }, (s: unknown) => (typeof s === 'string' ? foldTurkish(s) : null));
  db.function('fold_exact', { deterministic: true }, (s: unknown) => (typeof s === 'string' ? foldExact(s) : null));
}

/** The FTS5 table of each fold mode, and its tokenizer. */
export const FTS_TABLES = {
  folded: { table: 'fts', view: 'docs_folded', fold: 'fold_tr', tokenize: 'unicode61 remove_diacritics 2', prefix: `, prefix='${PREFIX_INDEXES.join(' ')}'` },
  exact: { table: 'fts_exact', view: 'docs_exact', fold: 'fold_exact', tokenize: 'unicode61 remove_diacritics 0', prefix: '' },
} as const;

/** The schema in `schema` (the attached name, or `main`). */
export function createSearchSchema(db: Database.Database, schema: string): void {
  const s = schema;
  db.exec(`
CREATE TABLE IF NOT EXISTS ${s}.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ${s}.docs (
  doc_id INTEGER PRIMARY KEY,
  seq INTEGER NOT NULL UNIQUE,
  article_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  event TEXT NOT NULL,
  url TEXT NOT NULL,
  published TEXT NOT NULL,
  captured_at TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  current INTEGER NOT NULL,
  gone INTEGER NOT NULL,
  title TEXT NOT NULL,
  description TEXT,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ${s}.docs_article ON docs (article_id, seq);
CREATE INDEX IF NOT EXISTS ${s}.docs_current ON docs (current, doc_id);
-- The current versions of edited articles, newest published first: where \`added\` looks (few of all).
CREATE INDEX IF NOT EXISTS ${s}.docs_edited ON docs (doc_id) WHERE current = 1 AND version > 1;
${Object.values(FTS_TABLES)
  .map(
    (f) => `
CREATE VIEW IF NOT EXISTS ${s}.${f.view} AS
  SELECT doc_id, ${f.fold}(title) AS title, ${f.fold}(description) AS description, ${f.fold}(body) AS body FROM docs;
CREATE VIRTUAL TABLE IF NOT EXISTS ${s}.${f.table} USING fts5(title, description, body, content='${f.view}', content_rowid='doc_id', tokenize='${f.tokenize}'${f.prefix});`,
  )
  .join('\n')}
PRAGMA ${s}.user_version = ${SEARCH_SCHEMA_VERSION};
`);
}
