import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createContext } from '../src/cli/context.js';
import { openStorage } from '../src/cli/open-storage.js';
import { createRuntime } from '../src/cli/runtime.js';
import { Shutdown } from '../src/cli/shutdown.js';
import { runCrawl } from '../src/engine/lanes/crawl-run.js';
import { ManualFetch } from '../src/engine/lanes/manual-fetch.js';
import type { ChainRequest, RequestMiddleware } from '../src/engine/policies/policy.js';
import { RequestChain } from '../src/engine/policies/request-chain.js';
import type { ArticleOutcome } from '../src/engine/pipeline/article-outcome.js';
import { RequestVeto } from '../src/fetch/site-requests.js';
import { articleUrl, MirrorServer, type MirrorArticle } from '../src/mirror/index.js';
import { runCli } from './helpers/cli.js';
import { ARTICLE_PATH, maxInWindow } from './helpers/mirror.js';
import { firstCrawlEnded, startServe, type Served } from './helpers/serve.js';
import { tempDir } from './helpers/storage.js';

const DAY = '20251215';
const NOW = '2025-12-15T12:00:00Z';
const SCRIPTS = 3;
const env = { NEWSNAP_NOW: NOW, NEWSNAP_RENDER_POLICY: 'always', NEWSNAP_DISCOVERY_FEED_EVERY: 'off', NEWSNAP_CRAWL_RATE: '0' };
const scriptPath = (a: MirrorArticle, n: number) => `/js/${a.id}-${n}.js`;
const isScript = (path: string) => path.startsWith('/js/');

const mirrors: MirrorServer[] = [];
const served: Served[] = [];
afterEach(async () => {
  for (const s of served.splice(0)) await s.kill();
});
afterAll(async () => {
  for (const m of mirrors) await m.close();
});

/**
 * A mirror whose every article page loads scripts of its own from the site: the requests a
 * rendered page makes itself.
 */
async function mirrorWithScripts(articles: number): Promise<{ mirror: MirrorServer; origin: string; pages: MirrorArticle[] }> {
  const mirror = new MirrorServer({ articles, days: 1, lastDay: DAY, crawlDelay: 0 });
  mirrors.push(mirror);
  const origin = await mirror.listen();
  const pages = mirror.all().filter((a) => !a.gallery);
  for (const a of mirror.all()) {
    const path = new URL(articleUrl(a)).pathname;
    const html = await (await fetch(new URL(path, origin))).text();
    const scripts = Array.from({ length: SCRIPTS }, (_, n) => `<script src="${scriptPath(a, n)}"></script>`).join('');
    mirror.addPage(path, html.replace('</head>', `${scripts}</head>`));
    for (let n = 0; n < SCRIPTS; n++) mirror.addPage(scriptPath(a, n), '');
  }
  mirror.clearLog();
  return { mirror, origin, pages };
}

/** A crawl in this process with `middleware` first in the chain: its summary and each article's outcome. */
async function crawlWith(
  origin: string,
  middleware: RequestMiddleware,
  settings: Array<{ key: string; value: string | number; flag: string }> = [],
  then?: (runtime: ReturnType<typeof createRuntime>) => Promise<void>,
): Promise<{ summary: Awaited<ReturnType<typeof runCrawl>>; outcomes: Map<string, ArticleOutcome['kind']>; requests: string[] }> {
  const storage = await tempDir();
  const saved = process.env.NEWSNAP_NOW;
  process.env.NEWSNAP_NOW = NOW;
  const ctx = createContext({ origin, storage, logLevel: 'silent' }, [
    { key: 'render.policy', value: 'always', flag: '--render' },
    { key: 'crawl.rate', value: 0, flag: '--rate' },
    ...settings,
  ]);
  const shutdown = new Shutdown(ctx.log, { exitCode: 130 });
  const store = await openStorage(ctx, shutdown);
  const runtime = createRuntime(ctx, shutdown, store, { middlewares: (list) => [middleware, ...list] });
  const outcomes = new Map<string, ArticleOutcome['kind']>();
  const requests: string[] = [];
  runtime.engine.onOutcome((o) => outcomes.set(o.ref.id, o.kind));
  runtime.engine.onRequest((e) => requests.push(`${e.kind} ${e.status ?? e.error?.kind}`));
  try {
    const summary = await runCrawl({ engine: runtime.engine, lane: 'crawl', out: process.stdout, tty: false }, { since: DAY, dryRun: false, retryFailed: false }, shutdown.signal);
    await then?.(runtime);
    return { summary, outcomes, requests };
  } finally {
    await runtime.close();
    await store.close();
    shutdown.dispose();
    process.env.NEWSNAP_NOW = saved;
  }
}

function metricSum(text: string, name: string, labels: string[]): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && labels.every((label) => l.slice(0, l.indexOf('}')).split(/[{,]/).includes(label)))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe('one chain every request passes through', () => {
  it('with render.policy=always, newsnap_requests_total counts each render document and its sub-requests under the lane', async () => {
    const { mirror, origin, pages } = await mirrorWithScripts(6);
    const storage = await tempDir();
    const s = await startServe(['--schedule', '0 0 1 1 *', '--origin', origin, '--storage', storage], { env });
    served.push(s);
    await firstCrawlEnded(s.api);
    const text = await (await fetch(`${s.api}/metrics`)).text();
    const documents = mirror.log.filter((r) => ARTICLE_PATH.test(r.path));
    // Every article: its document in the browser, then its scripts (the mirror saw all of them).
    expect(documents.length).toBe(mirror.all().length);
    expect(mirror.log.filter((r) => isScript(r.path)).length).toBe(mirror.all().length * SCRIPTS);
    expect(pages.length).toBeGreaterThan(0);
    // Counted once each, under the schedule's lane: what the mirror answered, nothing left out.
    expect(metricSum(text, 'newsnap_requests_total', ['lane="schedule"'])).toBe(mirror.log.length);
    expect(metricSum(text, 'newsnap_requests_total', ['lane="schedule"', 'status="200"'])).toBe(mirror.log.filter((r) => r.status === 200).length);
  });

  it('a page whose scripts get no answer does not trip the circuit breaker: the site is up, the crawl goes on', async () => {
    const { mirror, origin } = await mirrorWithScripts(6);
    mirror.addFault({ path: '/js/*', kind: 'reset' });
    const storage = await tempDir();
    const res = await runCli(['crawl', '--since', DAY, '--origin', origin, '--storage', storage, '--concurrency', '1'], { env: { ...env, NEWSNAP_CRAWL_UNREACHABLE_AFTER: '2' } });
    expect([0, 1], res.stderr.slice(-2000)).toContain(res.code);
    // Every article's document went out and answered: the broken scripts stopped nothing.
    const documents = mirror.log.filter((r) => ARTICLE_PATH.test(r.path));
    expect(new Set(documents.map((r) => r.path)).size).toBe(mirror.all().length);
    expect(documents.every((r) => r.status === 200)).toBe(true);
    expect(mirror.log.filter((r) => isScript(r.path)).length).toBeGreaterThanOrEqual(mirror.all().length * SCRIPTS);
    expect(res.stdout.toString()).not.toMatch(/unreachable/i);
  });

  it('at crawl.rate 1 a render does not wait a rate slot for each of its sub-requests, which still count against the rate', async () => {
    const { mirror, origin } = await mirrorWithScripts(3);
    const storage = await tempDir();
    const res = await runCli(['crawl', '--since', DAY, '--origin', origin, '--storage', storage], { env: { ...env, NEWSNAP_CRAWL_RATE: '1' } });
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    const attempts = mirror.log.filter((r) => !isScript(r.path));
    const scripts = mirror.log.filter((r) => isScript(r.path));
    expect(scripts.length).toBe(mirror.all().length * SCRIPTS);
    // The rate holds for what lanes ask (robots.txt, the feed, sitemaps, documents)…
    expect(maxInWindow(attempts)).toBe(1);
    // …while a page's own requests go out with its document, in the slot it holds.
    for (const a of mirror.all()) {
      const doc = mirror.log.find((r) => r.path === new URL(articleUrl(a)).pathname)!;
      const own = scripts.filter((r) => r.path.startsWith(`/js/${a.id}-`));
      expect(own).toHaveLength(SCRIPTS);
      for (const r of own) expect(r.t - doc.t).toBeLessThan(1000);
    }
    // …and still count against the rate: the next document waits out each of them, as if it had.
    const docs = mirror.log.filter((r) => ARTICLE_PATH.test(r.path)).sort((a, b) => a.t - b.t);
    for (let k = 1; k < docs.length; k++) expect(docs[k]!.t - docs[k - 1]!.t).toBeGreaterThanOrEqual(SCRIPTS * 1000);
  });

  it('past render.maxSubrequests a page\'s further requests are aborted, and counted once as capped', async () => {
    const { mirror, origin } = await mirrorWithScripts(3);
    const { summary, requests } = await crawlWith(origin, { name: 'test-none' }, [{ key: 'render.maxSubrequests', value: 1, flag: '--max-subrequests' }]);
    expect(summary.status).toBe('done');
    const renders = mirror.log.filter((r) => ARTICLE_PATH.test(r.path)).length;
    // One script per page reached the site; each page's excess is one `capped` in the metric.
    expect(mirror.log.filter((r) => isScript(r.path)).length).toBe(renders);
    expect(requests.filter((r) => r === 'subrequest capped').length).toBe(renders);
  });

  it('a middleware added to the list sees every request of every kind with its URL and lane, and can veto one', async () => {
    const { mirror, origin, pages } = await mirrorWithScripts(4);
    const vetoed = scriptPath(pages[0]!, 1);
    const seen: Array<{ url: string; kind: string; lane: string | undefined; parent: boolean }> = [];
    const watcher: RequestMiddleware = {
      name: 'test-watcher',
      before(req: ChainRequest) {
        seen.push({ url: req.url, kind: req.kind, lane: req.lane?.lane, parent: req.parent !== null });
        if (new URL(req.url).pathname === vetoed) throw new RequestVeto('test-watcher', req.url, 'vetoed by the test');
      },
    };
    const { summary } = await crawlWith(origin, watcher, [], async (runtime) => {
      const manual = new ManualFetch(runtime.engine, { lane: 'manual', maxQueued: 1 });
      const outcome = await manual.fetch({ id: pages[1]!.id, day: pages[1]!.day, url: articleUrl(pages[1]!) });
      expect(outcome.kind).toBe('unchanged');
    });
    expect(summary.status).toBe('done');
    const kinds = new Set(seen.map((r) => r.kind));
    expect([...kinds].sort()).toEqual(['discovery', 'render', 'robots', 'subrequest']);
    // Every request the mirror saw went through it, with its URL and lane.
    const seenPaths = new Set(seen.map((r) => new URL(r.url).pathname + new URL(r.url).search));
    for (const r of mirror.log) expect(seenPaths.has(r.path), r.path).toBe(true);
    expect(seen.filter((r) => r.kind === 'subrequest').every((r) => r.parent)).toBe(true);
    expect(new Set(seen.filter((r) => r.lane !== 'crawl').map((r) => `${r.lane} ${r.kind}`))).toEqual(new Set(['manual render', 'manual subrequest']));
    // The veto kept that one request from ever reaching the site; the page's others went out.
    expect(mirror.log.some((r) => r.path === vetoed)).toBe(false);
    expect(mirror.log.some((r) => r.path === scriptPath(pages[0]!, 0))).toBe(true);
  });

  it('a render on a hung site reaches the breaker as a timeout: the run stops as unreachable (exit 3)', async () => {
    const { mirror, origin } = await mirrorWithScripts(6);
    for (const a of mirror.all()) mirror.addFault({ path: new URL(articleUrl(a)).pathname, kind: 'timeout' });
    const storage = await tempDir();
    const res = await runCli(['crawl', '--since', DAY, '--origin', origin, '--storage', storage, '--concurrency', '1'], {
      env: { ...env, NEWSNAP_CRAWL_UNREACHABLE_AFTER: '2', NEWSNAP_CRAWL_RETRIES: '1', NEWSNAP_RENDER_TIMEOUT_MS: '1500' },
    });
    expect(res.code, res.stderr.slice(-2000)).toBe(3);
    expect(`${res.stdout.toString()}${res.stderr}`).toMatch(/unreachable|cannot reach/i);
    // It stopped after the two hung documents: not every article was tried (each counted as aborted, none would be).
    expect(new Set(mirror.log.filter((r) => ARTICLE_PATH.test(r.path)).map((r) => r.path)).size).toBeLessThan(mirror.all().length);
  });

  it("a sub-request's 429 with Retry-After pauses every attempt queued after it", async () => {
    const { mirror, origin } = await mirrorWithScripts(4);
    // The first script any page asks for.
    mirror.addFault({ path: '/js/*', kind: 'status', status: 429, headers: { 'retry-after': '2' }, times: 1 });
    const storage = await tempDir();
    const res = await runCli(['crawl', '--since', DAY, '--origin', origin, '--storage', storage, '--concurrency', '1'], { env });
    expect([0, 1], res.stderr.slice(-2000)).toContain(res.code);
    const at = mirror.log.find((r) => isScript(r.path) && r.status === 429)!.t;
    const later = mirror.log.filter((r) => ARTICLE_PATH.test(r.path) && r.t > at);
    expect(later.length).toBeGreaterThan(0);
    // Nothing the lanes asked for went out inside the pause the sub-request was given.
    for (const r of later) expect(r.t - at, r.path).toBeGreaterThanOrEqual(1900);
  });

  it('a middleware whose after- and error-hooks throw changes nothing: every page is captured once, nothing crashes', async () => {
    const { mirror, origin } = await mirrorWithScripts(3);
    const broken: RequestMiddleware = {
      name: 'test-broken',
      after() {
        throw new Error('after-hook bug');
      },
      error() {
        throw new Error('error-hook bug');
      },
    };
    const { summary, outcomes } = await crawlWith(origin, broken);
    expect(summary.status).toBe('done');
    expect([...outcomes.values()].every((k) => k === 'written'), JSON.stringify([...outcomes])).toBe(true);
    // No good answer was turned into a retried failure: one request per document.
    const documents = mirror.log.filter((r) => ARTICLE_PATH.test(r.path)).map((r) => r.path);
    expect(documents.length).toBe(new Set(documents).size);
  });

  it("a browser redirect hop passes the chain: counted, and robots.txt's veto fails that page", async () => {
    const { mirror, origin, pages } = await mirrorWithScripts(3);
    const moved = new URL(articleUrl(pages[0]!)).pathname;
    mirror.addPage('/print/moved.html', '<html><body>print</body></html>');
    mirror.addFault({ path: moved, kind: 'redirect', status: 302, location: '/print/moved.html' });
    const seen: Array<{ path: string; kind: string; parent: boolean }> = [];
    const watcher: RequestMiddleware = {
      name: 'test-watcher',
      before(req: ChainRequest) {
        seen.push({ path: new URL(req.url).pathname, kind: req.kind, parent: req.parent !== null });
      },
    };
    const { outcomes } = await crawlWith(origin, watcher);
    // Heard once, as a hop within the render (Playwright's route never sees it), and judged: vetoed.
    expect(seen.filter((r) => r.path === '/print/moved.html')).toEqual([{ path: '/print/moved.html', kind: 'render', parent: true }]);
    expect(outcomes.get(pages[0]!.id)).not.toBe('written');
    expect(outcomes.get(pages[1]!.id)).toBe('written');
  });
});

describe('the request chain itself', () => {
  const signal = new AbortController().signal;

  it("a before-hook's throw fails that request with a clear error, and the later middlewares never see it", async () => {
    const later: string[] = [];
    const chain = new RequestChain([
      { name: 'buggy', before: () => { throw new TypeError('boom'); } },
      { name: 'later', before: (req) => void later.push(req.url) },
    ]);
    let sent = false;
    const run = chain.run({ url: 'https://example.test/a', kind: 'page', signal }, async () => (sent = true));
    await expect(run).rejects.toThrow(/buggy middleware failed \(boom\)/);
    await expect(run).rejects.toBeInstanceOf(RequestVeto);
    expect(sent).toBe(false);
    expect(later).toEqual([]);
  });

  it('an explicit null scope is no attempt: a request made with it is nobody\'s, even inside an attempt', async () => {
    const seen: Array<{ url: string; parent: string | null }> = [];
    const chain = new RequestChain([{ name: 'watch', before: (req) => void seen.push({ url: req.url, parent: req.parent?.url ?? null }) }]);
    await chain.run({ url: 'https://example.test/a', kind: 'render', signal }, async () => {
      (await chain.open('https://example.test/a', { kind: 'render' })).end({ status: 200, headers: {}, error: null });
      (await chain.open('https://example.test/popup', { kind: 'subrequest', scope: null })).end({ status: 200, headers: {}, error: null });
      (await chain.open('https://example.test/own.js', { kind: 'subrequest' })).end({ status: 200, headers: {}, error: null });
    });
    expect(seen).toEqual([
      { url: 'https://example.test/a', parent: null },
      { url: 'https://example.test/popup', parent: null },
      { url: 'https://example.test/own.js', parent: 'https://example.test/a' },
    ]);
  });
});
