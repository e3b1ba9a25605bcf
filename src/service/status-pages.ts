import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nowMs } from '../clock/clock.js';
import { articleHistory, versionDiffs } from '../storage/article-history.js';
import type { State } from '../storage/state/state-store.js';
import { SITE_UTC_OFFSET_MS } from '../site/calendar.js';
import { storageProblem } from '../storage/storage-access.js';
import type { StatusDocument } from './service-status.js';
import { articlePage, searchPage } from './pages/article-page.js';
import { CHART_DAYS, overviewPage } from './pages/overview-page.js';
import { fullTextPage } from './pages/search-page.js';
import { searchError, searchParams } from './search-api.js';
import { countOverTime } from '../storage/search/count-over-time.js';
import { SearchUnavailable, type SearchReader } from '../storage/search/search-reader.js';

export interface PageResult {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/**
 * No script runs and nothing loads from elsewhere, whatever a title holds: the pages are built
 * on the server, styled inline, and escaped; this policy is the second lock on the same door.
 */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** What the pages read: state (the engine's own, or a reader's read-only one), the folder, the index. */
export interface PageSources {
  state: State;
  storage: string;
  search: () => SearchReader;
}

/** `/`: the overview, from the service's live status (cheap: on the engine's thread). */
export async function overview(o: Omit<PageSources, 'search'> & { status: StatusDocument }): Promise<PageResult> {
  const now = nowMs();
  const since = new Date(now - (CHART_DAYS + 1) * 86_400_000).toISOString();
  const body = overviewPage({
    status: o.status,
    storageProblem: await storageProblem(o.storage),
    nowMs: now,
    perDay: o.state.reports.eventsPerDay(since, SITE_UTC_OFFSET_MS),
    runs: o.state.runs.recent(20),
    failures: o.state.reports.recentErrors(new Date(now - 7 * 86_400_000).toISOString()),
    changes: o.state.reports.recentEvents(['updated', 'restored', 'gone'], 15),
  });
  return { status: 200, body };
}

/** `/articles?q=…` and `/articles/<id>`: searches, histories and diffs (heavy: in a reader process); null for any other path. */
export async function articlePages(o: PageSources, path: string, query: URLSearchParams): Promise<PageResult | null> {
  const now = nowMs();
  if (path === '/articles') {
    const q = (query.get('q') ?? '').trim();
    if (/^\d{1,20}$/.test(q) && o.state.articles.get(q)) return { status: 302, body: '', headers: { location: `/articles/${q}` } };
    return q ? fullText(o, query, now) : { status: 200, body: searchPage({ query: q, results: [], nowMs: now }) };
  }
  const m = /^\/articles\/(\d{1,20})$/.exec(path);
  if (m) {
    const found = articleHistory(o.state, m[1]!);
    if (!found) return { status: 404, body: searchPage({ query: m[1]!, results: [], nowMs: now }) };
    const snapshot = found.article.path ? await readFile(join(o.storage, found.article.path), 'utf8').catch(() => null) : null;
    const diffs = await versionDiffs(o.storage, found.versions);
    return { status: 200, body: articlePage({ ...found, snapshot, diffs, nowMs: now }) };
  }
  return null;
}

/**
 * `/articles?q=…`: full text over every version with snippets and the count over time; without
 * an index to read, the title search of state, saying why.
 */
function fullText(o: { state: State; search: () => SearchReader }, query: URLSearchParams, now: number): PageResult {
  let reader: SearchReader;
  try {
    reader = o.search();
  } catch (err) {
    if (!(err instanceof SearchUnavailable)) throw err;
    const q = (query.get('q') ?? '').trim().slice(0, 200);
    return { status: 200, body: searchPage({ query: q, results: o.state.reports.search(q, 50), nowMs: now, note: `Titles only: ${err.message}` }) };
  }
  const fallback = { query: query.get('q') ?? '' };
  try {
    const p = searchParams((name) => query.get(name));
    const page = reader.search(p.filter, { limit: 20, ...(p.after ? { after: p.after } : {}) });
    const counts = countOverTime(reader, p.filter, 'auto');
    return { status: 200, body: fullTextPage({ filter: p.filter, hits: page.hits, next: page.next, counts, problem: null }) };
  } catch (err) {
    const answer = searchError(err);
    const problem = (answer.body as { error: string }).error;
    return { status: answer.status, body: fullTextPage({ filter: fallback, hits: [], next: null, counts: null, problem }) };
  }
}
