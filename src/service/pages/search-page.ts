import type { CountOverTime } from '../../storage/search/count-over-time.js';
import { VERSIONS_MODES, type SearchFilter, type SearchHit, type VersionsMode } from '../../storage/search/search-reader.js';
import { markedHtml } from '../search-api.js';
import { stackedBars } from './charts.js';
import { html, Html, layout, num } from './html.js';

export interface FullTextView {
  filter: SearchFilter;
  hits: SearchHit[];
  /** The next page's cursor, or null. */
  next: string | null;
  counts: CountOverTime | null;
  /** What went wrong with the query or the index, shown instead of results. */
  problem: string | null;
}

const MODE_LABELS: Record<VersionsMode, string> = {
  current: 'current versions',
  any: 'any version',
  removed: 'edited out (an earlier version matched, the current one does not)',
  added: 'edited in (the current version matches, an earlier one did not)',
};

/**
 * `GET /articles?q=…`: full-text search of every version, server-rendered (no script): the
 * results with their snippets (matches in <mark>, cut from the page's own text), a bar chart of
 * the matching articles over time beside all those published, and a link to the next page.
 */
export function fullTextPage(v: FullTextView): string {
  const f = v.filter;
  const mode = f.versions ?? 'current';
  const body = html`<section><h1>Search</h1>
${form(f)}
${v.problem ? html`<p class="bad" data-problem>${v.problem}</p>` : ''}
${v.counts && v.counts.index.behind > 0 ? html`<p class="bad" data-index-behind="${v.counts.index.behind}">the index is ${num(v.counts.index.behind)} line${v.counts.index.behind === 1 ? '' : 's'} behind the manifest: these results miss what they wrote (newsnap index catches it up; a crawl does too)</p>` : ''}
${v.counts && !v.problem ? chart(v.counts) : ''}
${
  v.problem
    ? ''
    : html`<p class="muted" data-count="${v.counts?.count ?? ''}">${v.counts ? `${num(v.counts.count)} article(s) in ${MODE_LABELS[mode]}` : ''}${v.counts ? ` of ${num(v.counts.total)} published` : ''}.</p>
<ol class="list" data-list="results">${v.hits.map((h) => result(h, mode))}</ol>
${v.next ? html`<p><a data-next href="/articles?${nextQuery(f, v.next)}">Next page →</a></p>` : ''}`
}
</section>`;
  return layout({ title: `Search: ${f.query} · newsnap`, body, query: f.query });
}

function form(f: SearchFilter): Html {
  const mode = f.versions ?? 'current';
  return html`<form action="/articles" method="get" class="search" style="display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin:.5rem 0 1rem">
<label style="flex:1 1 18rem">Words <input type="search" name="q" value="${f.query}" style="width:100%" aria-label="Query"></label>
<label>Versions <select name="versions">${VERSIONS_MODES.map((m) => html`<option value="${m}"${m === mode ? html` selected` : ''}>${m}</option>`)}</select></label>
<label>Published from <input type="date" name="since" value="${f.since ?? ''}"></label>
<label>to <input type="date" name="until" value="${f.until ?? ''}"></label>
<label><input type="checkbox" name="exact" value="1"${f.exact ? html` checked` : ''}> exact (ı ≠ i, ş ≠ s)</label>
<button type="submit">Search</button>
</form>`;
}

function result(h: SearchHit, mode: VersionsMode): Html {
  const state = h.gone ? html` <span class="tag gone">gone</span>` : '';
  const edited = mode === 'removed' ? html` <span class="tag updated">edited out</span>` : mode === 'added' ? html` <span class="tag new">edited in</span>` : '';
  return html`<li data-id="${h.id}" data-version="${h.version}">
<a href="/articles/${h.id}">${new Html(markedHtml(h.title))}</a>${state}${edited}<br>
<span class="muted">${h.published} · version ${h.version} of ${h.versions}${h.current ? '' : ' (an earlier one)'} · captured ${h.capturedAt.slice(0, 16).replace('T', ' ')} UTC · <span data-url>${h.url}</span>${
    mode === 'removed' || mode === 'added' ? html` · <a href="/articles/${h.id}#changes">the diff</a>` : ''
  }</span>
<p class="snippet" data-snippet style="margin:.25rem 0 0">${new Html(markedHtml(h.snippet))}</p>
</li>`;
}


/** Matching articles over time, stacked on the others published (the bar's height is all published). */
function chart(c: CountOverTime): Html {
  if (c.buckets.length === 0) return html``;
  return html`<div style="max-width:46rem">${stackedBars({
    name: 'matches',
    caption: `Matching articles per ${c.interval}, of all published`,
    groups: c.buckets.map((b) => ({ key: b.date, label: c.interval === 'month' ? b.date.slice(0, 7) : b.date.slice(5), values: { match: b.count, other: Math.max(0, b.total - b.count) } })),
    series: [
      { kind: 'match', label: 'matching', color: '#1565c0' },
      { kind: 'other', label: 'other articles published', color: '#d0d5dd' },
    ],
  })}</div>`;
}

function nextQuery(f: SearchFilter, after: string): string {
  const q = new URLSearchParams({ q: f.query });
  if (f.versions && f.versions !== 'current') q.set('versions', f.versions);
  if (f.since) q.set('since', f.since);
  if (f.until) q.set('until', f.until);
  if (f.exact) q.set('exact', '1');
  q.set('after', after);
  return q.toString();
}
