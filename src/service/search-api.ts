import { renderMarked, type Marked } from '../search/highlight.js';
import { QueryError } from '../search/query.js';
import { countOverTime, INTERVALS, type CountOverTime, type Interval } from '../storage/search/count-over-time.js';
import { BadCursor, MAX_PAGE, SearchUnavailable, VERSIONS_MODES, type IndexLag, type SearchFilter, type SearchHit, type SearchPage, type SearchReader, type VersionsMode } from '../storage/search/search-reader.js';
import { esc } from './pages/html.js';

/**
 * What `GET /search`, `GET /search/count` and `newsnap search` share: their parameters, checked
 * the same way (a wrong one is a 400, or exit 2, saying which and why), and their JSON.
 */
export interface SearchParams {
  filter: SearchFilter;
  limit: number;
  after?: string;
  interval?: Interval;
}

/** A parameter that cannot be used: the message names it. */
export class SearchParamError extends Error {
  override readonly name = 'SearchParamError';
}

/** The parameters from a getter (URL query or CLI flags), checked; throws SearchParamError. */
export function searchParams(get: (name: string) => string | null | undefined): SearchParams {
  const q = get('q') ?? '';
  if (!q.trim()) throw new SearchParamError('q is missing: give a query (words, "a phrase", seçim*, title:nato, a OR b, a NOT b)');
  const versions = get('versions') ?? 'current';
  if (!(VERSIONS_MODES as readonly string[]).includes(versions)) throw new SearchParamError(`versions must be one of ${VERSIONS_MODES.join(', ')}; got ${JSON.stringify(versions)}`);
  const since = day(get('since'), 'since');
  const until = day(get('until'), 'until');
  if (since && until && since > until) throw new SearchParamError(`since ${since} is after until ${until}`);
  const exact = flag(get('exact'), 'exact');
  const limitText = get('limit');
  const limit = limitText === null || limitText === undefined || limitText === '' ? 20 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new SearchParamError(`limit must be a whole number from 1 to ${MAX_PAGE}; got ${JSON.stringify(limitText)}`);
  const interval = get('interval') ?? undefined;
  if (interval !== undefined && !(INTERVALS as readonly string[]).includes(interval)) throw new SearchParamError(`interval must be one of ${INTERVALS.join(', ')}; got ${JSON.stringify(interval)}`);
  const after = get('after') || undefined;
  const filter: SearchFilter = { query: q, versions: versions as VersionsMode, exact, ...(since ? { since } : {}), ...(until ? { until } : {}) };
  return { filter, limit, ...(after ? { after } : {}), ...(interval ? { interval: interval as Interval } : {}) };
}

function day(value: string | null | undefined, name: string): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(value);
  const date = m ? `${m[1]}-${m[2]}-${m[3]}` : '';
  if (!m || Number.isNaN(Date.parse(`${date}T00:00:00Z`)) || new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date) {
    throw new SearchParamError(`${name} must be a day, YYYY-MM-DD; got ${JSON.stringify(value)}`);
  }
  return date;
}

function flag(value: string | null | undefined, name: string): boolean {
  if (value === null || value === undefined || value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new SearchParamError(`${name} must be 1 or 0; got ${JSON.stringify(value)}`);
}

/** A hit as JSON: the page's own text, with the matches marked in HTML beside the plain text. */
export function hitJson(hit: SearchHit, mode: VersionsMode): Record<string, unknown> {
  return {
    id: hit.id,
    url: hit.url,
    title: hit.title.text,
    titleHtml: markedHtml(hit.title),
    published: hit.published,
    version: hit.version,
    versions: hit.versions,
    capturedAt: hit.capturedAt,
    current: hit.current,
    gone: hit.gone,
    snippet: hit.snippet.text,
    snippetHtml: markedHtml(hit.snippet),
    // Where the versions and the diffs between them are shown (the status page).
    ...(mode === 'removed' || mode === 'added' ? { diff: `/articles/${hit.id}` } : {}),
  };
}

export function markedHtml(m: Marked): string {
  return renderMarked(m, '<mark>', '</mark>', esc);
}

export function searchJson(p: SearchParams, page: SearchPage): Record<string, unknown> {
  const { query, versions, exact, since, until } = p.filter;
  return { query, versions, exact, since: since ?? null, until: until ?? null, results: page.hits.map((h) => hitJson(h, versions ?? 'current')), next: page.next, index: lagJson(page.index) };
}

export function countJson(p: SearchParams, c: CountOverTime): Record<string, unknown> {
  const { query, versions, exact, since, until } = p.filter;
  return { query, versions, exact, since: since ?? null, until: until ?? null, interval: c.interval, count: c.count, total: c.total, ratio: c.ratio, counts: c.buckets, index: lagJson(c.index) };
}

/** The index's lag beside the results: what they may miss (the lines the index has not applied). */
function lagJson(lag: IndexLag): { behind: number; indexedSeq: number; manifestSeq: number } {
  return { behind: lag.behind, indexedSeq: lag.indexedSeq, manifestSeq: lag.manifestSeq };
}

/** An answer of the API: its status and JSON body. */
export interface ApiAnswer {
  status: number;
  body: unknown;
}

/**
 * `GET /search` and `GET /search/count`: a query that cannot be parsed is a 400 naming the
 * position, a missing index a 503 saying what builds it; never a 500 for what a user typed.
 */
export function searchApi(reader: () => SearchReader, path: '/search' | '/search/count', q: URLSearchParams): ApiAnswer {
  try {
    const p = searchParams((name) => q.get(name));
    const r = reader();
    if (path === '/search') return { status: 200, body: searchJson(p, r.search(p.filter, { limit: p.limit, ...(p.after ? { after: p.after } : {}) })) };
    return { status: 200, body: countJson(p, countOverTime(r, p.filter, p.interval ?? 'week')) };
  } catch (err) {
    return searchError(err);
  }
}

/** The answer for an error a search raised: known ones are the user's (400) or the index's (503). */
export function searchError(err: unknown): ApiAnswer {
  if (err instanceof QueryError) return { status: 400, body: { error: `query: ${err.message}`, position: err.position } };
  if (err instanceof SearchParamError || err instanceof BadCursor) return { status: 400, body: { error: err.message } };
  if (err instanceof SearchUnavailable) return { status: 503, body: { error: err.message } };
  throw err;
}
