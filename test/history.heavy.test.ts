import { afterEach, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import type { MirrorArticle } from '../src/mirror/site-model.js';
import { shiftDay, siteToday } from '../src/site/calendar.js';
import { runCli } from './helpers/cli.js';
import { ARTICLE_PATH } from './helpers/mirror.js';
import { startServe, until, type Served } from './helpers/serve.js';
import { readManifest, tempDir } from './helpers/storage.js';

// Real time throughout: the mirror edits "now", and serve's lanes run on their timers.
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const pathOf = (a: MirrorArticle) => `/${a.day}/${a.slug}-${a.id}.html`;
const dayOfPath = (path: string) => path.slice(1, 9);
const status = async (s: Served) => (await (await fetch(`${s.api}/status`)).json()) as Record<string, any>;

/** An article (not a gallery) published `from`..`to` days before `today`, the oldest of them first, not yet taken. */
function pick(mirror: MirrorServer, today: string, from: number, to: number, taken: Set<string>): MirrorArticle {
  const a = mirror.all().find((x) => !x.gallery && !taken.has(x.id) && x.day >= shiftDay(today, -to) && x.day <= shiftDay(today, -from));
  if (!a) throw new Error(`the mirror has no article ${from}-${to} days old`);
  taken.add(a.id);
  return a;
}

describe('the whole history stays watched', () => {
  it('edits and removals of articles of several ages, in several months, are recorded while a backfill of another range runs: each recheck before its last request', async () => {
    const mirror = new MirrorServer({ articles: 720, days: 120, crawlDelay: 0 });
    const origin = await mirror.listen();
    cleanup.push(() => mirror.close());
    const storage = await tempDir();
    const today = siteToday(Date.now());
    const env = { NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_BACKOFF_BASE_MS: '50' };

    // The last 60 days are crawled first; serve then backfills the 60 before them.
    const first = await runCli(['crawl', '--storage', storage, '--origin', origin, '--since', shiftDay(today, -59)], { env: { ...env, NEWSNAP_CRAWL_RATE: '0' } });
    expect(first.code).toBe(0);
    const backfill = { since: shiftDay(today, -119), until: shiftDay(today, -60) };
    const s = await startServe(['--storage', storage, '--origin', origin], {
      env: {
        ...env,
        NEWSNAP_CRAWL_RATE: '3',
        NEWSNAP_SERVE_SCHEDULE: '*/5 * * * * *',
        NEWSNAP_DISCOVERY_FEED_EVERY: 'off',
        NEWSNAP_DISCOVERY_SWEEP_EVERY: '12s',
        NEWSNAP_SERVE_BACKFILL_SINCE: backfill.since,
        NEWSNAP_SERVE_BACKFILL_UNTIL: backfill.until,
      },
    });
    cleanup.push(() => s.kill());
    await until('the backfill fetching', async () => ((await status(s)).backfill?.phase === 'fetching' ? true : undefined));

    // The site changes articles of every age the first crawl took, in several months.
    const taken = new Set<string>();
    const edited = [pick(mirror, today, 4, 6, taken), pick(mirror, today, 20, 25, taken), pick(mirror, today, 35, 45, taken)];
    const removed = [pick(mirror, today, 10, 15, taken), pick(mirror, today, 50, 58, taken)];
    expect(new Set([...edited, ...removed].map((a) => a.day.slice(0, 6))).size).toBeGreaterThanOrEqual(2);
    const changedAt = Date.now();
    for (const a of edited) mirror.edit(a.id, { at: new Date(changedAt).toISOString(), title: `${a.title} (düzeltildi)` });
    for (const a of removed) mirror.remove(a.id, 410);

    // Every change is recorded: an `updated` line for each edit, a `gone` line for each removal.
    const lines = await until('every change recorded', async () => {
      const manifest = await readManifest(storage);
      const has = (id: string, event: string) => manifest.some((l) => l.id === id && l.event === event);
      return edited.every((a) => has(a.id, 'updated')) && removed.every((a) => has(a.id, 'gone')) ? manifest : undefined;
    });
    for (const a of [...edited, ...removed]) expect(lines.filter((l) => l.id === a.id && (l.event === 'updated' || l.event === 'gone'))).toHaveLength(1);

    // The sweep read the months again (mostly a 304) and shows where it is in its cycle.
    const doc = await status(s);
    expect(doc.sweep.months).toBeGreaterThanOrEqual(4);
    expect(doc.sweep).toMatchObject({ every: '12s', readThisCycle: expect.any(Number), oldestReadAt: expect.any(String), nextAt: expect.any(String) });
    const page = await (await fetch(`${s.api}/`)).text();
    expect(page).toContain('data-section="sweep"');
    const metrics = await (await fetch(`${s.api}/metrics`)).text();
    expect(metrics).toMatch(/^newsnap_sweep_oldest_read_age_seconds \d+$/m);
    for (const lane of ['revisit', 'sweep', 'backfill', 'schedule']) expect(metrics).toMatch(new RegExp(`^newsnap_requests_total\\{[^}]*lane="${lane}"[^}]*\\} \\d+$`, 'm'));

    await until('the backfill done', async () => ((await status(s)).backfill?.phase === 'done' ? true : undefined));
    s.child.kill('SIGTERM');
    expect((await s.done).code).toBe(0);

    // The mirror's log: each changed article rechecked before the backfill's last request.
    const log = mirror.log;
    const lastBackfill = log.filter((r) => ARTICLE_PATH.test(r.path) && dayOfPath(r.path) >= backfill.since && dayOfPath(r.path) <= backfill.until).at(-1);
    expect(lastBackfill).toBeDefined();
    for (const a of [...edited, ...removed]) {
      const recheck = log.find((r) => r.path === pathOf(a) && r.t >= changedAt);
      expect(recheck, `the recheck of ${a.id} (${a.day})`).toBeDefined();
      expect(recheck!.t, `the recheck of ${a.id} (${a.day}) came before the backfill's last request`).toBeLessThan(lastBackfill!.t);
      expect(recheck!.status).toBe(removed.includes(a) ? 410 : 200);
    }
    const sitemapReads = log.filter((r) => r.path.startsWith('/sitemap_article.xml') && r.t >= changedAt);
    expect(sitemapReads.some((r) => r.status === 304)).toBe(true);
    expect(log.some((r) => r.path === '/sitemap_article_index.xml')).toBe(true);
  });
});
