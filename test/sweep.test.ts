import { afterEach, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { shiftDay, siteToday } from '../src/site/calendar.js';
import { runCli } from './helpers/cli.js';
import { ARTICLE_PATH } from './helpers/mirror.js';
import { startServe, until, type Served } from './helpers/serve.js';
import { readManifest, tempDir } from './helpers/storage.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const status = async (s: Served) => (await (await fetch(`${s.api}/status`)).json()) as Record<string, any>;
const env = { NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_BACKOFF_BASE_MS: '50', NEWSNAP_CRAWL_RATE: '0' };

/** A mirror of 70 days whose last 3 a first crawl took: the older months are the history. */
async function crawledRecently() {
  const mirror = new MirrorServer({ articles: 140, days: 70, crawlDelay: 0 });
  const origin = await mirror.listen();
  cleanup.push(() => mirror.close());
  const storage = await tempDir();
  const today = siteToday(Date.now());
  expect((await runCli(['crawl', '--storage', storage, '--origin', origin, '--since', shiftDay(today, -2)], { env })).code).toBe(0);
  return { mirror, origin, storage, today };
}

/** serve with a 2 s sweep; the schedule stays out of the way (once a year): only the sweep reads the older months. */
async function sweeping(storage: string, origin: string, more: Record<string, string> = {}): Promise<Served> {
  const s = await startServe(['--storage', storage, '--origin', origin], {
    env: { ...env, NEWSNAP_SERVE_SCHEDULE: '0 0 1 1 *', NEWSNAP_DISCOVERY_FEED_EVERY: 'off', NEWSNAP_DISCOVERY_SWEEP_EVERY: '2s', ...more },
  });
  cleanup.push(() => s.kill());
  return s;
}

describe('the sweep of the history', () => {
  it('reads every month without hiding one from a later backfill: the sweep counts what it leaves out, and `crawl --since` then captures it', async () => {
    const { mirror, origin, storage, today } = await crawledRecently();
    const s = await sweeping(storage, origin);
    const swept = await until('every month swept', async () => {
      const doc = (await status(s)).sweep;
      return doc && doc.months >= 3 && doc.readThisCycle === doc.months && doc.unknownListed > 0 ? doc : undefined;
    });
    // Months the first crawl never saw: their articles are listed, not known, and counted.
    expect(swept.unknownListed).toBeGreaterThan(0);
    s.child.kill('SIGTERM');
    expect((await s.done).code).toBe(0);

    // Days a whole month before the first crawl's: months only the sweep read.
    const range = { since: shiftDay(today, -69), until: shiftDay(today, -40) };
    const expected = mirror.all().filter((a) => a.day >= range.since && a.day <= range.until);
    expect(expected.length).toBeGreaterThan(0);
    const requestsBefore = mirror.log.length;
    expect((await runCli(['crawl', '--storage', storage, '--origin', origin, '--since', range.since, '--until', range.until], { env })).code).toBe(0);
    const fetched = new Set(mirror.log.slice(requestsBefore).filter((r) => ARTICLE_PATH.test(r.path)).map((r) => r.path));
    expect(fetched.size).toBe(expected.length);
    const ids = new Set((await readManifest(storage)).map((l) => l.id));
    expect(expected.filter((a) => !a.gallery).every((a) => ids.has(a.id))).toBe(true);
  });

  it('goes on past a month robots.txt disallows: that month waits a cycle, the others are read again', async () => {
    const { mirror, origin, storage } = await crawledRecently();
    const oldest = mirror.all().map((a) => a.day.slice(0, 6)).sort()[0]!;
    mirror.robots = `User-agent: *\nDisallow: /sitemap_article.xml?date_start=${oldest}01\n`;
    const from = mirror.log.length;
    // At 5 requests a second, a month every 0.7 s is a third of the budget: said at start.
    const s = await sweeping(storage, origin, { NEWSNAP_CRAWL_RATE: '5' });
    // Every month but the disallowed one is read at least twice: the sweep does not stall on it.
    await until('a second cycle over the allowed months', async () => {
      const doc = (await status(s)).sweep;
      if (!doc || doc.months < 3 || doc.disallowed !== 1) return undefined;
      const reads = new Map<string, number>();
      for (const r of mirror.log.slice(from)) {
        const month = /^\/sitemap_article\.xml\?date_start=(\d{6})01/.exec(r.path)?.[1];
        if (month) reads.set(month, (reads.get(month) ?? 0) + 1);
      }
      return reads.size === doc.months - 1 && [...reads.values()].every((n) => n >= 2) ? true : undefined;
    });
    expect(mirror.log.slice(from).some((r) => r.path.startsWith(`/sitemap_article.xml?date_start=${oldest}01`))).toBe(false);
    s.child.kill('SIGTERM');
    const { code, stdout, stderr } = await s.done;
    expect(code).toBe(0);
    expect(`${stdout}${stderr}`).toMatch(/sweep: discovery\.sweepEvery over \d+ months takes \d+ % of crawl\.rate; a backfill gets only what is left \(set discovery\.sweepEvery longer/);
  });
});
