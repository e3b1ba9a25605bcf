import { Feed } from 'feed';
import { versionDiffs, type ArticleVersion } from '../storage/article-history.js';
import type { EventRecord, State } from '../storage/state/state-store.js';
import type { SearchFilter, SearchReader } from '../storage/search/search-reader.js';
import { esc } from './pages/html.js';
import { renderMarked } from '../search/highlight.js';

/** Entries a feed holds: the latest events. */
export const FEED_ENTRIES = 100;

/** What a feed entry is made of: an event, its article, and the diff from the version before. */
interface Entry {
  event: EventRecord;
  url: string;
  title: string | null;
  diff: string | null;
  /** A search feed's entry: the matches in the version's text, as HTML. */
  snippet?: string;
}

export interface FeedContext {
  state: State;
  /** The storage folder (diffs read its snapshot and history files). */
  root: string;
  /** This storage folder's own name: entry ids of two folders never collide. */
  storageId: string;
  /** The service's own base URL as the reader asked for it (`http://host:port`). */
  base: string;
  siteName: string;
  siteHost: string;
}

/**
 * `GET /feed.atom`: the latest 100 events (new, updated, gone, restored, reextracted) as Atom 1.0,
 * written by the `feed` library. Each entry's id is a `tag:` URI from its `seq`, stable for ever;
 * it links the article on the site and on the status page; an edit carries the diff between the
 * versions (escaped, in a <pre>); `<updated>` is when the version was captured.
 */
export async function changesFeed(c: FeedContext): Promise<string> {
  const recent = c.state.reports.recentEvents(['new', 'updated', 'gone', 'restored', 'reextracted'], FEED_ENTRIES);
  const entries: Entry[] = [];
  for (const e of recent) entries.push({ event: e, url: e.url, title: e.title, diff: await diffBefore(c, e) });
  return render(c, { title: `${c.siteName}: changes`, id: 'changes', self: `${c.base}/feed.atom`, home: `${c.base}/` }, entries);
}

/** `GET /articles/<id>/feed.atom`: one article's history, newest first; null when storage does not know it. */
export async function articleFeed(c: FeedContext, id: string): Promise<string | null> {
  const article = c.state.articles.get(id);
  if (!article) return null;
  const events = c.state.articles.events(id);
  const diffs = new Map((await versionDiffs(c.root, events)).map((d) => [d.to, d.patch]));
  const entries = events
    .slice(-FEED_ENTRIES)
    .reverse()
    .map((event) => ({ event, url: article.url, title: article.title, diff: diffs.get(event as ArticleVersion) ?? null }));
  return render(c, { title: `${c.siteName}: ${article.title ?? article.url}`, id: `article/${id}`, self: `${c.base}/articles/${id}/feed.atom`, home: `${c.base}/articles/${id}` }, entries);
}

/**
 * `GET /search/feed.atom?q=…`: a query's newest matches (the last 100 versions written that
 * match it, a new article or an edit that brought the words in), each with the snippet where it
 * matched and, for an edit, the diff.
 */
export async function searchFeed(c: FeedContext, reader: SearchReader, f: Pick<SearchFilter, 'query' | 'exact'>): Promise<string> {
  const entries: Entry[] = [];
  for (const hit of reader.newestMatches(f, FEED_ENTRIES)) {
    const offset = c.state.reports.offsetOfSeq(hit.seq);
    const event = offset === undefined ? undefined : c.state.reports.eventAt(offset);
    if (!event) continue;
    // <b>, not <mark>: feed readers keep only the HTML they know (feedparser drops <mark>, its words kept).
    entries.push({ event, url: hit.url, title: hit.title.text, diff: await diffBefore(c, event), snippet: renderMarked(hit.snippet, '<b>', '</b>', esc) });
  }
  const query = new URLSearchParams({ q: f.query, ...(f.exact ? { exact: '1' } : {}) }).toString();
  return render(c, { title: `${c.siteName}: “${f.query}”`, id: `search/${query}`, self: `${c.base}/search/feed.atom?${query}`, home: `${c.base}/articles?${query}` }, entries);
}

/** The diff from the version an event replaced, when both versions' bytes are on disk. */
async function diffBefore(c: FeedContext, e: EventRecord): Promise<string | null> {
  if (!e.previousSha256 || e.event === 'gone') return null;
  const before = c.state.articles.events(e.id).filter((x) => x.seq < e.seq && x.sha256 === e.previousSha256 && x.event !== 'gone').at(-1);
  if (!before) return null;
  const [diff] = await versionDiffs(c.root, [before, e]);
  return diff?.patch ?? null;
}

const WORDS: Record<EventRecord['event'], string> = {
  new: 'New',
  updated: 'Edited',
  gone: 'Removed',
  restored: 'Back',
  reextracted: 'Rebuilt',
};

function render(c: FeedContext, f: { title: string; id: string; self: string; home: string }, entries: Entry[]): string {
  const feed = new Feed({
    id: tagUri(c, 'feed', f.id),
    title: f.title,
    link: f.home,
    feedLinks: { atom: f.self },
    updated: new Date(entries[0]?.event.at ?? 0),
    generator: 'newsnap',
    copyright: c.siteName,
  });
  for (const { event, url, title: articleTitle, diff, snippet } of entries) {
    const status = `${c.base}/articles/${event.id}`;
    const name = articleTitle ?? url;
    const what = event.event === 'gone' ? `${WORDS.gone} (${event.reason ?? 'removed'})` : WORDS[event.event];
    // type="html": the text is escaped here, so a title with markup stays text in a reader.
    const content = [
      `<p>${esc(what)}: <a href="${esc(url)}">${esc(name)}</a></p>`,
      snippet ? `<blockquote>${snippet}</blockquote>` : '',
      `<p><a href="${esc(status)}">Versions and diffs on the status page</a> · <a href="${esc(url)}">On ${esc(c.siteHost)}</a></p>`,
      event.sha256 && event.event !== 'gone' ? `<p>${esc(event.bytes ?? 0)} bytes · sha256 ${esc(event.sha256)}</p>` : '',
      diff ? `<pre>${esc(diff)}</pre>` : '',
    ].join('');
    feed.addItem({
      title: esc(`${what}: ${name}`),
      id: tagUri(c, 'event', String(event.seq)),
      link: url,
      date: new Date(event.at),
      content,
      author: [{ name: c.siteName }],
    });
  }
  return feed.atom1();
}

/** `tag:` URIs (RFC 4151) under the site's host, with this storage folder's name: stable, never reused. */
function tagUri(c: FeedContext, kind: string, specific: string): string {
  return `tag:${c.siteHost},2025-01-01:newsnap/${c.storageId}/${kind}/${specific}`;
}
