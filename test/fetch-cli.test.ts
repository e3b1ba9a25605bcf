import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { runCli } from './helpers/cli.js';
import { REFERENCE_CASES, SEED } from './helpers/paths.js';
import { fileIdentity, listFiles, readManifest, tempDir } from './helpers/storage.js';

const SEED_CASE = REFERENCE_CASES[0]!;
const SPARSE_CASE = REFERENCE_CASES[1]!;
const pathOf = (url: string) => new URL(url).pathname;

let mirror: MirrorServer;
let origin: string;
const env = { NEWSNAP_CRAWL_RATE: '0', NEWSNAP_CRAWL_RETRIES: '2', NEWSNAP_CRAWL_BACKOFF_BASE_MS: '50', NEWSNAP_RENDER_POLICY: 'never' };

beforeAll(async () => {
  mirror = new MirrorServer({ articles: 0, days: 1 });
  for (const c of REFERENCE_CASES) mirror.addPage(pathOf(c.url), readFileSync(c.page, 'utf8'));
  origin = await mirror.listen();
});
afterAll(() => mirror.close());
beforeEach(() => {
  mirror.clearFaults();
  mirror.clearLog();
});

describe('newsnap fetch', () => {
  it('writes the exact snapshot and a manifest line; a second run is "unchanged" and rewrites nothing', async () => {
    const storage = await tempDir();
    const first = await runCli(['fetch', SEED_CASE.url, '--origin', origin, '--storage', storage], { env });
    expect(first.code).toBe(0);
    const rel = 'snapshots/2025-12-20/1102014239.txt';
    expect(first.stdout.toString()).toBe(`written ${rel} ${SEED_CASE.url}\n`);
    expect(readFileSync(join(storage, rel)).equals(readFileSync(SEED))).toBe(true);
    const manifest = await readManifest(storage);
    expect(manifest).toHaveLength(1);
    expect(manifest[0]).toMatchObject({ id: '1102014239', url: SEED_CASE.url, date: '2025-12-20', path: rel, bytes: readFileSync(SEED).length });
    expect(manifest[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(mirror.log.map((r) => r.path)).toEqual([pathOf(SEED_CASE.url)]);
    expect(mirror.log[0]!.userAgent).toMatch(/^newsnap\/\S+ \(\+https?:\/\//);

    const before = await fileIdentity(join(storage, rel));
    const second = await runCli(['fetch', SEED_CASE.url, '--origin', origin, '--storage', storage], { env });
    expect(second.code).toBe(0);
    expect(second.stdout.toString()).toBe(`unchanged ${rel} ${SEED_CASE.url}\n`);
    expect(await fileIdentity(join(storage, rel))).toBe(before);
    expect(await readManifest(storage)).toHaveLength(1);
  });

  it('a URL variant (query, alias host, amp) is the same article: one snapshot', async () => {
    const storage = await tempDir();
    const variants = [`${SEED_CASE.url}?chat_room_id=1`, SEED_CASE.url.replace('anlatilaninotesi.com.tr', 'tr.sputniknews.com')];
    const res = await runCli(['fetch', ...variants, '--origin', origin, '--storage', storage], { env });
    expect(res.code).toBe(0);
    expect((await listFiles(join(storage, 'snapshots')))).toEqual(['2025-12-20/1102014239.txt']);
    expect(mirror.log).toHaveLength(1);
  });

  it('--stdout carries the snapshot bytes and nothing else; results go to stderr', async () => {
    const storage = await tempDir();
    const res = await runCli(['fetch', SPARSE_CASE.url, '--stdout', '--origin', origin, '--storage', storage], { env });
    expect(res.code).toBe(0);
    expect(res.stdout.equals(readFileSync(SPARSE_CASE.expected))).toBe(true);
    expect(res.stderr).toContain(`printed ${SPARSE_CASE.url}`);
    expect(await listFiles(storage)).toEqual([]);
  });

  it('refuses anything that is not an article URL of the site before any request', async () => {
    const storage = await tempDir();
    for (const bad of [
      'https://evil.example/20251220/x-1102014239.html',
      'https://anlatilaninotesi.com.tr/world/',
      'file:///etc/passwd',
      'https://anlatilaninotesi.com.tr.evil.example/20251220/x-1102014239.html',
      'https://anlatilaninotesi.com.tr/20251220/..%2F..%2Fetc%2Fpasswd-1102014239.html',
    ]) {
      const res = await runCli(['fetch', SEED_CASE.url, bad, '--origin', origin, '--storage', storage], { env });
      expect(res.code, bad).toBe(2);
      expect(res.stderr).toContain(`not an article URL of https://anlatilaninotesi.com.tr`);
    }
    expect(mirror.log).toHaveLength(0);
  });

  it('404, 500, a redirect off the site and a non-HTML response each fail with their reason', async () => {
    const storage = await tempDir();
    const base = 'https://anlatilaninotesi.com.tr/20251220';
    const cases = [
      { url: `${base}/yok-1199999999.html`, reason: /answered HTTP 404/, requests: 1 },
      { url: `${base}/hata-1199999998.html`, fault: { kind: 'status' as const, status: 500 }, reason: /answered HTTP 500/, requests: 2 },
      { url: `${base}/yon-1199999997.html`, fault: { kind: 'redirect' as const, location: 'https://evil.example/steal' }, reason: /redirect .* to evil.example refused: not a host of the site/, requests: 1 },
      { url: `${base}/resim-1199999996.html`, fault: { kind: 'not-html' as const }, reason: /is not HTML \(content-type image\/png\)/, requests: 1 },
    ];
    for (const c of cases) {
      mirror.clearLog();
      if (c.fault) mirror.addFault({ path: pathOf(c.url), ...c.fault });
      const res = await runCli(['fetch', c.url, '--origin', origin, '--storage', storage], { env });
      expect(res.code, c.url).toBe(3);
      const line = res.stdout.toString();
      expect(line.startsWith(`failed ${c.url}: `), line).toBe(true);
      expect(line).toMatch(c.reason);
      expect(mirror.log.map((r) => r.path)).toEqual(Array(c.requests).fill(pathOf(c.url)));
    }
    expect((await listFiles(storage)).filter((f) => f.startsWith('snapshots/'))).toEqual([]);
    expect(await readManifest(storage)).toEqual([]);
  });

  it('a redirect within the site is followed; a mirror page that is not an article is reported (no failure: exit 0; alone: exit 5)', async () => {
    const storage = await tempDir();
    const moved = 'https://anlatilaninotesi.com.tr/20251220/eski-1102014239.html';
    mirror.addFault({ path: pathOf(moved), kind: 'redirect', status: 301, location: SEED_CASE.url });
    mirror.addPage('/20251220/bolum-1102222222.html', readFileSync(SEED_CASE.page.replace('1102014239', 'section-world'), 'utf8'));
    const res = await runCli(['fetch', moved, 'https://anlatilaninotesi.com.tr/20251220/bolum-1102222222.html', '--origin', origin, '--storage', storage], { env });
    expect(res.code).toBe(0);
    const lines = res.stdout.toString().trim().split('\n');
    expect(lines).toContain(`written snapshots/2025-12-20/1102014239.txt https://anlatilaninotesi.com.tr/20251220/eski-1102014239.html`);
    expect(lines).toContain('not an article (empty-body) https://anlatilaninotesi.com.tr/20251220/bolum-1102222222.html');
    const files = await listFiles(storage);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readFileSync(join(storage, 'snapshots/2025-12-20/1102014239.txt')).equals(readFileSync(SEED))).toBe(true);
    const alone = await runCli(['fetch', 'https://anlatilaninotesi.com.tr/20251220/bolum-1102222222.html', '--origin', origin, '--storage', storage], { env });
    expect(alone.code).toBe(5);
  });
});
