import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, openSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { articlePath, articleUrl, seededRandom } from '../src/mirror/site-model.js';
import { WarcWriter } from '../src/warc/warc-writer.js';
import { collect, logRecords, runCli, startCli } from './helpers/cli.js';
import { killAfterLines, lastRunEnded, manifestLines } from './helpers/kill.js';
import { articleRequests, compareWithMirror } from './helpers/mirror.js';
import { listFiles, queryState, tempDir } from './helpers/storage.js';
import { readWarcByHand, readWarcWithWarcio } from './helpers/warc-files.js';

const NOW = '2025-12-15T12:00:00Z';
const env = { NEWSNAP_NOW: NOW };
let mirror: MirrorServer;
let origin: string;
beforeAll(async () => {
  mirror = new MirrorServer({ articles: 40, days: 3, lastDay: '20251215', crawlDelay: 0, jsEvery: 8 });
  origin = await mirror.listen();
});
afterAll(() => mirror.close());

const warcFiles = (storage: string) => readdirSync(join(storage, 'warc')).map((f) => join(storage, 'warc', f));

describe('the WARC archive', () => {
  it('a crawl writes every exchange and every rendered DOM; each file reads back whole, with warcio and by hand', async () => {
    const storage = await tempDir();
    mirror.clearLog();
    const res = await runCli(['crawl', '--since', mirror.all()[0]!.day, '--origin', origin, '--storage', storage, '--rate', '0'], { env });
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
    const files = warcFiles(storage);
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((f) => /\/newsnap-\d{17}-\d{5}\.warc\.gz$/.test(f))).toBe(true);

    const responses = new Set<string>();
    const originals = new Map<string, string>();
    let conversions = 0;
    for (const file of files) {
      const records = await readWarcWithWarcio(file, originals);
      const byHand = readWarcByHand(file);
      // The two readers agree, record by record.
      expect(byHand.map((r) => [r.type, r.offset, r.headers['warc-record-id']])).toEqual(records.map((r) => [r.type, r.offset, r.id]));
      expect(records[0]!.type).toBe('warcinfo');
      expect(records[0]!.payload.toString()).toContain(`newsnap-origin: requests went to ${origin}`);
      for (const r of records) {
        expect(r.blockDigestOk, `${file} ${r.type} ${r.targetUri}`).toBe(true);
        expect(r.payloadDigestOk, `${file} ${r.type} ${r.targetUri}`).toBe(true);
        expect(r.headers['content-type'] ?? '').not.toBe('');
      }
      for (const [i, r] of records.entries()) {
        if (r.type === 'response' || r.type === 'revisit') {
          expect(r.targetUri!.startsWith('https://anlatilaninotesi.com.tr/')).toBe(true);
          responses.add(r.targetUri!);
          // Its request follows it, linked by WARC-Concurrent-To.
          expect(records[i + 1]).toMatchObject({ type: 'request', targetUri: r.targetUri, concurrentTo: [r.id] });
        }
        if (r.type === 'conversion') {
          conversions++;
          expect(r.payload.toString()).toContain('class="article__block"');
        }
      }
      for (const r of byHand.filter((x) => x.type !== 'warcinfo')) expect(`sha256:${createHash('sha256').update(r.block).digest('hex')}`).toBe(r.headers['warc-block-digest']);
    }
    // Every request the mirror answered is in the archive: robots.txt, feeds, sitemaps, articles
    // (a rendered article twice: the static page and the browser's document).
    for (const r of mirror.log) expect(responses.has(new URL(r.path, 'https://anlatilaninotesi.com.tr').href), r.path).toBe(true);
    for (const a of mirror.all()) expect(responses.has(articleUrl(a)), a.id).toBe(true);
    // Every render is recorded: JavaScript-built pages and galleries (their static body is empty too).
    expect(conversions).toBe(mirror.all().filter((a) => a.jsBuilt || a.gallery).length);
    expect((await listFiles(storage)).filter((f) => f.endsWith('.open'))).toEqual([]);
  });

  it('kill -9 at seeded moments: after the next run every WARC file reads back whole and none is left .open', async () => {
    const storage = await tempDir();
    const rnd = seededRandom(11);
    const args = ['crawl', '--since', mirror.all()[0]!.day, '--origin', origin, '--storage', storage, '--rate', '0', '--render', 'never'];
    for (let trial = 0; trial < 6; trial++) {
      const child = startCli(args, { env });
      const done = collect(child);
      // Mid-run: a few articles written, a WARC file open, the run not ended.
      await killAfterLines(child, done, storage, 1 + Math.floor(rnd() * 4));
      expect(lastRunEnded(storage)).toBe(false);
      expect(manifestLines(storage)).toBeLessThan(mirror.all().filter((a) => !a.gallery && !a.jsBuilt).length);
      expect(warcFiles(storage).some((f) => f.endsWith('.open')), `trial ${trial}`).toBe(true);
    }
    const final = await runCli(args, { env });
    expect(final.code, final.stderr.slice(-2000)).toBe(0);
    const files = warcFiles(storage).sort();
    expect(files.filter((f) => f.endsWith('.open'))).toEqual([]);
    const originals = new Map<string, string>();
    for (const file of files) {
      const records = await readWarcWithWarcio(file, originals);
      expect(records.every((r) => r.blockDigestOk && r.payloadDigestOk), file).toBe(true);
      expect(readWarcByHand(file).length).toBe(records.length);
    }
    // Every article's archived page is there: reextract reads each one back.
    const again = await runCli(['reextract', '--storage', storage], { env });
    expect(again.code, again.stderr.slice(-2000)).toBe(0);
    // Without renders, JavaScript-built pages were no articles at the crawl, nor are they now.
    const none = mirror.all().filter((a) => a.gallery || a.jsBuilt).length;
    expect(again.stdout.toString()).toContain(`: 40 archived pages, 0 written (reextracted), ${40 - none} unchanged, ${none} not articles, 0 failed`);
  });

  it('files rotate at archive.maxFileBytes: each opens with its warcinfo, serials go up, none passes the size by more than a record', async () => {
    const storage = await tempDir();
    const res = await runCli(['crawl', '--since', mirror.all()[0]!.day, '--origin', origin, '--storage', storage, '--rate', '0', '--render', 'never'], {
      env: { ...env, NEWSNAP_ARCHIVE_MAX_FILE_BYTES: '1000000' },
    });
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    const files = warcFiles(storage).sort();
    expect(files.length).toBeGreaterThan(1);
    expect(files.map((f) => /-(\d{5})\.warc\.gz$/.exec(f)![1])).toEqual(files.map((_, i) => String(i).padStart(5, '0')));
    for (const file of files) {
      const records = readWarcByHand(file);
      expect(records[0]!.type).toBe('warcinfo');
      const biggest = Math.max(...records.map((r) => r.length));
      expect(readFileSync(file).length).toBeLessThanOrEqual(1_000_000 + 2 * biggest);
    }
  });

  it('a torn last record is cut off at start; every record before it stays byte for byte', async () => {
    const storage = await tempDir();
    const res = await runCli(['fetch', articleUrl(mirror.all()[1]!), articleUrl(mirror.all()[2]!), '--origin', origin, '--storage', storage, '--render', 'never'], { env });
    expect(res.code, res.stderr).toBe(0);
    const [file] = warcFiles(storage);
    const whole = readFileSync(file!);
    const records = readWarcByHand(file!);
    const last = records.at(-1)!;
    // A kill in the middle of the last record's write, then garbage, left open.
    truncateSync(file!, last.offset + Math.floor(last.length / 2));
    appendFileSync(file!, Buffer.from('\u0000garbage'));
    renameSync(file!, `${file}.open`);
    const writer = await WarcWriter.open(storage, { prefix: 'newsnap', maxFileBytes: 1e9, gzipLevel: 1, info: {} });
    await writer.close();
    expect(writer.repaired).toEqual([file]);
    const repaired = readFileSync(file!);
    expect(repaired.equals(whole.subarray(0, last.offset))).toBe(true);
    expect(readWarcByHand(file!).map((r) => r.offset)).toEqual(records.slice(0, -1).map((r) => r.offset));
  });

  it('an article fetched again points at its newest response; the archived page of each is read back by reextract, not re-fetched', async () => {
    const storage = await tempDir();
    const a = mirror.all().find((x) => !x.gallery && !x.jsBuilt)!;
    await runCli(['fetch', articleUrl(a), '--origin', origin, '--storage', storage], { env });
    mirror.edit(a.id, { at: '2025-12-15T12:30:00Z', title: 'Yeni' });
    await runCli(['fetch', articleUrl(a), '--origin', origin, '--storage', storage], { env: { NEWSNAP_NOW: '2025-12-15T13:00:00Z' } });
    mirror.clearLog();
    const res = await runCli(['reextract', '--id', a.id, '--storage', storage, '--workers', '1'], { env });
    expect(res.stdout.toString()).toMatch(/: 1 archived pages, 0 written \(reextracted\), 1 unchanged/);
    expect(articleRequests(mirror.log)).toEqual([]);
    expect(mirror.log.filter((r) => r.path === articlePath(a))).toEqual([]);
  });

  it('snapshot files lost from storage are written again by reextract, byte for byte, with no manifest line and no request', async () => {
    const storage = await tempDir();
    const crawl = await runCli(['crawl', '--since', '20251213', '--origin', origin, '--storage', storage, '--rate', '0'], { env });
    expect(crawl.code, crawl.stderr.slice(-2000)).toBe(0);
    const dir = join(storage, 'snapshots');
    const read = async () => new Map((await listFiles(dir)).map((f) => [f, readFileSync(join(dir, f))]));
    const before = await read();
    const snapshots = [...before.keys()];
    expect(snapshots.length).toBeGreaterThan(5);
    const manifest = readFileSync(join(storage, 'manifest.jsonl'));
    const lost = snapshots.filter((_, i) => i % 3 === 0);
    for (const f of lost) rmSync(join(dir, f));
    mirror.clearLog();
    const res = await runCli(['reextract', '--storage', storage, '--workers', '2'], { env });
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    expect(res.stdout.toString()).toContain(`(${lost.length} missing or damaged files written again)`);
    expect(await read()).toEqual(before);
    expect(readFileSync(join(storage, 'manifest.jsonl'))).toEqual(manifest);
    expect(mirror.log).toEqual([]);
  });

  it('a damaged record fails its article alone: reextract exits 1 naming it, every other page is read and unchanged', async () => {
    const storage = await tempDir();
    const crawl = await runCli(['crawl', '--since', '20251214', '--origin', origin, '--storage', storage, '--rate', '0'], { env });
    expect(crawl.code, crawl.stderr.slice(-2000)).toBe(0);
    const rows = queryState<{ id: string; file: string; offset: number; length: number }>(
      storage,
      'SELECT id, archived_file AS file, archived_offset AS offset, archived_length AS length FROM articles WHERE archived_file IS NOT NULL ORDER BY id',
    );
    expect(rows.length).toBeGreaterThan(10);
    const victim = rows[3]!;
    const fd = openSync(join(storage, victim.file), 'r+');
    writeSync(fd, Buffer.alloc(64, 0x41), 0, 64, victim.offset + Math.floor(victim.length / 2));
    closeSync(fd);
    const res = await runCli(['reextract', '--storage', storage, '--workers', '2'], { env });
    expect(res.code).toBe(1);
    const summary = /: (\d+) archived pages, 0 written \(reextracted\), (\d+) unchanged, (\d+) not articles, 1 failed/.exec(res.stdout.toString());
    expect(summary, res.stdout.toString()).not.toBeNull();
    expect(Number(summary![1])).toBe(rows.length);
    expect(Number(summary![2]) + Number(summary![3])).toBe(rows.length - 1);
    const unreadable = logRecords(res.stderr.toString()).filter((r) => r.msg === 'archived page could not be read');
    expect(unreadable).toEqual([expect.objectContaining({ id: victim.id, err: expect.stringMatching(/invalid|incorrect|check/i) })]);
  });
});
