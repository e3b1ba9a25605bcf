import { renderMarked, type Marked } from '../search/highlight.js';
import { QueryError } from '../search/query.js';
import { countJson, searchJson, SearchParamError, searchParams, type SearchParams } from '../service/search-api.js';
import { countOverTime, type CountOverTime } from '../storage/search/count-over-time.js';
import { BadCursor, SearchUnavailable, type SearchPage, type SearchReader } from '../storage/search/search-reader.js';
import { ReadOnlyStorage } from '../storage/read-only.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Context } from './context.js';
import { requireExistingStorage } from './command-flags.js';
import { UsageError } from './usage-error.js';

export interface SearchFlags {
  since?: string;
  until?: string;
  versions?: string;
  exact?: boolean;
  json?: boolean;
  limit?: string;
  after?: string;
  countBy?: string;
}

/** The flag each parameter comes from, for messages. */
const FLAG_OF: Record<string, string> = { q: 'QUERY', versions: '--versions', since: '--since', until: '--until', limit: '--limit', interval: '--count-by', exact: '--exact' };

/**
 * `newsnap search QUERY`: full-text search of every version (docs/search.md). It reads the index
 * on its own read-only connection, without the lock: it works beside a running crawl or serve.
 * A query that cannot be parsed exits 2 naming the position.
 */
export async function searchCommand(ctx: Context, query: string, flags: SearchFlags): Promise<ExitCodeValue> {
  requireExistingStorage(ctx.config.storage);
  const p = params(query, flags);
  const store = new ReadOnlyStorage(ctx.config.storage);
  let reader: SearchReader;
  try {
    reader = store.search();
  } catch (err) {
    if (err instanceof SearchUnavailable) throw new UsageError(err.message);
    throw err;
  }
  try {
    warnIfBehind(ctx, reader);
    if (p.interval) {
      const counts = countOverTime(reader, p.filter, p.interval);
      process.stdout.write(flags.json ? `${JSON.stringify(countJson(p, counts), null, 2)}\n` : countTable(counts));
    } else {
      const page = reader.search(p.filter, { limit: p.limit, ...(p.after ? { after: p.after } : {}) });
      process.stdout.write(flags.json ? `${JSON.stringify(searchJson(p, page), null, 2)}\n` : resultLines(p, page));
    }
    return ExitCode.OK;
  } catch (err) {
    if (err instanceof QueryError) throw new UsageError(`query: ${err.message}`);
    if (err instanceof BadCursor) throw new UsageError(`--after: ${err.message}`);
    throw err;
  } finally {
    store.close();
  }
}

function params(query: string, flags: SearchFlags): SearchParams {
  const given: Record<string, string | undefined> = {
    q: query,
    versions: flags.versions,
    since: flags.since,
    until: flags.until,
    exact: flags.exact ? '1' : undefined,
    limit: flags.limit,
    after: flags.after,
    interval: flags.countBy,
  };
  try {
    return searchParams((name) => given[name]);
  } catch (err) {
    if (err instanceof SearchParamError) throw new UsageError(err.message.replace(/^\w+/, (w) => FLAG_OF[w] ?? w));
    throw err;
  }
}

/** A search beside a run with the index off (or before its next start) reads an index that lags: say so. */
function warnIfBehind(ctx: Context, reader: SearchReader): void {
  const { indexedSeq: indexed, manifestSeq: applied, behind } = reader.lag();
  if (behind > 0) ctx.log.warn({ indexed, applied }, `the search index holds ${indexed} of the ${applied} manifest lines state has: run newsnap index to catch it up (a crawl does too)`);
}

const mark = (m: Marked) => renderMarked(m, '«', '»');

function resultLines(p: SearchParams, page: SearchPage): string {
  const mode = p.filter.versions ?? 'current';
  const out: string[] = [];
  for (const h of page.hits) {
    const flagsText = [h.gone ? 'gone' : '', h.current ? '' : 'earlier version'].filter(Boolean).join(', ');
    out.push(`${h.published}  ${h.id}  v${h.version} of ${h.versions}${flagsText ? ` (${flagsText})` : ''}  ${mark(h.title)}`);
    out.push(`    ${h.url}`);
    if (h.snippet.text) out.push(`    ${mark(h.snippet)}`);
    if (mode === 'removed' || mode === 'added') out.push(`    diff: newsnap history ${h.id} --diff`);
  }
  out.push(page.next ? `${page.hits.length} articles; the next page: --after ${page.next}` : `${page.hits.length} article${page.hits.length === 1 ? '' : 's'}${p.after ? ' (the last page)' : ''}`);
  return `${out.join('\n')}\n`;
}

function countTable(c: CountOverTime): string {
  const pct = (r: number) => `${(r * 100).toFixed(2)}%`;
  const rows = [[c.interval, 'matching', 'published', 'ratio'], ...c.buckets.map((b) => [b.date, String(b.count), String(b.total), pct(b.ratio)]), ['all', String(c.count), String(c.total), pct(c.ratio)]];
  return `${rows.map(([a, b, d, e]) => `${a!.padEnd(10)}  ${b!.padStart(8)}  ${d!.padStart(9)}  ${e!.padStart(8)}`).join('\n')}\n`;
}
