import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { daysOf, incrementalSitemapReads, incrementalWindow, monthsOf, parseDay } from '../src/engine/lanes/crawl-plan.js';
import { parseRobots, XmlLocStream } from '../src/discover/index.js';
import { SlidingWindowGate } from '../src/engine/sliding-window.js';
import { REFERENCE } from './helpers/paths.js';

const sample = (name: string) => readFileSync(join(REFERENCE, 'discovery', name));

describe('robots.txt (RFC 9309)', () => {
  const robots = parseRobots(sample('robots.txt').toString('utf8'), 'newsnap');
  it('the site sample: disallowed paths, wildcard queries, Crawl-delay, sitemaps', () => {
    expect(robots.isAllowed('/services/20251220/more.html?id=1')).toBe(false);
    expect(robots.isAllowed('/search/?q=x')).toBe(false);
    expect(robots.isAllowed('/20251220/x-1102014239.html?chat_room_id=5')).toBe(false);
    expect(robots.isAllowed('/20251220/x-1102014239.html')).toBe(true);
    expect(robots.isAllowed('/robots.txt')).toBe(true);
    expect(robots.crawlDelay).toBe(1);
    expect(robots.sitemaps).toEqual(['https://anlatilaninotesi.com.tr/sitemap_article_index.xml', 'https://anlatilaninotesi.com.tr/sitemap_news.xml']);
  });
  it('our own group wins over *, longest match wins, Allow wins a tie, $ anchors', () => {
    const r = parseRobots('User-agent: *\nDisallow: /\n\nUser-agent: newsnap\nDisallow: /a\nAllow: /a/b\nDisallow: /*.pdf$\nAllow: /c\nDisallow: /c', 'newsnap');
    expect(r.isAllowed('/x')).toBe(true);
    expect(r.isAllowed('/a/x')).toBe(false);
    expect(r.isAllowed('/a/b/c')).toBe(true);
    expect(r.isAllowed('/f.pdf')).toBe(false);
    expect(r.isAllowed('/f.pdf?x')).toBe(true);
    expect(r.isAllowed('/c')).toBe(true);
    expect(parseRobots('User-agent: BadBot\nDisallow: /', 'newsnap').isAllowed('/x')).toBe(true);
  });
  it('garbage gives no rules', () => {
    expect(parseRobots('\u0000\u00ff<html>not robots</html>', 'newsnap').isAllowed('/anything')).toBe(true);
  });
});

describe('sitemap and feed streams', () => {
  function parse(buf: Buffer, chunk = 7) {
    const urls: string[] = [];
    const p = new XmlLocStream((u) => urls.push(u));
    for (let i = 0; i < buf.length; i += chunk) p.write(buf.subarray(i, i + chunk));
    p.end();
    return { urls, p };
  }
  it('reads the samples in small chunks (multi-byte characters split across chunks)', () => {
    const index = parse(sample('sitemap_article_index.xml'));
    expect(index.urls[0]).toBe('https://anlatilaninotesi.com.tr/sitemap_article.xml?date_start=20251201&date_end=20251231');
    expect(index.p.problem(['sitemapindex'])).toBeNull();
    const month = parse(sample('sitemap_article-202512.xml'), 3);
    expect(month.urls).toHaveLength(3);
    expect(month.urls.every((u) => u.endsWith('.html'))).toBe(true);
    const rss = parse(sample('rss.xml'), 5);
    expect(rss.urls).toHaveLength(3);
    expect(rss.p.problem(['rss'])).toBeNull();
  });
  it("a sitemap's <lastmod> comes with its URL, whichever comes first inside <url>", () => {
    const seen: Array<[string, string | undefined]> = [];
    const p = new XmlLocStream((u, _kind, lastmod) => seen.push([u, lastmod]));
    p.write(sample('sitemap_article-202512.xml'));
    p.write(Buffer.from(''));
    p.end();
    expect(seen).toHaveLength(3);
    expect(seen.every(([, lastmod]) => typeof lastmod === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(lastmod))).toBe(true);
    const reversed = new XmlLocStream((u, _kind, lastmod) => seen.push([u, lastmod]));
    reversed.write(Buffer.from('<urlset><url><lastmod>2025-12-20T16:00:00+03:00</lastmod><loc>https://anlatilaninotesi.com.tr/20251220/x-1102014239.html</loc></url><url><loc>https://anlatilaninotesi.com.tr/20251220/y-1102014240.html</loc></url></urlset>'));
    reversed.end();
    expect(seen.slice(3)).toEqual([
      ['https://anlatilaninotesi.com.tr/20251220/x-1102014239.html', '2025-12-20T16:00:00+03:00'],
      ['https://anlatilaninotesi.com.tr/20251220/y-1102014240.html', undefined],
    ]);
  });
  it('a cut-off document and a non-XML one are reported', () => {
    const whole = sample('sitemap_article-202512.xml');
    expect(parse(whole.subarray(0, whole.length - 40)).p.problem(['urlset'])).toMatch(/cut off/);
    expect(parse(Buffer.from('<html><body>oops</body></html>')).p.problem(['urlset'])).toMatch(/not a urlset document/);
  });
});

describe('crawl window', () => {
  it('incremental: from the day before the last run; a first run takes this month; near a month start the previous month too', () => {
    expect(incrementalWindow('20251215', '20251214')).toEqual({ since: '20251213', until: '20251215', backfill: false });
    expect(incrementalWindow('20251215', null).since).toBe('20251201');
    expect(incrementalWindow('20251202', null).since).toBe('20251130');
    expect(monthsOf(incrementalWindow('20251202', '20251201'))).toEqual(['202512', '202511']);
    expect(monthsOf({ since: '20241130', until: '20250102', backfill: true })).toEqual(['202501', '202412', '202411']);
    expect(daysOf('202511', { since: '20251129', until: '20251202', backfill: true })).toEqual(['20251130', '20251129']);
    expect([parseDay('2025-12-01'), parseDay('20251231'), parseDay('2025-02-30'), parseDay('dün')]).toEqual(['20251201', '20251231', null, null]);
  });
});

describe('sliding-window gate', () => {
  it('never lets more than cap requests into a window, counting in-flight ones, and holds everything during a pause', async () => {
    const gate = new SlidingWindowGate(3, 200);
    const t0 = performance.now();
    const grants: number[] = [];
    const ends: number[] = [];
    await Promise.all(
      Array.from({ length: 9 }, async () => {
        const release = await gate.acquire();
        grants.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 30));
        ends.push(performance.now() - t0);
        release();
      }),
    );
    grants.sort((a, b) => a - b);
    ends.sort((a, b) => a - b);
    // Request k+3 may only start once request k ended at least a window ago.
    for (let k = 0; k + 3 < grants.length; k++) expect(grants[k + 3]! - ends[k]!).toBeGreaterThanOrEqual(199);
    gate.pauseFor(300);
    const before = performance.now();
    (await gate.acquire())();
    expect(performance.now() - before).toBeGreaterThanOrEqual(299);
  });
});

describe('the sitemaps an incremental run reads', () => {
  const HOUR = 3_600_000;
  // 15:00 in Istanbul on 15 December; the month was read whole 10 minutes ago.
  const now = Date.parse('2025-12-15T12:00:00Z');
  const plan = (o: { lastDiscoveryDay: string | null; nowMs?: number; monthReadAgoMs?: number | null; today?: string }) => {
    const nowMs = o.nowMs ?? now;
    const today = o.today ?? '20251215';
    return incrementalSitemapReads({
      window: incrementalWindow(today, o.lastDiscoveryDay),
      lastDiscoveryDay: o.lastDiscoveryDay,
      nowMs,
      monthEveryMs: HOUR,
      monthReadAt: () => (o.monthReadAgoMs === null ? null : nowMs - (o.monthReadAgoMs ?? 10 * 60_000)),
    });
  };
  it('between whole reads of the month, today alone; the month whole once an hour has passed', () => {
    expect(plan({ lastDiscoveryDay: '20251215' })).toEqual([{ kind: 'range', since: '20251215', until: '20251215' }]);
    expect(plan({ lastDiscoveryDay: '20251215', monthReadAgoMs: HOUR })).toEqual([{ kind: 'month', month: '202512' }]);
    expect(plan({ lastDiscoveryDay: '20251215', monthReadAgoMs: null })).toEqual([{ kind: 'month', month: '202512' }]);
  });
  it('in the hour after midnight, yesterday and today; after a gap, every day since the last discovery', () => {
    expect(plan({ lastDiscoveryDay: '20251215', nowMs: Date.parse('2025-12-14T21:30:00Z') })).toEqual([{ kind: 'range', since: '20251214', until: '20251215' }]);
    expect(plan({ lastDiscoveryDay: '20251215', nowMs: Date.parse('2025-12-14T22:00:00Z') })).toEqual([{ kind: 'range', since: '20251215', until: '20251215' }]);
    expect(plan({ lastDiscoveryDay: '20251212' })).toEqual([{ kind: 'range', since: '20251212', until: '20251215' }]);
  });
  it('a range never spans two months; a first incremental run reads its months whole', () => {
    expect(plan({ lastDiscoveryDay: '20251130', today: '20251201', nowMs: Date.parse('2025-12-01T09:00:00Z') })).toEqual([
      { kind: 'range', since: '20251201', until: '20251201' },
      { kind: 'range', since: '20251130', until: '20251130' },
    ]);
    expect(plan({ lastDiscoveryDay: null })).toEqual([{ kind: 'month', month: '202512' }]);
    expect(plan({ lastDiscoveryDay: null, today: '20251202' })).toEqual([
      { kind: 'month', month: '202512' },
      { kind: 'month', month: '202511' },
    ]);
  });
});
