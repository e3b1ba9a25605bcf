import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer, type MirrorArticle } from '../src/mirror/index.js';
import { plainTextBlock } from '../src/mirror/site-model.js';
import { runCli } from './helpers/cli.js';
import { startServe, type Served } from './helpers/serve.js';
import { readManifest, tempDir } from './helpers/storage.js';
import { newSecret, WebhookReceiver } from './helpers/webhook-receiver.js';

const T0 = '2025-12-15T12:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();
const SEARCHES = JSON.stringify([
  { name: 'nato', query: 'NATO' },
  { name: 'kırım', query: 'Kırım OR Kirim' },
]);
const HEADING = 'Akkuyu görüşmesi tamamlandı';

let mirror: MirrorServer;
let storage: string;
let hook: WebhookReceiver;
let served: Served | null = null;
/** A heading runs into the paragraph after it in the snapshot ("tamamlandıRusya"). */
let joined: MirrorArticle;
/** NATO in its first version, edited out in the second. */
let natoOut: MirrorArticle;
/** Kırım edited in. */
let kirimIn: MirrorArticle;

const env = (now: string, extra: Record<string, string> = {}) => ({
  NEWSNAP_NOW: now,
  NEWSNAP_RENDER_POLICY: 'never',
  NEWSNAP_DELIVERY_SEARCHES: SEARCHES,
  NEWSNAP_DELIVERY_WEBHOOKS: JSON.stringify([{ url: hook.url, secret: hook.secret }]),
  ...extra,
});

async function cli(args: string[], now = at(10), extra: Record<string, string> = {}) {
  const res = await runCli([...args, '--storage', storage], { env: env(now, extra) });
  return { code: res.code, stdout: res.stdout.toString(), stderr: res.stderr };
}

async function crawl(now: string, args: string[] = []): Promise<void> {
  const res = await cli(['crawl', '--origin', mirror.baseUrl, '--rate', '0', ...args], now);
  expect(res.code, res.stderr.slice(-2000)).toBe(0);
}

const searchJson = async (...args: string[]) => {
  const res = await cli(['search', ...args, '--json']);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as { results: Array<Record<string, unknown>>; next: string | null; counts?: Array<Record<string, unknown>> };
};
const found = async (...args: string[]) => (await searchJson(...args)).results.map((r) => r.id).sort();

/** Debian's python3-feedparser reads a feed, as the other feeds' tests do. */
function feedparser(xml: string): { bozo: boolean; entries: Array<{ id: string; title: string; content: string }> } {
  const script = `
import feedparser, json, sys
d = feedparser.parse(sys.stdin.buffer.read())
print(json.dumps({'bozo': bool(d.bozo), 'entries': [{'id': e.id, 'title': e.title, 'content': e.content[0].value if e.get('content') else ''} for e in d.entries]}))`;
  const res = spawnSync('/usr/bin/python3', ['-c', script], { input: xml, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`feedparser failed: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

beforeAll(async () => {
  hook = new WebhookReceiver(newSecret());
  await hook.start();
  mirror = new MirrorServer({ articles: 30, days: 3, lastDay: '20251215', crawlDelay: 0 });
  await mirror.listen();
  storage = await tempDir();
  const real = mirror.all().filter((a) => !a.gallery);
  [joined, natoOut, kirimIn] = [real[2]!, real[5]!, real[8]!];
  const heading = { type: 'h2', html: `<div class="article__block" data-type="h2"><h3 class="article__h2">${HEADING}</h3></div>`, text: HEADING };
  joined.revise({ blocks: [heading, plainTextBlock('Rusya Dışişleri Bakanı açıklama yaptı.')] });
  natoOut.revise({ blocks: [...natoOut.blocks, plainTextBlock('NATO zirvesi toplandı.')] });
  await crawl(T0, ['--since', '2025-12-13']);
  mirror.edit(natoOut.id, { at: at(2), paragraph: { index: natoOut.blocks.filter((b) => b.type === 'text' && b.text).length - 1, text: 'Zirve toplandı.' } });
  mirror.edit(kirimIn.id, { at: at(2), addParagraph: 'Kırım yarımadasında yeni gelişme.' });
  await crawl(at(5));
});
afterAll(async () => {
  await served?.kill();
  await mirror?.close();
  await hook?.stop();
});

describe('newsnap search', () => {
  it('finds the words of a heading and of the paragraph after it, which the snapshot runs together', async () => {
    expect(await found('tamamlandı')).toEqual([joined.id]);
    expect(await found('Rusya')).toEqual([joined.id]);
    const text = await cli(['search', 'RUSYA']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${joined.id}  v1 of 1  `);
    expect(text.stdout).toContain(`${HEADING} «Rusya» Dışişleri Bakanı açıklama yaptı.`);
    expect(text.stdout.trim().split('\n').at(-1)).toBe('1 article');
  });

  it('edited out: --versions removed finds the article whose earlier version said NATO, the current-only search does not; JSON gives the link to its diff', async () => {
    expect(await found('NATO')).toEqual([]);
    const removed = await searchJson('NATO', '--versions', 'removed');
    expect(removed.results).toMatchObject([{ id: natoOut.id, version: 1, versions: 2, current: false, diff: `/articles/${natoOut.id}` }]);
    expect(String(removed.results[0]!.snippetHtml)).toContain('<mark>NATO</mark> zirvesi toplandı.');
    expect(await found('NATO', '--versions', 'any')).toEqual([natoOut.id]);
    expect(await found('Kırım', '--versions', 'added')).toEqual([kirimIn.id]);
    const text = await cli(['search', 'nato', '--versions', 'removed']);
    expect(text.stdout).toContain(`diff: newsnap history ${natoOut.id} --diff`);
  });

  it('--count-by: matching articles per bucket beside all published, and the ratio', async () => {
    const counted = await searchJson('Rusya OR NATO', '--versions', 'any', '--count-by', 'day');
    const articles = mirror.all().filter((a) => !a.gallery);
    expect(counted.counts).toEqual(
      ['20251213', '20251214', '20251215'].map((day) => {
        const total = articles.filter((a) => a.day === day).length;
        const count = [joined, natoOut].filter((a) => a.day === day).length;
        return { date: `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)}`, count, total, ratio: Number((count / total).toFixed(6)) };
      }),
    );
    const table = await cli(['search', 'Rusya', '--count-by', 'month']);
    const pct = `${(100 / articles.length).toFixed(2)}%`;
    expect(table.stdout.trim().split('\n').map((l) => l.split(/\s+/))).toEqual([
      ['month', 'matching', 'published', 'ratio'],
      ['2025-12-01', '1', String(articles.length), pct],
      ['all', '1', String(articles.length), pct],
    ]);
  });

  it('a query that cannot be parsed, or a wrong flag, exits 2 naming the position or the flag', async () => {
    for (const [args, message] of [
      [['nato "kırım'], /^newsnap: query: this quote is never closed \(a phrase is "between two quotes"\) at position 6$/m],
      [['NEAR(a b)'], /^newsnap: query: NEAR is not supported .* at position 1$/m],
      [['*'], /^newsnap: query: a \* needs at least 3 letters before it \(seçim\*\) at position 1$/m],
      [['nato', '--limit', '0'], /^newsnap: --limit must be a whole number from 1 to 100; got "0"$/m],
      [['nato', '--after', 'xyz'], /^newsnap: --after: "xyz" is not a cursor a search gave/m],
      [['nato', '--since', '2025-13-01'], /^newsnap: --since must be a day, YYYY-MM-DD; got "2025-13-01"$/m],
    ] as Array<[string[], RegExp]>) {
      const res = await cli(['search', ...args]);
      expect([res.code, res.stdout], args.join(' ')).toEqual([2, '']);
      expect(res.stderr).toMatch(message);
    }
  });

  it('the webhook payload and the manifest line carry the saved searches a version matches, or an edit removed', async () => {
    const lines = await readManifest(storage);
    const matched = lines.filter((l) => l.matches).map((l) => [l.id, l.event, l.matches]);
    expect([...matched].sort()).toEqual([
      [natoOut.id, 'new', ['nato']],
      [natoOut.id, 'updated', ['nato']],
      [kirimIn.id, 'updated', ['kırım']],
    ].sort());
    // NEWSNAP_NOW pins the signatures' timestamps to the past: the receiver's tolerance refuses them, the bodies are what count here.
    const payloads = hook.received.filter((r) => r.status < 300).map((r) => JSON.parse(r.body) as { data: Record<string, unknown> });
    expect(payloads.filter((p) => p.data.matches).map((p) => [p.data.id, p.data.event, p.data.matches])).toEqual(matched);
  });

  it('a saved search that cannot be parsed stops start-up, naming it', async () => {
    const res = await cli(['crawl', '--origin', mirror.baseUrl], at(20), { NEWSNAP_DELIVERY_SEARCHES: JSON.stringify([{ name: 'ok', query: 'a' }, { name: 'yarım', query: 'nato (kırım' }]) });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('newsnap: configuration key delivery.searches[1].query of the saved search "yarım" cannot be parsed: this ( is never closed at position 6 (query: "nato (kırım")');
  });
});

describe('the index follows every change and can be rebuilt', () => {
  it('a missing index: verify says so (exit 9); the next start builds it from the files, a heading split from the paragraph after it by the archived page\'s blocks', async () => {
    rmSync(join(storage, 'search.sqlite'));
    const missing = await cli(['verify']);
    expect(missing.code).toBe(9);
    expect(missing.stdout).toContain('index     search.sqlite: the search index is missing');
    const built = await cli(['index']);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toMatch(/^search index built \(it did not exist\) from \d+ manifest lines/);
    expect(await found('tamamlandı')).toEqual([joined.id]);
    expect(await found('Rusya')).toEqual([joined.id]);
    expect(await found('NATO', '--versions', 'removed')).toEqual([natoOut.id]);
    expect((await cli(['verify'])).code).toBe(0);
  });

  it('reextract that changes a body: the index follows (the heading it drops is edited out); index --rebuild gives the same answers; verify is whole', async () => {
    const res = await cli(['reextract', '--id', joined.id], at(30), { NEWSNAP_SITE_SELECTORS: JSON.stringify({ heading: 'h1, h2' }) });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/1 written \(reextracted\)/);
    expect(await found('Akkuyu')).toEqual([]);
    expect(await found('Akkuyu', '--versions', 'removed')).toEqual([joined.id]);
    expect(await found('Rusya')).toEqual([joined.id]);
    // The earlier version keeps its blocks through a rebuild (the index it replaces gives them; its file has them joined).
    const answers = async () => Promise.all([found('tamamlandı', '--versions', 'any'), found('Rusya'), found('NATO', '--versions', 'removed'), found('Kırım'), found('ankara')]);
    const before = await answers();
    expect(before[0]).toEqual([joined.id]);
    const rebuilt = await cli(['index', '--rebuild']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stdout).toMatch(/^search index built \(asked for\) from (\d+) manifest lines in [\d.]+ s, \d+ versions\/s: (\d+) versions of (\d+) articles, up to manifest line \1; [\d.]+ MB\n$/);
    expect(await answers()).toEqual(before);
    const verify = await cli(['verify']);
    expect(verify.code, verify.stdout).toBe(0);
  });
});

describe('GET /search, /search/count, /search/feed.atom', () => {
  it('beside a running serve: results with snippets and a cursor, counts over time, an Atom feed of new matches that feedparser reads; newsnap search works beside it without the lock', async () => {
    served = await startServe(['--origin', mirror.baseUrl, '--storage', storage, '--schedule', '0 0 1 1 *'], { env: env(at(40)) });
    const res = await fetch(`${served.api}/search?q=${encodeURIComponent('rusya')}&limit=5`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: Array<Record<string, unknown>>; next: string | null };
    expect(body.next).toBeNull();
    expect(body.results).toEqual([
      expect.objectContaining({ id: joined.id, url: expect.stringContaining(joined.id), version: 2, versions: 2, current: true, gone: false, snippetHtml: '<mark>Rusya</mark> Dışişleri Bakanı açıklama yaptı.', capturedAt: at(30) }),
    ]);
    const paged = (await (await fetch(`${served.api}/search?q=ankara&limit=2`)).json()) as { results: unknown[]; next: string };
    const next = (await (await fetch(`${served.api}/search?q=ankara&limit=2&after=${paged.next}`)).json()) as { results: Array<{ id: string }> };
    expect(next.results.map((r) => r.id)).not.toContain((paged.results[0] as { id: string }).id);
    // The 13th and 14th fall in the week of Monday the 8th, the 15th is a Monday.
    const counts = (await (await fetch(`${served.api}/search/count?q=NATO&versions=any&interval=week`)).json()) as { counts: Array<{ date: string; count: number }> };
    const week = natoOut.day === '20251215' ? '2025-12-15' : '2025-12-08';
    expect(counts.counts.map((c) => [c.date, c.count])).toEqual([
      ['2025-12-08', week === '2025-12-08' ? 1 : 0],
      ['2025-12-15', week === '2025-12-15' ? 1 : 0],
    ]);
    const feed = feedparser(await (await fetch(`${served.api}/search/feed.atom?q=${encodeURIComponent('Kırım')}`)).text());
    expect(feed.bozo).toBe(false);
    expect(feed.entries.map((e) => e.title)).toEqual([`Edited: ${kirimIn.title}`]);
    expect(feed.entries[0]!.content).toContain('<b>Kırım</b> yarımadasında yeni gelişme.');
    const beside = await cli(['search', 'Rusya']);
    expect(beside.code, beside.stderr).toBe(0);
  });

  it('hostile queries are a 400 naming the position, never a 500, and the service stays up', async () => {
    const hostile = ['x'.repeat(10_000), '"', 'nato "kırım', 'NEAR(a b)', '*', 'a*', '((((((((((((((a))))))))))))))', 'title:', 'NOT a', 'a OR', ')'];
    for (const q of hostile) {
      for (const path of ['/search', '/search/count', '/search/feed.atom']) {
        const res = await fetch(`${served!.api}${path}?q=${encodeURIComponent(q)}`);
        const body = (await res.json()) as { error: string; position?: number };
        expect([res.status, typeof body.position], `${path} ${q.slice(0, 20)}`).toEqual([400, 'number']);
        expect(body.error).toMatch(/^query: .* at position \d+$/);
      }
    }
    expect((await fetch(`${served!.api}/search?q=nato&versions=all`)).status).toBe(400);
    expect((await fetch(`${served!.api}/search`)).status).toBe(400);
    expect((await fetch(`${served!.api}/healthz`)).status).toBe(200);
  });
});
