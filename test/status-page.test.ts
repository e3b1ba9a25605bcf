import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer, type MirrorArticle } from '../src/mirror/index.js';
import { articlePath } from '../src/mirror/site-model.js';
import { OPERATOR_UA, runCli } from './helpers/cli.js';
import { PROJECT } from './helpers/paths.js';
import { startServe, until, type Served } from './helpers/serve.js';
import { readManifest, tempDir } from './helpers/storage.js';

const T0 = '2025-12-15T12:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();
const HOSTILE = 'Başlık & "tırnak" <img src=x onerror=alert(1) <script';
const ARTIFACTS = join(PROJECT, 'test', 'artifacts');

let mirror: MirrorServer;
let storage: string;
let served: Served;
let browser: Browser;
let hostile: MirrorArticle;
let rewritten: MirrorArticle;
let removed: MirrorArticle;
const requested: string[] = [];

async function crawl(now: string, args: string[]): Promise<void> {
  const res = await runCli(['crawl', '--origin', mirror.baseUrl, '--storage', storage, '--rate', '0', ...args], { env: { NEWSNAP_NOW: now, NEWSNAP_RENDER_POLICY: 'never' } });
  expect(res.code, res.stderr.slice(-2000)).toBe(0);
}

async function open(path: string, viewport = { width: 1366, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('request', (r) => requested.push(r.url()));
  page.on('dialog', (d) => {
    throw new Error(`a dialog opened: ${d.message()}`);
  });
  const res = await page.goto(`${served.api}${path}`);
  expect(res?.status()).toBe(200);
  return page;
}

beforeAll(async () => {
  mirror = new MirrorServer({ articles: 60, days: 20, lastDay: '20251215', crawlDelay: 0 });
  await mirror.listen();
  storage = await tempDir();
  // Two capture days: the first half three days ago, the rest today.
  const days = [...new Set(mirror.all().map((a) => a.day))].sort();
  await crawl(at(-3 * 24 * 60), ['--since', days[0]!, '--until', days[9]!]);
  await crawl(T0, ['--since', days[10]!]);
  const real = mirror.all().filter((a) => !a.gallery);
  [hostile, rewritten, removed] = [real.at(-2)!, real.at(-3)!, real.at(-4)!];
  mirror.edit(hostile.id, { at: at(2), title: HOSTILE });
  mirror.edit(rewritten.id, { at: at(2), paragraph: { index: 0, text: 'Düzeltme: ilk paragraf şimdi böyle.' } });
  mirror.remove(removed.id, 410);
  await crawl(at(5), []);
  served = await startServe(['--origin', mirror.baseUrl, '--storage', storage, '--schedule', '0 0 1 1 *'], { env: { NEWSNAP_NOW: at(6) } });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await served?.kill();
  await mirror?.close();
});

describe('the status page, in a real browser', () => {
  it("the overview's numbers are /status's", async () => {
    const status = (await (await fetch(`${served.api}/status`)).json()) as { articles: Record<string, number>; outcomes: Record<string, number>; nextRun: string; lastSuccess: { runId: number } };
    const page = await open('/');
    for (const [group, values] of [['articles', status.articles], ['outcomes', status.outcomes]] as const) {
      for (const [key, value] of Object.entries(values)) {
        expect(await page.locator(`[data-stat="${group}.${key}"]`).textContent(), `${group}.${key}`).toBe(value.toLocaleString('en-US'));
      }
    }
    expect(status.articles).toMatchObject({ done: mirror.all().filter((a) => !a.gallery).length - 1, gone: 1 });
    expect(await page.locator('[data-stat="nextRun"] time').getAttribute('datetime')).toBe(status.nextRun);
    expect(await page.locator('[data-stat="lastSuccess"]').textContent()).toContain(`run ${status.lastSuccess.runId},`);
    expect(await page.locator('[data-health]').getAttribute('data-health')).toBe('ok');
    expect(await page.locator('[data-table="runs"] tbody tr').count()).toBe(3);
    await page.screenshot({ path: join(ARTIFACTS, 'overview-desktop.png'), fullPage: true });
    await page.close();
  });

  it('the per-day chart has one mark per day of the last 30, with the counts of the manifest', async () => {
    const expected = new Map<string, Record<string, number>>();
    for (const line of await readManifest(storage)) {
      const day = new Date(Date.parse(line.capturedAt as string) + 3 * 3600_000).toISOString().slice(0, 10);
      const kind = line.event === 'new' ? 'new' : line.event === 'gone' ? 'gone' : 'updated';
      const counts = expected.get(day) ?? { new: 0, updated: 0, gone: 0 };
      counts[kind]! += 1;
      expected.set(day, counts);
    }
    expect([...expected.keys()].sort()).toEqual(['2025-12-12', '2025-12-15']);
    const page = await open('/');
    const marks = page.locator('svg[data-chart="per-day"] g[data-mark]');
    expect(await marks.count()).toBe(30);
    const keys = await marks.evaluateAll((gs) => gs.map((g) => g.getAttribute('data-key')));
    expect(keys[0]).toBe('2025-11-16');
    expect(keys.at(-1)).toBe('2025-12-15');
    for (const [i, key] of keys.entries()) {
      const counts = await marks.nth(i).evaluate((g) => Object.fromEntries([...g.querySelectorAll('rect')].map((r) => [r.getAttribute('data-kind'), Number(r.getAttribute('data-count'))])));
      expect(counts, key!).toEqual(expected.get(key!) ?? { new: 0, updated: 0, gone: 0 });
    }
    expect(expected.get('2025-12-15')).toMatchObject({ updated: 2, gone: 1 });
    await page.close();
  });

  it("an edited article's page shows its versions and the diff between them", async () => {
    const page = await open(`/articles/${rewritten.id}`);
    expect(await page.locator('[data-list="versions"] li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-event')))).toEqual(['new', 'updated']);
    expect(await page.locator('[data-field="body"]').textContent()).toContain('Düzeltme: ilk paragraf şimdi böyle.');
    expect((await page.locator('pre.diff .add').allTextContents()).some((t) => t.includes('Düzeltme: ilk paragraf şimdi böyle.'))).toBe(true);
    expect((await page.locator('pre.diff .del').allTextContents()).length).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'article-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(ARTIFACTS, 'article-phone.png'), fullPage: true });
    await page.close();
    const overview = await open('/', { width: 390, height: 844 });
    expect(await overview.locator('[data-list="changes"] li').evaluateAll((lis) => lis.map((li) => [li.getAttribute('data-event'), li.getAttribute('data-id')]))).toEqual(
      expect.arrayContaining([
        ['updated', rewritten.id],
        ['updated', hostile.id],
        ['gone', removed.id],
      ]),
    );
    await overview.screenshot({ path: join(ARTIFACTS, 'overview-phone.png'), fullPage: true });
    await overview.close();
  });

  it('a title with <script> in it is shown as text: nothing runs, no element is made of it', async () => {
    for (const path of [`/articles/${hostile.id}`, '/']) {
      const page = await open(path);
      const shown = path === '/' ? page.locator(`[data-list="changes"] li[data-id="${hostile.id}"] a`) : page.locator('h1[data-field="title"]');
      expect(await shown.textContent()).toBe(HOSTILE);
      expect(await page.evaluate(() => document.querySelectorAll('script, img').length)).toBe(0);
      await page.close();
    }
  });

  it('the search box finds an article by words of its title, Turkish letters in any case, and by id', async () => {
    const page = await open('/');
    await page.fill('input[name="q"]', 'BAŞLIK TIRNAK');
    await Promise.all([page.waitForURL(/\/articles\?q=/), page.press('input[name="q"]', 'Enter')]);
    expect(await page.locator('[data-list="results"] li a').allTextContents()).toEqual([HOSTILE]);
    await page.fill('input[name="q"]', rewritten.id);
    await Promise.all([page.waitForURL(new RegExp(`/articles/${rewritten.id}$`)), page.press('input[name="q"]', 'Enter')]);
    expect(await page.locator('[data-article]').getAttribute('data-article')).toBe(rewritten.id);
    await page.close();
  });

  it('no request of the pages leaves 127.0.0.1', () => {
    expect(requested.length).toBeGreaterThan(5);
    expect(requested.filter((u) => new URL(u).hostname !== '127.0.0.1')).toEqual([]);
  });
});

describe('the status page, served', () => {
  it('with serve.protectPages the pages need the token (as a bearer token or the password of HTTP Basic); /healthz does not', async () => {
    const protectedServe = await startServe(['--storage', await tempDir(), '--schedule', '0 0 1 1 *'], { env: { NEWSNAP_SERVE_TOKEN: 's3cret', NEWSNAP_SERVE_PROTECT_PAGES: 'true', NEWSNAP_HTTP_USER_AGENT: OPERATOR_UA } });
    try {
      const denied = await fetch(`${protectedServe.api}/`);
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toBe('Basic realm="newsnap", charset="UTF-8"');
      expect((await fetch(`${protectedServe.api}/`, { headers: { authorization: `Basic ${Buffer.from('any:wrong').toString('base64')}` } })).status).toBe(401);
      expect((await fetch(`${protectedServe.api}/`, { headers: { authorization: `Basic ${Buffer.from('me:s3cret').toString('base64')}` } })).status).toBe(200);
      expect((await fetch(`${protectedServe.api}/articles?q=x`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
      expect((await fetch(`${protectedServe.api}/healthz`)).status).toBe(200);
      const page = await fetch(`${served.api}/`);
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    } finally {
      await protectedServe.kill();
    }
    const refused = await runCli(['serve', '--storage', await tempDir()], { env: { NEWSNAP_SERVE_PROTECT_PAGES: 'true', NEWSNAP_SERVE_TOKEN: '', NEWSNAP_HTTP_USER_AGENT: OPERATOR_UA } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('serve.protectPages needs serve.token');
  });

  it('after a failed crawl the overview says it needs attention and why', async () => {
    const dir = await tempDir();
    const failed = await runCli(['crawl', '--origin', 'http://127.0.0.1:1', '--storage', dir, '--rate', '0'], { env: { NEWSNAP_CRAWL_RETRIES: '1' } });
    expect(failed.code).toBe(3);
    const after = await startServe(['--storage', dir, '--schedule', '0 0 1 1 *'], { env: { NEWSNAP_HTTP_USER_AGENT: OPERATOR_UA } });
    try {
      const text = await (await fetch(`${after.api}/`)).text();
      expect(text).toContain('data-health="alarm"');
      expect(text).toMatch(/data-alarm="unreachable"><h2 class="bad">The site could not be reached \(1 run in a row\)<\/h2>\n<p>cannot reach 127\.0\.0\.1:1 \(connection refused\): is the origin running\?<\/p>/);
      expect(text).not.toContain('data-alarm="failed-run"');
    } finally {
      await after.kill();
    }
  });

  it('while a crawl runs the overview refreshes itself and shows its progress', async () => {
    const slow = new MirrorServer({ articles: 30, days: 2, lastDay: '20251215', crawlDelay: 0 });
    for (const a of slow.all()) slow.addFault({ path: articlePath(a), kind: 'slow', delayMs: 300 });
    await slow.listen();
    const running = await startServe(['--origin', slow.baseUrl, '--storage', await tempDir(), '--schedule', '* * * * * *', '--rate', '0'], { env: { NEWSNAP_NOW: T0, NEWSNAP_RENDER_POLICY: 'never' } });
    try {
      const html = await until('a page of a running crawl with progress', async () => {
        const text = await (await fetch(`${running.api}/`)).text();
        return /data-stat="running\.done">[1-9]/.test(text) ? text : undefined;
      });
      expect(html).toContain('<meta http-equiv="refresh" content="5">');
      expect(html).toMatch(/data-stat="running\.total">\d+/);
    } finally {
      await running.kill();
      await slow.close();
    }
  });
});
