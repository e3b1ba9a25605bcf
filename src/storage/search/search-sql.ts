import { docIdRange, FTS_TABLES } from './search-schema.js';

export type VersionsMode = 'current' | 'any' | 'removed' | 'added';

/** The SQL of the versions a query finds: `FROM … WHERE …` with `d` (docs), ordered by `key`. */
export interface MatchingSql {
  fts: string;
  sql: string;
  /** The doc id of each row, in the order the rows come (newest published first when descending). */
  key: string;
  params: { q: string; low: number; high: number };
}

/**
 * The FROM … WHERE of the versions a compiled query finds in one of the versions modes, one row
 * per article (its representative version):
 * - `current`: the current version matches;
 * - `any`: the newest matching version (no later version of the article matches);
 * - `removed`: a matching version that is not current, with no later version matching (so the
 *   current one does not);
 * - `added`: the current version matches and an earlier one does not.
 *
 * FTS5 runs the query once or twice per statement, never once per row: whether another version
 * matches is a lookup in the list of matching doc ids, which SQLite builds once per statement
 * (`IN (SELECT rowid …)`, an ephemeral index). A probe `g.rowid = n.doc_id AND g MATCH @q` per
 * version would expand every prefix of the query again at each row.
 *
 * `current` and `any` walk the matches in FTS5's rowid order (newest published first), so a first
 * page stops after `limit` rows. `removed` and `added` walk the other way, the few versions that
 * can qualify (earlier versions; current versions of edited articles) through an index in doc id
 * order, each checked against the match list: a page stops after `limit` hits without listing
 * every match of a common word, and their counts read no more than those versions.
 */
export function matchingVersions(f: { versions?: VersionsMode; since?: string; until?: string; exact?: boolean }, query: string, before: number | null): MatchingSql {
  const fts = f.exact ? FTS_TABLES.exact.table : FTS_TABLES.folded.table;
  const range = docIdRange(f.since, f.until);
  const params = { q: query, low: range.low, high: before === null ? range.high : Math.min(range.high, before - 1) };
  const matches = `(SELECT rowid FROM ${fts} WHERE ${fts} MATCH @q)`;
  // The unary `+`s keep these tests lookups in the list: the versions drive, the list never does.
  const isMatch = (doc: string) => `+${doc} IN ${matches}`;
  const laterMatch = `EXISTS (SELECT 1 FROM docs n WHERE n.article_id = d.article_id AND n.seq > d.seq AND ${isMatch('n.doc_id')})`;
  const earlierMiss = `EXISTS (SELECT 1 FROM docs p WHERE p.article_id = d.article_id AND p.seq < d.seq AND NOT ${isMatch('p.doc_id')})`;
  // `+d.current`: the flag never picks an index there; the matches drive (CROSS JOIN keeps FTS5 outside).
  const byMatches = (where: string): MatchingSql => ({
    fts,
    sql: `FROM ${fts} f CROSS JOIN docs d ON d.doc_id = f.rowid WHERE f.${fts} MATCH @q AND f.rowid BETWEEN CAST(@low AS INTEGER) AND CAST(@high AS INTEGER) AND ${where}`,
    key: 'f.rowid',
    params,
  });
  // INDEXED BY: the index of the versions that can qualify, in doc id order (docs_edited is partial).
  // The lookup in the list before the other versions' (most rows fail it).
  const byVersions = (index: string, versions: string, where: string): MatchingSql => ({
    fts,
    sql: `FROM docs d INDEXED BY ${index} WHERE ${versions} AND d.doc_id BETWEEN @low AND @high AND ${isMatch('d.doc_id')} AND ${where}`,
    key: 'd.doc_id',
    params,
  });
  switch (f.versions ?? 'current') {
    case 'current':
      return byMatches('+d.current = 1');
    case 'any':
      return byMatches(`NOT ${laterMatch}`);
    case 'removed':
      return byVersions('docs_current', 'd.current = 0', `NOT ${laterMatch}`);
    case 'added':
      return byVersions('docs_edited', 'd.current = 1 AND d.version > 1', earlierMiss);
  }
}
