import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { monthSitemap } from '../src/mirror/page-templates.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { ARTICLE_PATH } from './helpers/mirror.js';
import { tempDir } from './helpers/storage.js';

const env = { NEWSNAP_NOW: '2025-12-15T12:00:00Z', NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_RATE: '0', NEWSNAP_CRAWL_BACKOFF_BASE_MS: '50' };
let mirror: MirrorServer;
beforeAll(async () => {
  mirror = new MirrorServer({ articles: 60, days: 10, lastDay: '20251215', crawlDelay: 0 });
  await mirror.listen();
});
afterAll(() => mirror.close());

describe('a month sitemap that suddenly lists few of its articles', () => {
  it('is held once (nothing made due, the read failed and named), believed when read the same way again, and a whole read clears it', async () => {
    const storage = await tempDir();
    const crawl = () => runCli(['crawl', '--since', '20251206', '--origin', mirror.baseUrl, '--storage', storage], { env });
    const articlesFetched = async (run: () => Promise<CliResult>) => {
      const before = mirror.log.length;
      const result = await run();
      return { result, pages: mirror.log.slice(before).filter((r) => ARTICLE_PATH.test(r.path)).length };
    };
    expect((await crawl()).code).toBe(0);
    const all = mirror.all();
    // The site answers its sitemaps with five of the month's sixty articles, whole and well formed.
    const kept = all.slice(-5);
    mirror.addFault({ path: '/sitemap_article.xml*', kind: 'body', headers: { 'content-type': 'application/xml; charset=utf-8' }, body: monthSitemap(kept), times: 2 });

    const held = await articlesFetched(crawl);
    expect(held.pages, `${held.result.stdout}${held.result.stderr.slice(-3000)}`).toBe(0);
    // A failed source makes the run partial (exit 1): the month backs off and is read again.
    expect(held.result.code).toBe(1);
    // Its list came whole: no day listing is read in its place.
    expect(mirror.log.some((r) => /^\/\d{8}\/$/.test(r.path))).toBe(false);
    expect(`${held.result.stderr}${held.result.stdout}`).toMatch(/lists 5 of the \d+ captured articles it listed before; held as a short read/);

    // The same short listing again: believed, and what it no longer lists is checked at once.
    const believed = await articlesFetched(crawl);
    expect(believed.pages).toBeGreaterThanOrEqual(all.length - kept.length - 5);
    expect(`${believed.result.stderr}${believed.result.stdout}`).not.toMatch(/held as a short read/);

    // The site lists them all again: nothing is held, nothing more is due.
    const whole = await articlesFetched(crawl);
    expect(whole.result.code).toBe(0);
    expect(whole.pages).toBe(0);
  });
});
