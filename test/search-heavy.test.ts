import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { chromium, type Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer, type MirrorArticle } from '../src/mirror/index.js';
import { plainTextBlock, seededRandom } from '../src/mirror/site-model.js';
import { collect, runCli, startCli } from './helpers/cli.js';
import { killAfterLines, manifestLines } from './helpers/kill.js';
import { PROJECT } from './helpers/paths.js';
import { startServe, type Served } from './helpers/serve.js';
import { readManifest, tempDir } from './helpers/storage.js';

const T0 = '2025-12-15T12:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();
// Every incremental run reads the whole month's sitemap, so it sees each edit whatever its day.
const env = (now: string) => ({ NEWSNAP_NOW: now, NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_DISCOVERY_MONTH_EVERY: '1s' });
const ARTIFACTS = join(PROJECT, 'test', 'artifacts');

let mirror: MirrorServer;
beforeAll(async () => {
  mirror = new MirrorServer({ articles: 120, days: 4, lastDay: '20251215', crawlDelay: 0 });
  await mirror.listen();
});
afterAll(() => mirror.close());

async function cli(storage: string, args: string[], now = at(60)) {
  const res = await runCli([...args, '--storage', storage], { env: env(now) });
  return { code: res.code, stdout: res.stdout.toString(), stderr: res.stderr };
}

const crawlArgs = (storage: string) => ['crawl', '--since', mirror.all()[0]!.day, '--origin', mirror.baseUrl, '--storage', storage, '--rate', '0', '--concurrency', '6'];
const incremental = (storage: string) => ['crawl', '--origin', mirror.baseUrl, '--storage', storage, '--rate', '0', '--concurrency', '6'];

/** The first crawl reads every day; later ones are incremental (edits move the sitemap's lastmod). */
async function crawl(storage: string, now: string, first = false): Promise<void> {
  const res = await runCli(first ? crawlArgs(storage) : incremental(storage), { env: env(now) });
  expect(res.code, res.stderr.slice(-2000)).toBe(0);
}

async function found(storage: string, ...args: string[]): Promise<string[]> {
  const res = await cli(storage, ['search', ...args, '--json', '--limit', '100']);
  expect(res.code, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as { results: Array<{ id: string }> }).results.map((r) => r.id).sort();
}

/** The index's rows as they must be: one per version, which is current, which gone, and its text (its blocks joined). */
function indexRows(storage: string): string[] {
  const db = new Database(join(storage, 'search.sqlite'), { readonly: true });
  try {
    return (db.prepare(`SELECT seq, article_id, version, sha256, current, gone, title, replace(body, char(10), '') AS text FROM docs ORDER BY seq`).all() as Array<Record<string, unknown>>).map((r) => JSON.stringify(r));
  } finally {
    db.close();
  }
}

/** Copies of the databases as they are now (a clean close left nothing in a WAL beside them). */
function keep(storage: string, name: string): string {
  const wal = join(storage, `${name}-wal`);
  expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0);
  const copy = join(storage, '..', `${name}.${Date.now()}.copy`);
  copyFileSync(join(storage, name), copy);
  return copy;
}

describe('kill -9 between a version\'s file and its index row', () => {
  it('the next start repairs it, whether state has the line or not; verify exits 9 before and 0 after', async () => {
    const storage = await tempDir();
    await crawl(storage, T0, true);
    const edited = mirror.all().filter((a) => !a.gallery).slice(0, 2) as [MirrorArticle, MirrorArticle];
    for (const [i, kind] of (['state has the line, the index does not', 'neither has the line'] as const).entries()) {
      const state = keep(storage, 'state.sqlite');
      const index = keep(storage, 'search.sqlite');
      const word = `Sözcük${i}ekledi`;
      mirror.edit(edited[i]!.id, { at: at(10 * (i + 1)), addParagraph: `${word} bugün.` });
      await crawl(storage, at(10 * (i + 1) + 1));
      expect(await found(storage, word), kind).toEqual([edited[i]!.id]);
      // What a kill -9 leaves: the version's file and its manifest line, and state's or the index's
      // commit not made (in WAL mode SQLite commits each file of a transaction on its own).
      copyFileSync(index, join(storage, 'search.sqlite'));
      if (kind === 'neither has the line') copyFileSync(state, join(storage, 'state.sqlite'));
      expect(await found(storage, word), kind).toEqual([]);
      const before = await cli(storage, ['verify']);
      expect(before.code, kind).toBe(9);
      expect(before.stdout, kind).toMatch(kind === 'neither has the line' ? /state has applied \d+ of the manifest's \d+ bytes/ : /the search index holds (\d+) of the (\d+) manifest lines state has applied/);
      const repaired = await cli(storage, ['index']);
      expect(repaired.code, repaired.stderr).toBe(0);
      expect(await found(storage, word), kind).toEqual([edited[i]!.id]);
      expect(await found(storage, `${word} NOT bugün`, '--versions', 'any'), kind).toEqual([]);
      const after = await cli(storage, ['verify']);
      expect(after.code, `${kind}: ${after.stdout}`).toBe(0);
    }
  });

  it('kill -9 at seeded random moments of crawls that write versions: after the next start the index is what a rebuild gives, and verify exits 0', async () => {
    const storage = await tempDir();
    const rnd = seededRandom(23);
    await crawl(storage, T0, true);
    const real = mirror.all().filter((a) => !a.gallery);
    for (let trial = 0; trial < 6; trial++) {
      // Edits for this trial's run to find, then a kill once it has written a few of them.
      const now = at(100 + trial * 10);
      for (const a of real.slice(10 + trial * 12, 22 + trial * 12)) mirror.edit(a.id, { at: now, addParagraph: `Deneme ${trial} ılık İzmir.` });
      const child = startCli(incremental(storage), { env: env(at(100 + trial * 10 + 1)) });
      const done = collect(child);
      const before = manifestLines(storage);
      await killAfterLines(child, done, storage, 1 + Math.floor(rnd() * 8));
      expect(manifestLines(storage)).toBeGreaterThan(before);
    }
    await crawl(storage, at(200));
    const lines = await readManifest(storage);
    expect(lines.filter((l) => l.event === 'updated').length).toBe(72);
    expect((await cli(storage, ['verify'])).code).toBe(0);
    const kept = indexRows(storage);
    // Built anew from the manifest and the files alone: the same rows.
    rmSync(join(storage, 'search.sqlite'));
    const built = await cli(storage, ['index']);
    expect(built.code, built.stderr).toBe(0);
    expect(indexRows(storage)).toEqual(kept);
    expect((await found(storage, '"ılık izmir"')).length).toBe(72);
  });
});

describe('the status page\'s search, in Chromium', () => {
  let storage: string;
  let served: Served;
  let browser: Browser;
  let out: MirrorArticle;
  /** Two words of its first paragraph, which an edit takes out. */
  let words: string;
  const requested: string[] = [];

  beforeAll(async () => {
    storage = await tempDir();
    out = mirror.all().filter((a) => !a.gallery).at(-5)!;
    words = out.blocks.filter((b) => b.type === 'text' && b.text)[0]!.text.replace(/[.,’'&]/g, ' ').split(/\s+/).slice(0, 2).join(' ');
    await crawl(storage, T0, true);
    mirror.article(out.id).revise({ blocks: [...out.blocks.filter((b) => b.type !== 'text'), plainTextBlock('Bu paragraf düzeltildi.')] });
    mirror.edit(out.id, { at: at(300), title: `${out.title} (düzeltildi)` });
    await crawl(storage, at(301));
    served = await startServe(['--origin', mirror.baseUrl, '--storage', storage, '--schedule', '0 0 1 1 *'], { env: env(at(302)) });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await served?.kill();
  });

  it('the search box: results with their snippets marked in the page\'s own spelling, a bar chart of counts over time, edited-out articles linked to their diff; no script, nothing fetched elsewhere', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    page.on('request', (r) => requested.push(r.url()));
    await page.goto(`${served.api}/`);
    await page.fill('header input[name="q"]', 'İSTANBUL');
    await Promise.all([page.waitForURL(/\/articles\?q=/), page.press('header input[name="q"]', 'Enter')]);
    const results = page.locator('[data-list="results"] > li');
    expect(await results.count()).toBe(20);
    // Every mark holds the page's own spelling of the word, whatever case the query had.
    expect(new Set(await page.locator('[data-snippet] mark').allTextContents())).toEqual(new Set(['İstanbul']));
    const bars = page.locator('svg[data-chart="matches"] g[data-mark]');
    expect(await bars.count()).toBe(4);
    const matching = await page.locator('svg[data-chart="matches"] rect[data-kind="match"]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-count'))));
    expect(matching.reduce((a, b) => a + b, 0)).toBe(Number(await page.locator('p[data-count]').getAttribute('data-count')));
    expect(await page.evaluate(() => document.querySelectorAll('script').length)).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, 'search-results.png'), fullPage: true });
    await Promise.all([page.waitForURL(/after=/), page.click('[data-next]')]);
    expect(await results.count()).toBeGreaterThan(0);

    await page.goto(`${served.api}/articles?q=${encodeURIComponent(`"${words}"`)}&versions=removed`);
    const removed = page.locator('[data-list="results"] > li');
    expect(await removed.evaluateAll((els) => els.map((e) => e.getAttribute('data-id')))).toContain(out.id);
    const row = page.locator(`[data-list="results"] > li[data-id="${out.id}"]`);
    expect(await row.locator('.tag.updated').textContent()).toBe('edited out');
    await page.screenshot({ path: join(ARTIFACTS, 'search-edited-out.png'), fullPage: true });
    await Promise.all([page.waitForURL(new RegExp(`/articles/${out.id}#changes$`)), row.locator('a', { hasText: 'the diff' }).click()]);
    expect(await page.locator('#changes pre.diff').count()).toBe(1);

    const bad = await page.goto(`${served.api}/articles?q=${encodeURIComponent('nato "kırım')}`);
    expect(bad?.status()).toBe(400);
    expect(await page.locator('[data-problem]').textContent()).toBe('query: this quote is never closed (a phrase is "between two quotes") at position 6');
    expect(await page.locator('input[name="q"]').first().inputValue()).toBe('nato "kırım');
    await page.close();
  });

  it('no request of the pages leaves 127.0.0.1', () => {
    expect(requested.length).toBeGreaterThan(3);
    expect(requested.filter((u) => new URL(u).hostname !== '127.0.0.1')).toEqual([]);
  });
});
