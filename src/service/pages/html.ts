/**
 * What every status page shares: escaping (titles and text come from the site, so everything
 * dynamic goes through `esc`), the layout with its inline stylesheet (no CDN, no web fonts: the
 * page works offline), and the formatting of numbers and times.
 */

/** Text or an attribute value, escaped for HTML. */
export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Markup already built from escaped parts; plain strings are escaped when joined in. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** A template tag: interpolated values are escaped unless they are Html (or arrays of it). */
export function html(parts: TemplateStringsArray, ...values: unknown[]): Html {
  let out = parts[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (parts[i + 1] ?? '');
  });
  return new Html(out);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return esc(value);
}

export function num(n: number): string {
  return n.toLocaleString('en-US');
}

/** `2025-12-15 12:00 UTC`, with how long ago. */
export function when(iso: string | null | undefined, nowMs: number): Html {
  if (!iso) return html`<span class="muted">never</span>`;
  const at = Date.parse(iso);
  const shown = `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return html`<time datetime="${iso}" title="${iso}">${shown}</time> <span class="muted">(${ago(nowMs - at)})</span>`;
}

/** Only how long ago, the instant in the tooltip: for narrow columns. */
export function whenShort(iso: string, nowMs: number): Html {
  return html`<time datetime="${iso}" title="${iso}">${ago(nowMs - Date.parse(iso))}</time>`;
}

export function ago(ms: number): string {
  const future = ms < 0;
  const s = Math.abs(ms) / 1000;
  const text = s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : s < 172_800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86_400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

export function duration(ms: number): string {
  const s = ms / 1000;
  return s < 120 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

const STYLE = `
:root { color-scheme: light; --fg: #1d2430; --muted: #667085; --line: #e4e7ec; --bg: #f6f7f9; --card: #fff;
  --new: #2e7d32; --updated: #1565c0; --gone: #c62828; --ok: #2e7d32; --warn: #b26a00; --bad: #c62828; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .75rem 1rem; background: #101828; color: #fff; }
header.top a { color: #fff; text-decoration: none; font-weight: 600; }
header.top form { margin-left: auto; display: flex; gap: .4rem; flex: 1 1 16rem; max-width: 28rem; }
header.top input { flex: 1; min-width: 0; padding: .35rem .5rem; border-radius: 6px; border: 1px solid #475467; }
header.top button { padding: .35rem .7rem; border-radius: 6px; border: 0; background: #d0d5dd; cursor: pointer; }
main { max-width: 78rem; margin: 0 auto; padding: 1rem; display: grid; gap: 1rem; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem; min-width: 0; }
h1 { font-size: 1.35rem; margin: 0 0 .25rem; } h2 { font-size: 1.05rem; margin: 0 0 .75rem; }
.grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(min(100%, 22rem), 1fr)); }
dl.stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(8.5rem, 1fr)); gap: .5rem; margin: 0; }
dl.stats div { border: 1px solid var(--line); border-radius: 8px; padding: .5rem .65rem; }
dl.stats dt { font-size: .8rem; color: var(--muted); } dl.stats dd { margin: 0; font-size: 1.3rem; font-weight: 600; }
.alarm { border-left: 5px solid var(--bad); background: #fff5f5; }
.alarm.warn { border-left-color: var(--warn); background: #fffaf0; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); } .muted { color: var(--muted); }
.table { overflow-x: auto; } table { border-collapse: collapse; width: 100%; font-size: .9rem; } .table table { min-width: 38rem; } .table table.fit { min-width: 0; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); white-space: nowrap; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.list { list-style: none; padding: 0; margin: 0; } .list li { padding: .35rem 0; border-bottom: 1px solid var(--line); }
.tag { display: inline-block; font-size: .75rem; padding: 0 .4rem; border-radius: 4px; color: #fff; }
.tag.new { background: var(--new); } .tag.updated, .tag.restored, .tag.reextracted { background: var(--updated); } .tag.gone { background: var(--gone); }
svg.chart { width: 100%; height: auto; display: block; } .legend { font-size: .8rem; display: flex; gap: 1rem; flex-wrap: wrap; margin-top: .4rem; }
.legend i { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .3rem; vertical-align: -1px; }
.progress { height: .6rem; background: var(--line); border-radius: 4px; overflow: hidden; margin: .4rem 0; }
.progress span { display: block; height: 100%; background: var(--updated); }
.snapshot p { margin: 0 0 .6rem; overflow-wrap: anywhere; } .snapshot .body { white-space: pre-wrap; }
pre.diff { background: #fbfcfd; border: 1px solid var(--line); border-radius: 8px; padding: .6rem; overflow-x: auto; font-size: .82rem; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.diff .add { background: #e6ffed; display: block; } pre.diff .del { background: #ffeef0; display: block; } pre.diff .hunk { color: var(--updated); display: block; }
a { color: #175cd3; overflow-wrap: anywhere; }
@media (max-width: 40rem) { main { padding: .5rem; } section { padding: .75rem; } dl.stats dd { font-size: 1.1rem; } }
`;

/** A whole page: the top bar with the search box, the sections, and a refresh while a crawl runs. */
export function layout(o: { title: string; body: Html; refreshSeconds?: number; query?: string }): string {
  return `<!DOCTYPE html>
${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${o.refreshSeconds ? html`<meta http-equiv="refresh" content="${o.refreshSeconds}">` : ''}
<title>${o.title}</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<header class="top">
  <a href="/">newsnap</a>
  <form action="/articles" method="get" role="search">
    <input type="search" name="q" value="${o.query ?? ''}" placeholder="Article id, words, &quot;a phrase&quot;, seçim*, title:…" aria-label="Search the archive">
    <button type="submit">Search</button>
  </form>
</header>
<main>
${o.body}
</main>
</body>
</html>`}`;
}
