import { afterEach, describe, expect, it } from 'vitest';
import { MirrorServer, type Fault } from '../src/mirror/index.js';
import { logRecords, runCli } from './helpers/cli.js';
import { articleRequests, compareWithMirror, snapshotPath } from './helpers/mirror.js';
import { listFiles, readManifest, tempDir } from './helpers/storage.js';

const TODAY = '20251215';
const NOW = '2025-12-15T12:00:00Z';
const env = {
  NEWSNAP_NOW: NOW,
  NEWSNAP_RENDER_POLICY: 'never',
  NEWSNAP_CRAWL_BACKOFF_BASE_MS: '100',
  NEWSNAP_CRAWL_RETRIES: '3',
  // Short enough that the faults that never answer end soon; long enough that a busy machine's
  // mirror still answers every healthy page in time (a timeout here is a fault's, never load's).
  NEWSNAP_HTTP_READ_TIMEOUT_MS: '3000',
  NEWSNAP_HTTP_TOTAL_TIMEOUT_MS: '8000',
  NEWSNAP_HTTP_MAX_BYTES: '2000000',
};
const mirrors: MirrorServer[] = [];
afterEach(async () => {
  await Promise.all(mirrors.splice(0).map((m) => m.close()));
});

async function mirrorOf(articles: number, options: Partial<ConstructorParameters<typeof MirrorServer>[0]> = {}) {
  const mirror = new MirrorServer({ articles, days: 3, lastDay: TODAY, crawlDelay: 0, ...options });
  mirrors.push(mirror);
  return { mirror, origin: await mirror.listen() };
}

const pathOf = (a: { day: string; slug: string; id: string }) => `/${a.day}/${a.slug}-${a.id}.html`;

describe('faults: the crawl goes on, each article is retried or recorded with its reason', () => {
  it('a dozen faults at once, one per article', async () => {
    const { mirror, origin } = await mirrorOf(40);
    const pick = mirror.all().filter((a) => !a.gallery);
    const httpDate = new Date(Date.now() + 1500).toUTCString();
    const cases: Array<{ name: string; fault: Omit<Fault, 'path'>; expect: 'written' | RegExp }> = [
      { name: '429 Retry-After seconds', fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' }, times: 1 }, expect: 'written' },
      { name: '429 Retry-After HTTP-date', fault: { kind: 'status', status: 429, headers: { 'retry-after': httpDate }, times: 1 }, expect: 'written' },
      { name: '503 burst', fault: { kind: 'status', status: 503, times: 2 }, expect: 'written' },
      { name: 'connection reset', fault: { kind: 'reset', times: 1 }, expect: 'written' },
      { name: 'body shorter than Content-Length, once', fault: { kind: 'truncated', times: 1 }, expect: 'written' },
      { name: '500 every time', fault: { kind: 'status', status: 500 }, expect: /answered HTTP 500/ },
      { name: 'no response at all', fault: { kind: 'timeout' }, expect: /timed out/ },
      { name: 'drips one byte a second', fault: { kind: 'drip' }, expect: /timed out/ },
      { name: 'far larger than the size cap', fault: { kind: 'huge' }, expect: /over the 2000000-byte cap/ },
      { name: 'gzip bomb', fault: { kind: 'gzip-bomb' }, expect: /over the 2000000-byte cap \(decompressed\)/ },
      { name: 'redirect to another host', fault: { kind: 'redirect', location: 'https://evil.example/x' }, expect: /refused: not a host of the site/ },
      { name: 'redirect to a private address', fault: { kind: 'redirect', location: 'http://10.0.0.1/admin' }, expect: /to 10\.0\.0\.1 refused/ },
      // Garbage bytes with none of the site's markup: not the site's page, so blocked (never counted as drift).
      { name: 'invalid UTF-8', fault: { kind: 'invalid-utf8' }, expect: /^blocked$/ },
    ];
    const loopVictim = pick[cases.length]!;
    mirror.addFault({ path: pathOf(loopVictim), kind: 'redirect', location: pathOf(loopVictim) });
    cases.forEach((c, i) => mirror.addFault({ path: pathOf(pick[i]!), ...c.fault }));

    const storage = await tempDir();
    const res = await runCli(['crawl', '--since', mirror.all()[0]!.day, '--origin', origin, '--storage', storage, '--rate', '0', '--concurrency', '8'], { env });
    expect(res.code, res.stderr.slice(-3000)).toBe(1);
    const records = logRecords(res.stderr);
    const failed = new Map(records.filter((r) => r.msg === 'article failed').map((r) => [r.id as string, r.err as string]));
    const blocked = new Set(records.filter((r) => r.msg === "blocked: not the site's page").map((r) => r.id as string));
    const files = new Set(await listFiles(storage));
    cases.forEach((c, i) => {
      const a = pick[i]!;
      if (c.expect === 'written') expect(files.has(snapshotPath(a)), `${c.name}: ${failed.get(a.id)}`).toBe(true);
      else if (c.expect.source === '^blocked$') expect(blocked.has(a.id), c.name).toBe(true);
      else {
        expect(failed.get(a.id), c.name).toMatch(c.expect);
        expect(files.has(snapshotPath(a)), c.name).toBe(false);
      }
    });
    expect(failed.get(loopVictim.id)).toMatch(/more than 5 redirects/);
    // Everything else is exactly right; nothing was written that should not be.
    const broken = new Set([...cases.map((_, i) => pick[i]!.id), loopVictim.id].filter((id) => !files.has(snapshotPath(mirror.all().find((a) => a.id === id)!))));
    expect(await compareWithMirror(storage, mirror.all().filter((a) => !broken.has(a.id)))).toEqual([]);
    expect([...files].filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((await readManifest(storage)).some((r) => broken.has(r.id as string))).toBe(false);
    // The summary counts them.
    const permanent = cases.filter((c) => c.expect !== 'written' && c.expect.source !== '^blocked$').length + 1;
    expect(res.stdout.toString()).toMatch(new RegExp(`, ${permanent} failed,`));
    expect(res.stdout.toString()).toContain("1 blocked (not the site's page)");
    expect(res.stdout.toString(), res.stdout.toString()).toMatch(/requests: \d+ \(.*429: 2.*500: 3.*503: 2/);
    // Retried ones were asked again; the 500 exactly `retries` times.
    expect(articleRequests(mirror.log).filter((r) => r.path === pathOf(pick[5]!))).toHaveLength(3);

    // The next run retries only the failed ones and the blocked one, still pending (and they fail
    // again with the faults still on).
    mirror.clearLog();
    const again = await runCli(['crawl', '--since', mirror.all()[0]!.day, '--origin', origin, '--storage', storage, '--rate', '0', '--concurrency', '8'], { env });
    expect(again.code).toBe(3);
    const retried = new Set(articleRequests(mirror.log).map((r) => r.path));
    expect(retried).toEqual(new Set([...failed.keys(), ...blocked].map((id) => pathOf(mirror.all().find((a) => a.id === id)!))));
  });

  it('robots.txt answering 404: no rules; answering 500: nothing is crawled; garbage: no rules', async () => {
    for (const [fault, code] of [
      [{ kind: 'status', status: 404 }, 0],
      [{ kind: 'status', status: 500 }, 3],
      [{ kind: 'body', body: '\u0000\u00ff<html><p>not robots at all</p>' }, 0],
    ] as const) {
      const { mirror, origin } = await mirrorOf(5);
      mirror.addFault({ path: '/robots.txt', ...fault });
      const storage = await tempDir();
      const res = await runCli(['crawl', '--since', mirror.all()[0]!.day, '--origin', origin, '--storage', storage, '--rate', '0'], { env });
      expect(res.code, JSON.stringify(fault)).toBe(code);
      if (code === 3) {
        // The site answered: RFC 9309 decides, not the unreachable-site message.
        expect(res.stdout.toString()).toContain('robots.txt could not be read (https://anlatilaninotesi.com.tr/robots.txt answered HTTP 500) and no earlier copy exists: RFC 9309 says the site may not be crawled now');
        expect(res.stdout.toString()).not.toContain('UNREACHABLE');
        expect(mirror.log.map((r) => r.path)).toEqual(['/robots.txt', '/robots.txt', '/robots.txt']);
      } else {
        expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
      }
    }
  });

  it('a sitemap that is not XML, or is cut off, falls back to the day archives; RSS likewise does not stop the run', async () => {
    for (const body of ['<html><body>Bakım çalışması</body></html>', '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://anlatilaninotesi.com.tr/2025']) {
      const { mirror, origin } = await mirrorOf(12);
      mirror.addFault({ path: '/sitemap_article.xml*', kind: 'body', body, headers: { 'content-type': 'application/xml' } });
      mirror.addFault({ path: '/export/rss2/archive/index.xml', kind: 'body', body });
      const storage = await tempDir();
      const res = await runCli(['crawl', '--since', mirror.all()[0]!.day, '--origin', origin, '--storage', storage, '--rate', '0'], { env });
      expect(res.code, res.stderr.slice(-1500)).toBe(1);
      expect(mirror.log.some((r) => /^\/\d{8}\/$/.test(r.path))).toBe(true);
      expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
      expect(logRecords(res.stderr).find((r) => r.msg === 'discovery failed')?.error).toMatch(/not a urlset document|cut off/);
    }
  });

  it('a month sitemap of 50 000 URLs is streamed: every URL discovered', async () => {
    const { origin } = await mirrorOf(50_000, { days: 10 });
    const storage = await tempDir();
    const res = await runCli(['crawl', '--since', '2025-12-06', '--dry-run', '--origin', origin, '--storage', storage, '--rate', '0'], { env });
    expect(res.code).toBe(0);
    expect(res.stdout.toString().trim().split('\n')).toHaveLength(50_000);
  });
});
