import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { marksOf, MARK_CLOSE, MARK_OPEN, snippetOf, type Marked } from '../../search/highlight.js';
import { compileQuery } from '../../search/query.js';
import { docIdRange, FTS_TABLES, INDEXED_SEQ, registerFolds, SEARCH_FILE, SEARCH_SCHEMA_VERSION, SEQ_BITS } from './search-schema.js';
import { matchingVersions, type VersionsMode } from './search-sql.js';
import { IndexLagReader, type IndexLag } from './index-lag.js';

export type { IndexLag, VersionsMode };
export const VERSIONS_MODES: readonly VersionsMode[] = ['current', 'any', 'removed', 'added'];

/** What to look for: the query (docs/search.md), which versions, published dates, the fold mode. */
export interface SearchFilter {
  query: string;
  /**
   * `current` (default): the articles' current versions match; `any`: some version matches (the
   * newest that does is shown); `removed`: an earlier version matched and the current one does
   * not (edited out); `added`: the current one matches and an earlier one did not.
   */
  versions?: VersionsMode;
  /** Published from / to (inclusive), `YYYY-MM-DD`. */
  since?: string;
  until?: string;
  /** ı and i, ş and s… differ (see fold.ts). */
  exact?: boolean;
}

/** One article found: the version that matched, with its title and a snippet from the original text. */
export interface SearchHit {
  id: string;
  url: string;
  title: Marked;
  snippet: Marked;
  /** Publication date, `YYYY-MM-DD`. */
  published: string;
  /** The matching version's number (1 for the first), and how many the article has. */
  version: number;
  versions: number;
  capturedAt: string;
  /** The matching version is the article's current one. */
  current: boolean;
  /** The article was removed from the site. */
  gone: boolean;
}

export interface SearchPage {
  hits: SearchHit[];
  /** Give it as `after` for the next page; null after the last. */
  next: string | null;
  /** How far the index is behind the manifest as the page was read (its results miss those lines). */
  index: IndexLag;
}

interface DocRow {
  doc_id: number;
  article_id: string;
  version: number;
  url: string;
  published: string;
  captured_at: string;
  current: number;
  gone: number;
  title: string;
  description: string | null;
  body: string;
  ht: string | null;
  hd: string | null;
  hb: string | null;
  versions: number;
}

/** A search index that is not there to read: says what builds it. */
export class SearchUnavailable extends Error {
  override readonly name = 'SearchUnavailable';
}

/** A cursor this index did not give. */
export class BadCursor extends Error {
  override readonly name = 'BadCursor';
}

export const MAX_PAGE = 100;

/**
 * Reads the search index on a connection of its own, read-only: beside a running crawl or serve
 * (which write it), without the storage lock. Results come newest published first; a page ends
 * with a cursor (the last doc id) that the next page starts below.
 */
export class SearchReader {
  /** Statements by their SQL: a query's shape (mode, fold) repeats, its words are parameters. */
  private readonly statements = new Map<string, Database.Statement>();
  private readonly lagReader: IndexLagReader;

  private constructor(
    readonly db: Database.Database,
    readonly root: string,
  ) {
    this.lagReader = new IndexLagReader(root, () => this.indexedSeq());
  }

  private prepare<P extends unknown[] | {}, R>(sql: string): Database.Statement<P, R> {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s as unknown as Database.Statement<P, R>;
  }

  static open(root: string): SearchReader {
    const path = join(root, SEARCH_FILE);
    if (!existsSync(path)) throw new SearchUnavailable(`no search index at ${path}: run newsnap index --rebuild (a crawl, fetch or serve builds it too, unless search.index is off)`);
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version !== SEARCH_SCHEMA_VERSION) throw new SearchUnavailable(`the search index ${path} has schema ${version}, this newsnap reads ${SEARCH_SCHEMA_VERSION}: run newsnap index --rebuild`);
      registerFolds(db);
      return new SearchReader(db, root);
    } catch (err) {
      db.close();
      if (err instanceof SearchUnavailable) throw err;
      throw new SearchUnavailable(`the search index ${path} cannot be read (${(err as { code?: string }).code ?? (err as Error).message}): run newsnap index --rebuild`);
    }
  }

  /** The `seq` of the last manifest line the index holds. */
  indexedSeq(): number {
    const row = this.db.prepare(`SELECT value FROM meta WHERE key = ?`).get(INDEXED_SEQ) as { value: string } | undefined;
    return Number(row?.value ?? '0');
  }

  /** How many manifest lines the index is behind (off for a run, damaged, catching up): see index-lag.ts. */
  lag(): IndexLag {
    return this.lagReader.lag();
  }

  /** What the index holds: versions, articles, and the last manifest line. */
  stats(): { versions: number; articles: number; current: number; seq: number } {
    const row = this.db.prepare(`SELECT COUNT(*) AS versions, COUNT(DISTINCT article_id) AS articles, COALESCE(SUM(current), 0) AS current FROM docs`).get() as { versions: number; articles: number; current: number };
    return { ...row, seq: this.indexedSeq() };
  }

  /** One page of articles; throws QueryError for a query that cannot be parsed, BadCursor for a cursor it cannot read. */
  search(f: SearchFilter, page: { limit?: number; after?: string } = {}): SearchPage {
    const limit = Math.max(1, Math.min(MAX_PAGE, page.limit ?? 20));
    const before = page.after ? decodeCursor(page.after) : null;
    const q = compileQuery(f.query, f.exact ? 'exact' : 'folded');
    const { fts, sql, key, params } = matchingVersions(f, q, before);
    // The page's doc ids first (keyset: below the cursor, `limit` + 1 of them), then their highlights.
    const ids = this.prepare<Record<string, unknown>, { doc_id: number }>(`SELECT ${key} AS doc_id ${sql} ORDER BY ${key} DESC LIMIT @limit`).all({ ...params, limit: limit + 1 });
    const hits = this.hitsOf(fts, q, ids.slice(0, limit)).map(toHit);
    const last = ids.length > limit ? ids[limit - 1] : undefined;
    return { hits, next: last ? encodeCursor(last.doc_id) : null, index: this.lag() };
  }

  /** Day numbers (see search-schema.ts) with the articles matching on each: the count over time's raw series. */
  countByDay(f: SearchFilter): Map<number, number> {
    const { sql, key, params } = matchingVersions(f, compileQuery(f.query, f.exact ? 'exact' : 'folded'), null);
    const rows = this.prepare<Record<string, unknown>, { day: number; n: number }>(`SELECT ${key} >> ${SEQ_BITS} AS day, COUNT(*) AS n ${sql} GROUP BY day`).all(params);
    return new Map(rows.map((r) => [r.day, r.n]));
  }

  /** Articles published on each day (their current versions), for the ratio of a count. */
  totalsByDay(f: Pick<SearchFilter, 'since' | 'until'>): Map<number, number> {
    const rows = this
      .prepare<Record<string, unknown>, { day: number; n: number }>(`SELECT doc_id >> ${SEQ_BITS} AS day, COUNT(*) AS n FROM docs WHERE current = 1 AND doc_id BETWEEN @low AND @high GROUP BY day`)
      .all(docIdRange(f.since, f.until));
    return new Map(rows.map((r) => [r.day, r.n]));
  }

  /**
   * The newest matching versions by when they were written (manifest order), for a feed of a
   * query's new matches: a new article or an edit that matches (a reextraction is no news).
   */
  newestMatches(f: Pick<SearchFilter, 'query' | 'exact'>, limit: number): Array<SearchHit & { seq: number; event: string }> {
    const fts = f.exact ? FTS_TABLES.exact.table : FTS_TABLES.folded.table;
    const q = compileQuery(f.query, f.exact ? 'exact' : 'folded');
    // The ids first (no highlight for every match of a common word), then each one's highlights.
    const ids = this.prepare<[string, number], { doc_id: number }>(`SELECT d.doc_id FROM ${fts} f CROSS JOIN docs d ON d.doc_id = f.rowid WHERE f.${fts} MATCH ? AND d.event <> 'reextracted' ORDER BY d.seq DESC LIMIT ?`).all(q, limit);
    return this.hitsOf(fts, q, ids).map((row) => ({ ...toHit(row), seq: row.seq, event: row.event }));
  }

  /**
   * The rows of these matching versions with their highlights, in their order: one FTS5 probe
   * each, for a page. The CAST: better-sqlite3 binds a number as a REAL, and FTS5 drops a rowid
   * constraint that is not an integer (it would give the first match, whatever the id).
   */
  private hitsOf(fts: string, q: string, ids: ReadonlyArray<{ doc_id: number }>): Array<DocRow & { seq: number; event: string }> {
    const one = this.prepare<[string, number], DocRow & { seq: number; event: string }>(
      `SELECT d.*, highlight(f.${fts}, 0, '${MARK_OPEN}', '${MARK_CLOSE}') AS ht, highlight(f.${fts}, 1, '${MARK_OPEN}', '${MARK_CLOSE}') AS hd,
         highlight(f.${fts}, 2, '${MARK_OPEN}', '${MARK_CLOSE}') AS hb, (SELECT MAX(v.version) FROM docs v WHERE v.article_id = d.article_id) AS versions
       FROM ${fts} f CROSS JOIN docs d ON d.doc_id = f.rowid WHERE f.${fts} MATCH ? AND f.rowid = CAST(? AS INTEGER)`,
    );
    return ids.flatMap(({ doc_id }) => {
      const row = one.get(q, doc_id);
      return row ? [row] : [];
    });
  }

  close(): void {
    this.lagReader.close();
    this.db.close();
  }
}

function toHit(r: DocRow): SearchHit {
  const body = marksOf(r.body, r.hb);
  const description = r.description === null ? null : marksOf(r.description, r.hd);
  // The snippet comes from the body, or from the description when only it matched.
  const from = body.marks.length === 0 && description && description.marks.length > 0 ? description : body;
  return {
    id: r.article_id,
    url: r.url,
    title: marksOf(r.title, r.ht),
    snippet: snippetOf(from),
    published: r.published,
    version: r.version,
    versions: r.versions,
    capturedAt: r.captured_at,
    current: r.current === 1,
    gone: r.gone === 1,
  };
}

function encodeCursor(docId: number): string {
  return `c${docId.toString(36)}`;
}

function decodeCursor(cursor: string): number {
  const n = /^c[0-9a-z]{1,12}$/.test(cursor) ? parseInt(cursor.slice(1), 36) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new BadCursor(`${JSON.stringify(cursor.slice(0, 40))} is not a cursor a search gave (give the "next" of the page before)`);
  return n;
}
