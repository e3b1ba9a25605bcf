import type { ArticleHistory, VersionDiff } from '../../storage/article-history.js';
import type { ArticleRecord } from '../../storage/state/state-store.js';
import { html, layout, num, when, type Html } from './html.js';

export interface ArticleView extends ArticleHistory {
  /** The current snapshot's text, or null when there is none on disk. */
  snapshot: string | null;
  diffs: VersionDiff[];
  nowMs: number;
}

/** The fields of a snapshot (FORMAT.md): header, title, the optional ones, then the body. */
function fieldsOf(snapshot: string): { date: string; url: string; title: string; extra: string[]; body: string } {
  const fields = snapshot.split('\n\n').slice(0, -1);
  const header = /^ date (\S+) (\S+)$/.exec(fields[0] ?? '');
  return { date: header?.[1] ?? '', url: header?.[2] ?? '', title: fields[1] ?? '', extra: fields.slice(2, -1), body: fields.at(-1) ?? '' };
}

/** `GET /articles/<id>`: the current snapshot, its versions with their capture times, and the diffs between them. */
export function articlePage(v: ArticleView): string {
  const a = v.article;
  const f = v.snapshot ? fieldsOf(v.snapshot) : null;
  const title = f?.title || a.title || a.url;
  const body = html`
<section class="snapshot" data-article="${a.id}">
  <p class="muted"><span class="tag ${a.state === 'gone' ? 'gone' : 'new'}" data-state="${a.state}">${a.state}</span> article ${a.id}</p>
  <h1 data-field="title">${title}</h1>
  ${
    f
      ? html`<p><span data-field="date">${f.date}</span> · <a data-field="url" href="${f.url}" rel="noreferrer">${f.url}</a></p>
${f.extra.map((x) => html`<p class="muted" data-field="extra">${x}</p>`)}
<p class="body" data-field="body">${f.body}</p>`
      : html`<p class="muted">No snapshot on disk${a.reason ? `: ${a.reason}` : a.lastError ? `: ${a.lastError}` : ''}.</p>`
  }
</section>
<section>
  <h2>Versions</h2>
  <ol class="list" data-list="versions">${v.versions.map(
    (ver) => html`<li data-event="${ver.event}" data-at="${ver.at}"><span class="tag ${ver.event}">${ver.event}</span> ${when(ver.at, v.nowMs)}
${ver.event === 'gone' ? html` · ${ver.reason ?? 'removed'}` : html` · ${num(ver.bytes ?? 0)} bytes · <code title="${ver.sha256 ?? ''}">${(ver.sha256 ?? '').slice(0, 12)}</code> · <code>${ver.path ?? ''}</code>`}</li>`,
  )}</ol>
  ${schedule(a, v.nowMs)}
</section>
${
  v.diffs.length
    ? html`<section id="changes"><h2>Changes between versions</h2>${v.diffs.map(
        (d) => html`<h3 style="font-size:.95rem">${d.from.at} → ${d.to.at}</h3><pre class="diff" data-diff="${d.to.at}">${diffLines(d.patch)}</pre>`,
      )}</section>`
    : ''
}`;
  return layout({ title: `${title} · newsnap`, body });
}

function schedule(a: ArticleRecord, nowMs: number): Html {
  return html`<p class="muted">Last checked ${when(a.checkedAt, nowMs)} · next check ${a.nextCheckAt ? when(a.nextCheckAt, nowMs) : 'only when its sitemap entry changes'}${
    a.missingCount > 0 ? ` · ${a.missingCount} × 404 so far` : ''
  }</p>`;
}

/** A unified diff, each line marked: added, removed, or a hunk header. */
function diffLines(patch: string): Html[] {
  return patch
    .split('\n')
    .filter((line) => !line.startsWith('===') && line !== '')
    .map((line) => {
      const kind = line.startsWith('+++') || line.startsWith('---') ? 'file' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : line.startsWith('@@') ? 'hunk' : '';
      return kind && kind !== 'file' ? html`<span class="${kind}">${line}</span>` : html`${line}\n`;
    });
}

/** `GET /articles?q=…`: articles by id or by words of their title. */
export function searchPage(o: { query: string; results: ArticleRecord[]; nowMs: number; note?: string }): string {
  const body = html`<section><h1>Search</h1>
${o.note ? html`<p class="warn" data-problem>${o.note}</p>` : ''}
<p class="muted">${o.results.length} article(s) for “${o.query}”.</p>
<ul class="list" data-list="results">${o.results.map(
    (a) => html`<li><a href="/articles/${a.id}">${a.title ?? a.url}</a><br><span class="muted">${a.id} · ${a.state} · captured ${when(a.capturedAt, o.nowMs)}</span></li>`,
  )}</ul></section>`;
  return layout({ title: `Search: ${o.query} · newsnap`, body, query: o.query });
}
