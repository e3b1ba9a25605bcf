import { spawnSync } from 'node:child_process';
import { chromium } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { runCli } from './helpers/cli.js';
import { startServe, type Served } from './helpers/serve.js';
import { readManifest, tempDir } from './helpers/storage.js';

const env = { NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_RATE: '0' };
let mirror: MirrorServer;
let served: Served;
let storage: string;
let edited: { id: string };

/** Debian's python3-feedparser reads a feed: what a feed reader makes of it, as JSON. */
function feedparser(xml: string): { bozo: boolean; bozoException: string | null; feed: { title: string; id: string }; entries: Array<{ id: string; title: string; link: string; updated: string; content: string; links: string[] }> } {
  const script = `
import feedparser, json, sys
d = feedparser.parse(sys.stdin.buffer.read())
print(json.dumps({'bozo': bool(d.bozo), 'bozoException': str(d.get('bozo_exception')) if d.bozo else None,
  'feed': {'title': d.feed.get('title'), 'id': d.feed.get('id')},
  'entries': [{'id': e.id, 'title': e.title, 'link': e.link, 'updated': e.updated, 'content': e.content[0].value if e.get('content') else '',
    'links': [l.href for l in e.links]} for e in d.entries]}))`;
  const res = spawnSync('/usr/bin/python3', ['-c', script], { input: xml, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`feedparser failed: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

beforeAll(async () => {
  mirror = new MirrorServer({ articles: 12, days: 1, crawlDelay: 0 });
  await mirror.listen();
  storage = await tempDir();
  expect((await runCli(['crawl', '--origin', mirror.baseUrl, '--storage', storage], { env })).code).toBe(0);
  edited = mirror.all().find((a) => !a.gallery)!;
  mirror.edit(edited.id, { at: new Date().toISOString(), title: 'Başlık düzeltildi & "yeni"', addParagraph: 'Sonradan eklenen paragraf.' });
  const url = `https://anlatilaninotesi.com.tr/${mirror.article(edited.id).day}/${mirror.article(edited.id).slug}-${edited.id}.html`;
  expect((await runCli(['fetch', url, '--origin', mirror.baseUrl, '--storage', storage], { env })).stdout.toString()).toMatch(/^updated /);
  served = await startServe(['--origin', mirror.baseUrl, '--storage', storage, '--schedule', '0 0 1 1 *'], { env });
});
afterAll(async () => {
  await served?.kill();
  await mirror?.close();
});

describe('Atom feeds', () => {
  it('GET /feed.atom: every event, newest first, ids from seq, the site and the status page linked, an edit with its diff; a feed reader reads it without error', async () => {
    const res = await fetch(`${served.api}/feed.atom`);
    expect(res.headers.get('content-type')).toBe('application/atom+xml; charset=utf-8');
    const xml = await res.text();
    const feed = feedparser(xml);
    expect(feed.bozo, feed.bozoException ?? '').toBe(false);
    const lines = await readManifest(storage);
    expect(feed.entries).toHaveLength(lines.length);
    expect(feed.entries.map((e) => Number(/\/event\/(\d+)$/.exec(e.id)![1]))).toEqual(lines.map((l) => l.seq).reverse());
    expect(feed.entries.every((e) => /^tag:anlatilaninotesi\.com\.tr,2025-01-01:newsnap\/[0-9a-f-]{36}\/event\/\d+$/.test(e.id))).toBe(true);
    const edit = feed.entries[0]!;
    const line = lines.at(-1)!;
    expect(line).toMatchObject({ event: 'updated', id: edited.id });
    // The title is HTML (type="html"), escaped: a reader shows the & and the quotes as written.
    expect(edit.title).toBe('Edited: Başlık düzeltildi &amp; &quot;yeni&quot;');
    expect(edit.link).toBe(line.url);
    expect(new Date(edit.updated).toISOString()).toBe(line.capturedAt);
    expect(edit.content).toContain(`href="http://127.0.0.1:${new URL(served.api).port}/articles/${edited.id}"`);
    // The diff between the versions, as text in a <pre>.
    expect(edit.content).toMatch(/<pre>=+\n--- history\/.+\n\+\+\+ snapshots\/.+[\s\S]*\n\+[^\n]*Sonradan eklenen paragraf\./);
    expect(edit.content).toContain('\n+Başlık düzeltildi &amp; &quot;yeni&quot;\n');
    // The same ids every time: a reader sees nothing new when nothing happened.
    expect(feedparser(await (await fetch(`${served.api}/feed.atom`)).text()).entries.map((e) => e.id)).toEqual(feed.entries.map((e) => e.id));
  });

  it("GET /articles/<id>/feed.atom: one article's history; 404 for an id storage does not know", async () => {
    const feed = feedparser(await (await fetch(`${served.api}/articles/${edited.id}/feed.atom`)).text());
    expect(feed.bozo).toBe(false);
    expect(feed.entries.map((e) => e.title.split(':')[0])).toEqual(['Edited', 'New']);
    expect(feed.entries[0]!.content).toContain('Sonradan eklenen paragraf.');
    expect((await fetch(`${served.api}/articles/1999999999/feed.atom`)).status).toBe(404);
  });

  it('Chromium parses it as XML, with every entry', async () => {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    try {
      const page = await browser.newPage();
      await page.goto(`${served.api}/healthz`);
      const parsed = await page.evaluate(async (url) => {
        const doc = new DOMParser().parseFromString(await (await fetch(url)).text(), 'application/xml');
        return { error: doc.querySelector('parsererror')?.textContent ?? null, root: doc.documentElement.namespaceURI, entries: doc.getElementsByTagName('entry').length };
      }, `${served.api}/feed.atom`);
      expect(parsed).toEqual({ error: null, root: 'http://www.w3.org/2005/Atom', entries: (await readManifest(storage)).length });
    } finally {
      await browser.close();
    }
  });
});
