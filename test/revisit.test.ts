import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { articleUrl } from '../src/mirror/site-model.js';
import { runCli } from './helpers/cli.js';
import { articleRequests, compareWithMirror } from './helpers/mirror.js';
import { listFiles, tempDir } from './helpers/storage.js';
import { readWarcByHand, type ReadRecord } from './helpers/warc-files.js';

const NOW = Date.parse('2025-12-15T12:00:00Z');
const at = (hours: number) => ({ NEWSNAP_NOW: new Date(NOW + hours * 3_600_000).toISOString() });
const ARTICLE_URL = /\/\d{8}\/[^/]+-\d{10}\.html$/;
const REVISIT_PROFILE = 'http://netpreserve.org/warc/1.1/revisit/identical-payload-digest';

let mirror: MirrorServer;
let origin: string;
beforeAll(async () => {
  // Article pages without ETag or Last-Modified: every revisit is a 200 with the same bytes.
  mirror = new MirrorServer({ articles: 40, days: 3, lastDay: '20251215', crawlDelay: 0, articleValidators: false });
  origin = await mirror.listen();
});
afterAll(() => mirror.close());

const warcPaths = (storage: string) =>
  readdirSync(join(storage, 'warc'))
    .sort()
    .map((f) => join(storage, 'warc', f));
const archiveBytes = (storage: string) => warcPaths(storage).reduce((n, p) => n + statSync(p).size, 0);
const records = (storage: string): ReadRecord[] => warcPaths(storage).flatMap((p) => readWarcByHand(p));
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * Every revisit record as the WARC 1.1 identical-payload-digest profile asks: the response's
 * headers only, naming the response record that holds the same payload (same URL, its date, its
 * payload digest), with its own request beside it. Returns the revisits.
 */
function checkRevisits(all: ReadRecord[]): ReadRecord[] {
  const responses = new Map(all.filter((r) => r.type === 'response').map((r) => [r.headers['warc-record-id']!, r]));
  const requestsFor = new Set(all.filter((r) => r.type === 'request').map((r) => r.headers['warc-concurrent-to']));
  const revisits = all.filter((r) => r.type === 'revisit');
  for (const r of revisits) {
    const original = responses.get(r.headers['warc-refers-to']!);
    expect(original, `revisit of ${r.headers['warc-target-uri']} refers to a record the archive holds`).toBeDefined();
    expect(r.headers['warc-profile']).toBe(REVISIT_PROFILE);
    expect(r.headers['warc-refers-to-target-uri']).toBe(r.headers['warc-target-uri']);
    expect(original!.headers['warc-target-uri']).toBe(r.headers['warc-target-uri']);
    expect(r.headers['warc-refers-to-date']).toBe(original!.headers['warc-date']);
    expect(r.headers['warc-payload-digest']).toBe(original!.headers['warc-payload-digest']);
    // The block is the HTTP head alone, and its digest is the head's.
    expect(r.block.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n$/);
    expect(r.headers['warc-block-digest']).toBe(sha256(r.block));
    expect(requestsFor.has(r.headers['warc-record-id'])).toBe(true);
  }
  return revisits;
}

describe('revisit records: an unchanged page is archived once', () => {
  it('three revisit runs over unchanged pages without validators grow the archive by at most 10 %; reextract with the site off rebuilds every snapshot', async () => {
    const storage = await tempDir();
    mirror.clearLog();
    const first = await runCli(['crawl', '--since', '20251213', '--origin', origin, '--storage', storage, '--rate', '0'], { env: at(0) });
    expect(first.code, first.stderr.slice(-2000)).toBe(0);
    const firstBytes = archiveBytes(storage);
    const revisitsOf = (all: ReadRecord[]) => all.filter((r) => r.type === 'revisit' && ARTICLE_URL.test(r.headers['warc-target-uri']!));
    // Within the first crawl only a page fetched twice is a revisit: a gallery's empty body sends
    // it to the browser, which loads it again.
    const pages = articleRequests(mirror.log).map((r) => r.path);
    const firstRevisits = revisitsOf(records(storage)).length;
    expect(firstRevisits).toBe(pages.length - new Set(pages).size);
    let rechecked = 0;
    for (const hours of [6, 12, 18]) {
      mirror.clearLog();
      const run = await runCli(['crawl', '--origin', origin, '--storage', storage, '--rate', '0'], { env: at(hours) });
      expect(run.code, run.stderr.slice(-2000)).toBe(0);
      const pages = articleRequests(mirror.log);
      expect(pages.every((r) => r.status === 200)).toBe(true);
      rechecked += pages.length;
    }
    expect(rechecked).toBeGreaterThan(60);
    const all = records(storage);
    const revisits = checkRevisits(all);
    expect(revisitsOf(revisits).length).toBe(firstRevisits + rechecked);
    const growth = archiveBytes(storage) - firstBytes;
    expect(growth / firstBytes).toBeLessThanOrEqual(0.1);

    // The state's offsets name the records that hold payloads: with the site gone, reextract
    // reads every page back and the snapshots come out byte for byte.
    const dir = join(storage, 'snapshots');
    const before = new Map((await listFiles(dir)).map((f) => [f, readFileSync(join(dir, f))]));
    rmSync(dir, { recursive: true });
    const rebuilt = await runCli(['reextract', '--storage', storage, '--workers', '2', '--origin', 'http://127.0.0.1:9'], { env: at(19) });
    expect(rebuilt.code, rebuilt.stderr.slice(-2000)).toBe(0);
    expect(new Map((await listFiles(dir)).map((f) => [f, readFileSync(join(dir, f))]))).toEqual(before);
    const verified = await runCli(['verify', '--storage', storage], { env: at(19) });
    expect(verified.code, verified.stdout.toString()).toBe(0);
  });

  it('a changed page is archived whole again, and later revisits refer to its new record', async () => {
    const storage = await tempDir();
    expect((await runCli(['crawl', '--since', '20251215', '--origin', origin, '--storage', storage, '--rate', '0'], { env: at(0) })).code).toBe(0);
    const a = mirror.all().find((x) => x.day === '20251215' && !x.gallery)!;
    mirror.edit(a.id, { at: new Date(NOW + 5 * 3_600_000).toISOString(), title: 'Düzeltilmiş başlık' });
    expect((await runCli(['crawl', '--origin', origin, '--storage', storage, '--rate', '0'], { env: at(6) })).code).toBe(0);
    expect((await runCli(['crawl', '--origin', origin, '--storage', storage, '--rate', '0'], { env: at(12) })).code).toBe(0);
    const all = records(storage);
    checkRevisits(all);
    const ofA = all.filter((r) => r.headers['warc-target-uri'] === articleUrl(a) && (r.type === 'response' || r.type === 'revisit'));
    expect(ofA.map((r) => r.type)).toEqual(['response', 'response', 'revisit']);
    expect(ofA[2]!.headers['warc-refers-to']).toBe(ofA[1]!.headers['warc-record-id']);
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
  });

  it('a power cut that loses the end of the open WARC file: revisits never refer to a record that was lost', async () => {
    const storage = await tempDir();
    expect((await runCli(['crawl', '--since', '20251214', '--origin', origin, '--storage', storage, '--rate', '0'], { env: at(0) })).code).toBe(0);
    // What a host crash leaves: the newest file still open, its last records never reached the
    // disk, and the state (committed) remembering them.
    const [last] = warcPaths(storage).slice(-1);
    const kept = readWarcByHand(last!);
    const cut = kept[Math.floor(kept.length / 2)]!;
    const lost = kept.filter((r) => r.offset >= cut.offset && r.type === 'response').map((r) => r.headers['warc-target-uri']);
    expect(lost.length).toBeGreaterThan(3);
    truncateSync(last!, cut.offset);
    renameSync(last!, `${last}.open`);
    const db = new Database(join(storage, 'state.sqlite'));
    db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('storage.closedCleanly', '0')`).run();
    db.close();

    const run = await runCli(['crawl', '--origin', origin, '--storage', storage, '--rate', '0'], { env: at(6) });
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const all = records(storage);
    checkRevisits(all);
    const revisited = new Set(all.filter((r) => r.type === 'revisit').map((r) => r.headers['warc-target-uri']));
    expect(lost.filter((u) => revisited.has(u))).toEqual([]);
  });
});
