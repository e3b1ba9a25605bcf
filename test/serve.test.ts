import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { runCli } from './helpers/cli.js';
import { firstCrawlEnded, startServe, until, type Served } from './helpers/serve.js';
import { articleRequests, compareWithMirror } from './helpers/mirror.js';
import { REFERENCE_CASES, SEED } from './helpers/paths.js';
import { listFiles, lockIsFree, tempDir } from './helpers/storage.js';

const TODAY = '20251215';
const NOW = '2025-12-15T12:00:00Z';
// The feed watch between crawls has its own tests (freshness.test.ts): here only the schedule and POST /fetch request articles.
const env = { NEWSNAP_NOW: NOW, NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_SERVE_PORT: '0', NEWSNAP_DISCOVERY_FEED_EVERY: 'off' };
const SEED_CASE = REFERENCE_CASES[0]!;
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function mirrorWith(options: ConstructorParameters<typeof MirrorServer>[0]) {
  const mirror = new MirrorServer({ lastDay: TODAY, crawlDelay: 0, ...options });
  mirror.addPage(new URL(SEED_CASE.url).pathname, readFileSync(SEED_CASE.page, 'utf8'));
  const origin = await mirror.listen();
  cleanup.push(() => mirror.close());
  return { mirror, origin };
}

/** Starts `newsnap serve` with this file's environment; it is killed after the test. */
async function serve(args: string[], extraEnv: Record<string, string> = {}): Promise<Served> {
  const served = await startServe(args, { env: { ...env, ...extraEnv } });
  cleanup.push(() => served.kill());
  return served;
}

/** The sum of a metric's series whose labels include `label` (every lane's, say). */
function metricSum(text: string, name: string, label: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.slice(0, l.indexOf('}')).split(/[{,]/).includes(label))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').at(-1)) : Number.NaN;
}

interface Run {
  startedAt: string;
  finishedAt: string | null;
  status: string | null;
}

describe('newsnap serve', () => {
  it('crawls on its schedule, never two runs at once; /status and /metrics reflect the runs', async () => {
    const { mirror, origin } = await mirrorWith({ articles: 40, days: 5 });
    const storage = await tempDir();
    const { api } = await serve(['--schedule', '*/2 * * * * *', '--origin', origin, '--storage', storage, '--rate', '0']);
    const health = await fetch(`${api}/healthz`);
    expect(health.status).toBe(200);
    expect(await (await fetch(`${api}/readyz`)).json()).toMatchObject({ ready: true, storageWritable: true, stateOpen: true });
    const runs = await until('three finished runs', async () => {
      const status = (await (await fetch(`${api}/status`)).json()) as { recentRuns: Run[] };
      const finished = status.recentRuns.filter((r) => r.finishedAt);
      return finished.length >= 3 ? finished : undefined;
    });
    const spans = runs.map((r) => [Date.parse(r.startedAt), Date.parse(r.finishedAt!)] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    expect(runs.every((r) => r.status === 'done')).toBe(true);
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
    const status = (await (await fetch(`${api}/status`)).json()) as { outcomes: Record<string, number>; articles: Record<string, number> };
    expect(status.outcomes).toMatchObject({ written: mirror.all().filter((a) => !a.gallery).length, notArticle: mirror.all().filter((a) => a.gallery).length, updated: 0, gone: 0, failed: 0 });
    expect(status.articles).toMatchObject({ done: status.outcomes.written, skipped: status.outcomes.notArticle, gone: 0 });

    const text = await (await fetch(`${api}/metrics`)).text();
    const articles = mirror.all().filter((a) => !a.gallery).length;
    expect(metric(text, 'newsnap_articles_total', 'outcome="written"')).toBe(articles);
    expect(metric(text, 'newsnap_articles_total', 'outcome="not_article"')).toBe(mirror.all().length - articles);
    expect(metric(text, 'newsnap_crawls_total', 'status="done"')).toBeGreaterThanOrEqual(3);
    // Every request of every lane (the schedule's crawls, the feed watch) is counted, under its lane.
    expect(metricSum(text, 'newsnap_requests_total', 'status="200"')).toBe(mirror.log.filter((r) => r.status === 200).length);
    expect(metricSum(text, 'newsnap_requests_total', 'status="304"')).toBe(mirror.log.filter((r) => r.status === 304).length);
    expect(text).toMatch(/^newsnap_requests_total\{status="200",lane="schedule"\} \d+$/m);
    expect(metric(text, 'newsnap_discovery_sources_total', 'kind="rss",outcome="unchanged"')).toBeGreaterThanOrEqual(2);
    expect(metric(text, 'newsnap_last_successful_crawl_timestamp_seconds')).toBe(Date.parse(NOW) / 1000);
    expect(metric(text, 'newsnap_queue_length')).toBe(0);
    expect(text).toMatch(/^# TYPE newsnap_rate_limit_wait_seconds_total counter$/m);
    // Prometheus's own linter accepts every metric (Debian's prometheus package; setup installs it).
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.error, 'promtool missing: run scripts/setup.sh (it installs Debian\'s prometheus)').toBeUndefined();
    expect(`${lint.stdout}${lint.stderr}`).toBe('');
    expect(lint.status).toBe(0);
  });

  it('POST /fetch: writes a good URL; refuses foreign hosts, non-articles, bad bodies, missing tokens; obeys the rate limit', async () => {
    const { mirror, origin } = await mirrorWith({ articles: 10, days: 1 });
    const storage = await tempDir();
    const { api } = await serve(['--schedule', '0 0 1 1 *', '--origin', origin, '--storage', storage, '--rate', '2'], { NEWSNAP_SERVE_TOKEN: 's3cret' });
    await firstCrawlEnded(api);
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${api}/fetch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer s3cret', ...headers }, body });

    const good = await post(JSON.stringify({ url: SEED_CASE.url }));
    expect(good.status).toBe(200);
    expect(await good.json()).toMatchObject({ result: 'written', id: '1102014239', path: 'snapshots/2025-12-20/1102014239.txt' });
    expect(readFileSync(join(storage, 'snapshots/2025-12-20/1102014239.txt')).equals(readFileSync(SEED))).toBe(true);
    expect(((await (await post(JSON.stringify({ url: SEED_CASE.url }))).json()) as { result: string }).result).toBe('unchanged');

    expect((await post(JSON.stringify({ url: 'https://evil.example/20251220/x-1102014239.html' }))).status).toBe(400);
    expect((await post(JSON.stringify({ url: 'https://anlatilaninotesi.com.tr/world/' }))).status).toBe(400);
    expect((await post('{"url": ')).status).toBe(400);
    expect((await post(JSON.stringify({ link: SEED_CASE.url }))).status).toBe(400);
    expect((await post(JSON.stringify({ url: SEED_CASE.url }), { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post(JSON.stringify({ url: SEED_CASE.url }), { authorization: '' })).status).toBe(401);
    expect((await post(JSON.stringify({ url: SEED_CASE.url }), { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(JSON.stringify({ url: 'x'.repeat(20_000) }))).status).toBe(413);
    expect((await fetch(`${api}/fetch`)).status).toBe(405);
    expect((await post(JSON.stringify({ url: 'https://anlatilaninotesi.com.tr/20251215/yok-1199999999.html' }))).status).toBe(502);

    // Four at once at 2 requests a second: the mirror sees them spread over more than a second.
    mirror.clearLog();
    const four = mirror.all().slice(0, 4).map((a) => `https://anlatilaninotesi.com.tr/${a.day}/${a.slug}-${a.id}.html`);
    const results = await Promise.all(four.map((url) => post(JSON.stringify({ url }))));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const times = articleRequests(mirror.log).map((r) => r.t).sort((a, b) => a - b);
    expect(times).toHaveLength(4);
    expect(times[2]! - times[0]!).toBeGreaterThanOrEqual(1000);
  });

  it('a flood of POST /fetch queues behind the rate limit, and past the bound gets 429 at once', async () => {
    const { mirror, origin } = await mirrorWith({ articles: 12, days: 1 });
    const storage = await tempDir();
    const { api } = await serve(['--schedule', '0 0 1 1 *', '--origin', origin, '--storage', storage, '--rate', '2'], { NEWSNAP_SERVE_MAX_QUEUED_FETCHES: '3', NEWSNAP_DISCOVERY_FEED_EVERY: 'off' });
    await firstCrawlEnded(api);
    // Ten new articles, each held 5 s by the mirror: the three admitted are still in flight when the rest arrive.
    const fresh = mirror.publish(10);
    for (const a of fresh) mirror.addFault({ path: `/${a.day}/${a.slug}-${a.id}.html`, kind: 'slow', delayMs: 5000 });
    mirror.clearLog();
    const urls = fresh.map((a) => `https://anlatilaninotesi.com.tr/${a.day}/${a.slug}-${a.id}.html`);
    const statuses = await Promise.all(urls.map((url) => fetch(`${api}/fetch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url }) }).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    expect(articleRequests(mirror.log)).toHaveLength(3);
  });

  it('SIGTERM during a crawl: exit 0, no partial file, lock released; the next start resumes', async () => {
    const { mirror, origin } = await mirrorWith({ articles: 60, days: 5 });
    const storage = await tempDir();
    const { child, api, done } = await serve(['--schedule', '* * * * * *', '--origin', origin, '--storage', storage, '--rate', '10']);
    await until('a running crawl with some work done', async () => {
      const status = (await (await fetch(`${api}/status`)).json()) as { running: unknown; articles: { done: number } };
      return status.running && status.articles.done >= 5 ? true : undefined;
    });
    child.kill('SIGTERM');
    const res = await done;
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('"msg":"stopped"');
    const files = await listFiles(storage);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(lockIsFree(storage)).toBe(true);
    expect(await compareWithMirror(storage, mirror.all())).not.toEqual([]);
    const resumed = await runCli(['crawl', '--origin', origin, '--storage', storage, '--rate', '0'], { env });
    expect(resumed.code).toBe(0);
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
  });

  it('a bad configuration value stops start-up with a message naming the key', async () => {
    const res = await runCli(['serve', '--storage', await tempDir()], { env: { ...env, NEWSNAP_CRAWL_CONCURRENCY: 'many' } });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/configuration key crawl.concurrency must be a number, got "many"/);
  });
});
