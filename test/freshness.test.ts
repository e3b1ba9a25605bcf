import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import type { MirrorArticle } from '../src/mirror/site-model.js';
import { articleRequests, compareWithMirror, snapshotPath } from './helpers/mirror.js';
import { firstCrawlEnded, startServe, until, type Served } from './helpers/serve.js';
import { readManifest, tempDir } from './helpers/storage.js';
import { shiftDay, siteToday } from '../src/site/calendar.js';

// Real time throughout: the mirror publishes "now" and serve reads the clock as it goes.
const FEED = '/export/rss2/archive/index.xml';
const NEVER = '0 0 0 1 1 *';
const env = { NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_SERVE_SCHEDULE: NEVER, NEWSNAP_DISCOVERY_FEED_EVERY: '1s', NEWSNAP_CRAWL_BACKOFF_BASE_MS: '50', NEWSNAP_CRAWL_RATE: '0' };
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function mirrorWith(options: Partial<ConstructorParameters<typeof MirrorServer>[0]> = {}) {
  const mirror = new MirrorServer({ articles: 30, days: 3, crawlDelay: 0, ...options });
  const origin = await mirror.listen();
  cleanup.push(() => mirror.close());
  return { mirror, origin };
}

async function serve(storage: string, origin: string, extraEnv: Record<string, string> = {}): Promise<Served> {
  const served = await startServe(['--storage', storage, '--origin', origin], { env: { ...env, ...extraEnv } });
  cleanup.push(() => served.kill());
  return served;
}

const status = async (s: Served) => (await (await fetch(`${s.api}/status`)).json()) as Record<string, any>;

const captured = (storage: string, a: MirrorArticle) => existsSync(join(storage, snapshotPath(a)));

/**
 * Publishes one article now and waits for its snapshot. Returns it with `jumped`: the article
 * requests that reached the mirror between the feed answer that first listed it and its own
 * request. A new article goes ahead of every queued request, so only those already in flight
 * (at most crawl.concurrency) can come between: that is measured on the queue itself, whatever
 * the machine's speed (the lag in seconds is bench/freshness.mjs's to judge).
 */
async function publishAndWait(mirror: MirrorServer, storage: string): Promise<{ article: MirrorArticle; publishedAt: number; jumped: number }> {
  for (;;) {
    const at = Date.now();
    const from = mirror.log.length;
    const [article] = mirror.publish(1, { at: new Date(at).toISOString() });
    // A photo gallery (every 41st) is no article: nothing to wait for.
    if (article!.gallery) continue;
    await until(`the snapshot of ${article!.id}`, () => (captured(storage, article!) ? true : undefined));
    const log = mirror.log.slice(from);
    const listed = log.findIndex((r) => r.path === FEED && r.status === 200);
    const own = log.findIndex((r) => r.path === `/${article!.day}/${article!.slug}-${article!.id}.html`);
    expect(listed, 'a feed poll listed it').toBeGreaterThanOrEqual(0);
    expect(own, 'its request came after the feed listed it').toBeGreaterThan(listed);
    return { article: article!, publishedAt: at, jumped: articleRequests(log.slice(listed + 1, own)).length };
  }
}

describe('the feed watch between crawls', () => {
  it('polls the feed every discovery.feedEvery with a conditional request and fetches a new article at once; /status and /metrics show the lag and the next poll', async () => {
    const { mirror, origin } = await mirrorWith();
    const storage = await tempDir();
    const s = await serve(storage, origin);
    // The first poll takes what the feed lists of today and yesterday.
    const yesterday = shiftDay(siteToday(Date.now()), -1);
    const recent = mirror.all().filter((a) => a.day >= yesterday && !a.gallery);
    expect(recent.length).toBeGreaterThan(3);
    await until('the first poll', async () => ((await status(s)).feedWatch.lastPoll ? true : undefined));
    await until('the recent articles', () => (recent.every((a) => captured(storage, a)) ? true : undefined));
    await firstCrawlEnded(s.api);
    mirror.clearLog();
    // Idle: a 304 a second, nothing else.
    await until('three idle polls', () => (mirror.log.filter((r) => r.path === FEED).length >= 3 ? true : undefined));
    expect(new Set(mirror.log.map((r) => `${r.path} ${r.status}`))).toEqual(new Set([`${FEED} 304`]));

    mirror.clearLog();
    const { article, publishedAt, jumped } = await publishAndWait(mirror, storage);
    expect(jumped).toBe(0);
    expect(articleRequests(mirror.log).map((r) => r.path)).toEqual([`/${article.day}/${article.slug}-${article.id}.html`]);
    expect(mirror.log.filter((r) => r.path === FEED).map((r) => r.status)).toContain(200);
    // The store's first crawl took the rest of the mirror: every article is there, exactly.
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);

    const doc = await status(s);
    expect(doc.feedWatch).toMatchObject({ every: '1s', failuresInARow: 0 });
    // The watch goes on: its next poll was planned after the publication it picked up.
    expect(Date.parse(doc.feedWatch.nextPollAt)).toBeGreaterThan(publishedAt);
    expect(doc.freshness.captured).toBeGreaterThan(0);
    expect(doc.freshness.medianSeconds).toEqual(expect.any(Number));
    const page = await (await fetch(`${s.api}/`)).text();
    expect(page).toContain('data-stat="captureLag.median"');
    expect(page).toContain('data-stat="nextFeedPoll"');
    const metrics = await (await fetch(`${s.api}/metrics`)).text();
    expect(metrics).toMatch(/^newsnap_capture_lag_seconds_count \d+$/m);
    expect(Number(/^newsnap_capture_lag_seconds_count (\d+)$/m.exec(metrics)![1])).toBeGreaterThan(0);
    expect(Number(/^newsnap_feed_polls_total\{outcome="unchanged"\} (\d+)$/m.exec(metrics)![1])).toBeGreaterThanOrEqual(3);
    s.child.kill('SIGTERM');
    expect((await s.done).code).toBe(0);
  });

  it("the feed's Cache-Control: max-age spaces the polls; failures back off", async () => {
    const { mirror, origin } = await mirrorWith({ feedMaxAge: 2 });
    const storage = await tempDir();
    // One attempt a request: each read of the feed is one poll, told apart without a clock.
    const s = await serve(storage, origin, { NEWSNAP_CRAWL_RETRIES: '1' });
    await firstCrawlEnded(s.api);
    mirror.clearLog();
    await until('four polls', () => (mirror.log.filter((r) => r.path === FEED).length >= 4 ? true : undefined));
    const times = mirror.log.filter((r) => r.path === FEED).map((r) => r.t);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1950);

    // Every read fails: the polls spread out, waiting at least 1, 2, 4 s… (half of 2, 4, 8 s, with jitter).
    mirror.addFault({ path: FEED, kind: 'status', status: 500 });
    mirror.clearLog();
    const failedPolls = () => mirror.log.filter((x) => x.path === FEED && x.status === 500).map((r) => r.t);
    await until('four failed polls', () => (failedPolls().length >= 4 ? true : undefined));
    const polls = failedPolls();
    expect(polls[2]! - polls[1]!).toBeGreaterThanOrEqual(1900);
    expect(polls[3]! - polls[2]!).toBeGreaterThanOrEqual(3900);
    expect((await status(s)).feedWatch.failuresInARow).toBeGreaterThanOrEqual(2);
    s.child.kill('SIGTERM');
    expect((await s.done).code).toBe(0);
  });
});

describe('a backfill inside serve', () => {
  it("works through the mirror's history with the budget left over while new articles are captured within seconds; resumes after a restart; POST /backfill", async () => {
    const { mirror, origin } = await mirrorWith({ articles: 240, days: 24 });
    const storage = await tempDir();
    const since = mirror.all()[0]!.day;
    const backfillEnv = { NEWSNAP_CRAWL_RATE: '10', NEWSNAP_SERVE_BACKFILL_SINCE: since, NEWSNAP_SERVE_TOKEN: 'sekrit' };
    let s = await serve(storage, origin, backfillEnv);

    const progress = await until('the backfill fetching', async () => {
      const b = (await status(s)).backfill;
      return b?.phase === 'fetching' && b.done > 10 ? b : undefined;
    });
    expect(progress).toMatchObject({ since, until: expect.stringMatching(/^\d{8}$/), total: expect.any(Number), perHour: expect.any(Number), etaAt: expect.any(String) });
    expect(await (await fetch(`${s.api}/`)).text()).toContain('data-section="backfill"');

    // New articles while the backfill runs: each captured ahead of the backfill's queue (only
    // requests already in flight, crawl.concurrency = 4 at most, come between).
    for (let i = 0; i < 3; i++) {
      const { jumped } = await publishAndWait(mirror, storage);
      expect(jumped).toBeLessThanOrEqual(4);
      expect((await status(s)).backfill.phase).not.toBe('done');
    }

    // POST /backfill: the token, a day, one at a time.
    const post = (body: unknown, token = 'sekrit') => fetch(`${s.api}/backfill`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    expect((await post({ since: '2020-01-01' }, 'wrong')).status).toBe(401);
    expect((await post({ since: 'yesterday' })).status).toBe(400);
    expect((await post({ since: '2020-01-01', until: '2020-02-01' })).status).toBe(409);

    // A restart mid-way: the backfill resumes where it was.
    const before = (await status(s)).backfill.done as number;
    expect(before).toBeLessThan(240);
    s.child.kill('SIGTERM');
    expect((await s.done).code).toBe(0);
    s = await serve(storage, origin, { ...backfillEnv, NEWSNAP_SERVE_BACKFILL_SINCE: '' });
    expect((await status(s)).backfill).toMatchObject({ since, phase: expect.stringMatching(/discovering|fetching/) });
    await until('the backfill done', async () => ((await status(s)).backfill.phase === 'done' ? true : undefined));
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
    const news = (await readManifest(storage)).filter((l) => l.event === 'new').map((l) => l.id);
    expect(new Set(news).size).toBe(news.length);
    expect(news.length).toBe(mirror.all().filter((a) => !a.gallery).length);
    // Done, the same range again changes nothing.
    const again = await post({ since: `${since.slice(0, 4)}-${since.slice(4, 6)}-${since.slice(6)}` });
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ phase: 'done' });
    s.child.kill('SIGTERM');
    expect((await s.done).code).toBe(0);
  });
});
