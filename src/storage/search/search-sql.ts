import { docIdRange, FTS_TABLES } from './search-schema.js';

export type VersionsMode = 'current' | 'any' | 'removed' | 'added';

/**
 * The FROM … WHERE of the versions a compiled query finds in one of the versions modes, one row
 * per article (its representative version), as `f` (the FTS table) joined to `d` (docs):
 * - `current`: the current version matches;
 * - `any`: the newest matching version (no later version of the article matches);
 * - `removed`: a matching version that is not current, with no later version matching (so the
 *   current one does not);
 * - `added`: the current version matches and an earlier one does not.
 * The correlated subqueries go through `docs_article` first (an article has a few versions), then
 * ask whether those versions match.
 */
export function matchingVersions(f: { versions?: VersionsMode; since?: string; until?: string; exact?: boolean }, query: string, before: number | null): { fts: string; sql: string; params: { q: string; low: number; high: number } } {
  const fts = f.exact ? FTS_TABLES.exact.table : FTS_TABLES.folded.table;
  const range = docIdRange(f.since, f.until);
  const high = before === null ? range.high : Math.min(range.high, before - 1);
  // A later version that matches, probed one rowid at a time: cheap for a first page that stops early (`any`).
  const laterMatch = `EXISTS (SELECT 1 FROM docs n CROSS JOIN ${fts} g ON g.rowid = n.doc_id WHERE n.article_id = d.article_id AND n.seq > d.seq AND g.${fts} MATCH @q)`;
  // The modes that pass over most matches (few are edits) ask against every match at once: the
  // rowids listed in one pass (an ephemeral index SQLite builds once per query), then one lookup each.
  const matches = `(SELECT rowid FROM ${fts} WHERE ${fts} MATCH @q)`;
  const laterListed = `EXISTS (SELECT 1 FROM docs n WHERE n.article_id = d.article_id AND n.seq > d.seq AND n.doc_id IN ${matches})`;
  const earlierMiss = `EXISTS (SELECT 1 FROM docs p WHERE p.article_id = d.article_id AND p.seq < d.seq AND p.doc_id NOT IN ${matches})`;
  // `+d.current`: the flag never picks an index; the matches drive the query (CROSS JOIN keeps FTS5 outside).
  const mode: Record<VersionsMode, string> = {
    current: '+d.current = 1',
    any: `NOT ${laterMatch}`,
    removed: `+d.current = 0 AND NOT ${laterListed}`,
    added: `+d.current = 1 AND ${earlierMiss}`,
  };
  return {
    fts,
    sql: `FROM ${fts} f CROSS JOIN docs d ON d.doc_id = f.rowid WHERE f.${fts} MATCH @q AND f.rowid BETWEEN @low AND @high AND ${mode[f.versions ?? 'current']}`,
    params: { q: query, low: range.low, high },
  };
}
