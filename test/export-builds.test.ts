import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer, type MirrorArticle } from '../src/mirror/index.js';
import { articleUrl } from '../src/mirror/site-model.js';
import { collect, runCli } from './helpers/cli.js';
import { CLI } from './helpers/paths.js';
import { until } from './helpers/progress.js';
import { serveBuilds } from './helpers/export-serve.js';
import { isAlive as alive } from './helpers/processes.js';
import { tempDir } from './helpers/storage.js';
import { readZip } from './helpers/zip-read.js';

const T0 = '2025-12-15T12:00:00.000Z';
const T1 = '2025-12-15T13:00:00.000Z';
const env = (now: string) => ({ NEWSNAP_NOW: now, NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_RATE: '0' });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let mirror: MirrorServer;
let storage: string;
let edited: MirrorArticle;
let wacz: Buffer;

async function cli(args: string[], now = '2026-01-01T00:00:00.000Z') {
  const res = await runCli([...args, '--storage', storage], { env: env(now) });
  expect(res.code, res.stderr.slice(-2000)).toBe(0);
  return res;
}

async function waczOf(root: string, now: string): Promise<Buffer> {
  const out = join(await tempDir(), 'a.wacz');
  const res = await runCli(['export', '--format', 'wacz', '--out', out, '--storage', root], { env: env(now) });
  expect(res.code, res.stderr.slice(-2000)).toBe(0);
  return readFileSync(out);
}

beforeAll(async () => {
  mirror = new MirrorServer({ articles: 12, days: 2, lastDay: '20251215', crawlDelay: 0 });
  await mirror.listen();
  storage = await tempDir();
  await cli(['crawl', '--since', '20251214', '--origin', mirror.baseUrl], T0);
  [edited] = mirror.all().filter((a) => !a.gallery) as [MirrorArticle];
  mirror.edit(edited.id, { at: '2025-12-15T12:30:00Z', title: 'Düzeltildi: yeni başlık' });
  await cli(['fetch', articleUrl(edited), '--origin', mirror.baseUrl], T1);
  wacz = await waczOf(storage, '2026-01-01T00:00:00.000Z');
});
afterAll(() => mirror?.close());

describe('export: same inputs, same bytes; nothing left out', () => {
  it('two WACZ builds of the same archive at different clock times are byte-identical, dated by the newest capture', async () => {
    const again = await waczOf(storage, '2027-06-01T10:00:00.000Z');
    expect(sha(again)).toBe(sha(wacz));
    const file = join(await tempDir(), 'x.wacz');
    writeFileSync(file, wacz);
    const dir = await tempDir();
    const entries = readZip(file, dir);
    expect(entries.filter((e) => e.name.startsWith('archive/')).every((e) => /-export-20251215130000000-\d{5}\.warc\.gz$/.test(e.name))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'datapackage.json'), 'utf8'))).toMatchObject({ created: T1 });
  });

  it('holds captures whose records are only in the WARC file still being written (read to its last whole record)', async () => {
    const copy = join(await tempDir(), 'storage');
    cpSync(storage, copy, { recursive: true });
    const warcs = readdirSync(join(copy, 'warc')).filter((n) => n.endsWith('.warc.gz')).sort();
    expect(warcs.length).toBeGreaterThan(1);
    // The fetch's file, as if serve were still writing it: `.open`, a record being appended at its end.
    const last = join(copy, 'warc', warcs.at(-1)!);
    renameSync(last, `${last}.open`);
    appendFileSync(`${last}.open`, readFileSync(join(storage, 'warc', warcs.at(-1)!)).subarray(0, 100));
    const res = await runCli(['export', '--format', 'wacz', '--out', join(copy, 'o.wacz'), '--storage', copy], { env: env('2026-02-01T00:00:00.000Z') });
    expect(res.code, 'a torn end of the open file is no problem').toBe(0);
    const dir = await tempDir();
    readZip(join(copy, 'o.wacz'), dir);
    const pages = readFileSync(join(dir, 'pages/pages.jsonl'), 'utf8');
    expect(pages).toContain(`"id":"${edited.id}-v2"`);
    expect(sha(readFileSync(join(copy, 'o.wacz'))), 'the same package as from the closed file').toBe(sha(wacz));
  });

  it('the same bytes under another time zone and umask', async () => {
    const out = join(await tempDir(), 'z.wacz');
    // umask 077 makes the staged files 0600; TZ +14 h moves every local time across a day.
    const res = await collect(spawn('sh', ['-c', 'umask 077 && exec "$0" "$@"', process.execPath, CLI, 'export', '--format', 'wacz', '--out', out, '--storage', storage], { env: { ...process.env, ...env(T1), TZ: 'Pacific/Kiritimati' }, stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    expect(sha(readFileSync(out))).toBe(sha(wacz));
  });
});

describe('newsnap export --out', () => {
  it("makes --out's missing folder and leaves nothing there but the output (wacz, parquet, jsonl)", async () => {
    const base = await tempDir();
    await cli(['export', '--format', 'wacz', '--out', join(base, 'new/deeper/a.wacz')]);
    expect(readdirSync(join(base, 'new/deeper'))).toEqual(['a.wacz']);
    expect(sha(readFileSync(join(base, 'new/deeper/a.wacz')))).toBe(sha(wacz));
    await cli(['export', '--format', 'parquet', '--out', join(base, 'p/dataset')]);
    expect(readdirSync(join(base, 'p'))).toEqual(['dataset']);
    expect(readdirSync(join(base, 'p/dataset')).sort()).toEqual(['README.md', 'articles.parquet', 'captures.parquet', 'versions.parquet']);
    await cli(['export', '--out', join(base, 'j/x.jsonl')]);
    expect(readdirSync(join(base, 'j'))).toEqual(['x.jsonl']);
    expect(readFileSync(join(base, 'j/x.jsonl'))).toEqual((await cli(['export'])).stdout);
  });

  it('a .gz export on a full disk: the storage exit (6) naming ENOSPC, and no staging folder left', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test mounts a small tmpfs and needs root (CI runs as root)');
    const mount = await tempDir('newsnap-tinyfs-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mount]);
    try {
      // Filled to the last block: the folders can still be made, no byte of the export written.
      try {
        for (let i = 0; ; i++) writeFileSync(join(mount, `fill-${i}`), Buffer.alloc(4096, 1));
      } catch {
        // ENOSPC: full.
      }
      const res = await runCli(['export', '--out', join(mount, 'x.jsonl.gz'), '--storage', storage], { env: env(T1) });
      expect(res.code, res.stderr.slice(-2000)).toBe(6);
      expect(res.stderr).toContain(`${join(mount, 'x.jsonl.gz')}: ENOSPC (disk full`);
      expect(readdirSync(mount).filter((n) => !n.startsWith('fill-'))).toEqual([]);
    } finally {
      execFileSync('umount', [mount]);
    }
  });

  it("removes a staging folder a killed export left (its pid gone), not a running one's", async () => {
    const base = await tempDir();
    mkdirSync(join(base, '.newsnap-export-999999999-AbCdEf/scratch'), { recursive: true });
    mkdirSync(join(base, `.newsnap-export-${process.pid}-running`));
    await cli(['export', '--out', join(base, 'x.jsonl')]);
    expect(readdirSync(base).sort()).toEqual([`.newsnap-export-${process.pid}-running`, 'x.jsonl']);
  });

  it('a failed export leaves no staged file behind', async () => {
    const base = await tempDir();
    mkdirSync(join(base, 'a.wacz')); // a folder where the file should go: the final rename fails
    const res = await runCli(['export', '--format', 'wacz', '--out', join(base, 'a.wacz'), '--storage', storage], { env: env(T1) });
    expect(res.code).not.toBe(0);
    expect(readdirSync(base)).toEqual(['a.wacz']);
    expect(readdirSync(join(base, 'a.wacz'))).toEqual([]);
  });
});

describe('ExportBuilds (serve): in a child process, over HTTP on 127.0.0.1', () => {
  it('WACZ: the CLI package byte for byte; ranges with ETag = sha256; If-Range with another ETag gives the whole file; built once', async () => {
    const s = await serveBuilds({ root: storage });
    try {
      expect((await fetch(`${s.url}/export.wacz`, { method: 'HEAD' })).headers.get('content-length'), 'HEAD builds nothing').toBeNull();
      expect(s.builds.status()).toMatchObject({ running: 0, queued: 0, built: 0 });
      const whole = await fetch(`${s.url}/export.wacz`);
      expect(whole.status).toBe(200);
      const body = Buffer.from(await whole.arrayBuffer());
      expect(sha(body)).toBe(sha(wacz));
      const etag = whole.headers.get('etag');
      expect(etag).toBe(`"${sha(body)}"`);
      const tail = await fetch(`${s.url}/export?format=wacz`, { headers: { range: 'bytes=-22', 'if-range': etag! } });
      expect(tail.status).toBe(206);
      expect(tail.headers.get('content-range')).toBe(`bytes ${body.length - 22}-${body.length - 1}/${body.length}`);
      expect(Buffer.from(await tail.arrayBuffer())).toEqual(body.subarray(-22));
      const stale = await fetch(`${s.url}/export.wacz`, { headers: { range: 'bytes=0-9', 'if-range': '"not-this-one"' } });
      expect(stale.status).toBe(200);
      expect(sha(Buffer.from(await stale.arrayBuffer()))).toBe(sha(body));
      const head = await fetch(`${s.url}/export.wacz`, { method: 'HEAD' });
      expect([head.headers.get('content-length'), head.headers.get('etag')]).toEqual([String(body.length), etag]);
      expect(s.builds.status()).toMatchObject({ built: 1, refused: 0 });
      expect(readdirSync(s.staging)).toEqual(['1.wacz']);
    } finally {
      await s.close();
    }
    expect(existsSync(s.staging)).toBe(false);
  });

  it('a kept package is built again once the archive has a newer capture (the manifest grew), and not before; ranges keep reading the one they began', async () => {
    const copy = join(await tempDir(), 'storage');
    cpSync(storage, copy, { recursive: true });
    const s = await serveBuilds({ root: copy });
    try {
      const etagOf = async () => {
        const r = await fetch(`${s.url}/export.wacz`);
        await r.arrayBuffer();
        return r.headers.get('etag');
      };
      const ranged = async (range: string, ifRange?: string) => {
        const r = await fetch(`${s.url}/export.wacz`, { headers: { range, ...(ifRange ? { 'if-range': ifRange } : {}) } });
        return { status: r.status, etag: r.headers.get('etag'), body: Buffer.from(await r.arrayBuffer()) };
      };
      const first = await etagOf();
      expect(await etagOf()).toBe(first);
      expect(s.builds.status().built).toBe(1);
      const whole = (await ranged('bytes=0-')).body;
      expect(`"${sha(whole)}"`).toBe(first);
      mirror.edit(edited.id, { at: '2025-12-15T13:30:00Z', title: 'Bir kez daha düzeltildi' });
      const res = await runCli(['fetch', articleUrl(edited), '--origin', mirror.baseUrl, '--storage', copy], { env: env('2025-12-15T14:00:00.000Z') });
      expect(res.code, res.stderr.slice(-2000)).toBe(0);
      // A replay tool reading by ranges, without If-Range, across the capture: all of them from the package it began.
      for (const [range, from, to] of [['bytes=-22', whole.length - 22, whole.length], ['bytes=0-99', 0, 100], ['bytes=100-4095', 100, 4096]] as const) {
        const r = await ranged(range);
        expect([r.status, r.etag]).toEqual([206, first]);
        expect(r.body).toEqual(whole.subarray(from, to));
      }
      expect((await ranged('bytes=0-9', first!)).status, "an If-Range naming the kept one: that one's bytes").toBe(206);
      expect((await fetch(`${s.url}/export.wacz`, { method: 'HEAD' })).headers.get('etag'), 'a HEAD describes what ranges read').toBe(first);
      expect(s.builds.status().built, 'no range waited for a rebuild').toBe(1);
      expect(await etagOf()).not.toBe(first);
      expect(s.builds.status().built).toBe(2);
      expect(readdirSync(s.staging), 'the stale package of the same export is dropped').toEqual(['2.wacz']);
    } finally {
      await s.close();
    }
  });

  it('JSON lines and CSV stream what the CLI writes; Parquet comes as one zip; bad parameters are 400 naming them', async () => {
    const s = await serveBuilds({ root: storage });
    try {
      const jsonl = await fetch(`${s.url}/export?format=jsonl`);
      expect([jsonl.status, jsonl.headers.get('etag')]).toEqual([200, null]);
      expect(Buffer.from(await jsonl.arrayBuffer())).toEqual((await cli(['export'])).stdout);
      const csv = await fetch(`${s.url}/export?format=csv&versions=true&since=2025-12-15`);
      expect(Buffer.from(await csv.arrayBuffer())).toEqual((await cli(['export', '--format', 'csv', '--versions', '--since', '2025-12-15'])).stdout);
      const zip = await fetch(`${s.url}/export?format=parquet`);
      expect(zip.headers.get('content-type')).toBe('application/zip');
      const file = join(await tempDir(), 'p.zip');
      writeFileSync(file, Buffer.from(await zip.arrayBuffer()));
      expect(readZip(file, await tempDir()).map((e) => e.name)).toEqual(['README.md', 'articles.parquet', 'captures.parquet', 'versions.parquet']);
      const bad = async (q: string) => {
        const r = await fetch(`${s.url}/export?${q}`);
        return [r.status, ((await r.json()) as { error: string }).error];
      };
      expect(await bad('format=pdf')).toEqual([400, expect.stringContaining('jsonl, csv, wacz, parquet')]);
      expect(await bad('format=wacz&since=2025-13-01')).toEqual([400, expect.stringContaining('since=')]);
      expect(await bad('format=jsonl&until=nope')).toEqual([400, expect.stringContaining('until=')]);
      expect(await bad('format=jsonl&id=12x')).toEqual([400, expect.stringContaining('id=12x')]);
    } finally {
      await s.close();
    }
  });

  it('one build at a time, maxQueued waiting, then 503 with Retry-After; a build whose clients hung up is killed and its files go', async () => {
    const s = await serveBuilds({ root: storage, maxQueued: 1, hold: true });
    try {
      const first = new AbortController();
      const a = fetch(`${s.url}/export.wacz?since=2025-12-15`, { signal: first.signal }).catch((e: Error) => e);
      await until('the first build to run', () => (s.builds.status().running === 1 && s.builds.pids().length === 1 ? true : undefined), { idleMs: 60_000 });
      const pid = s.builds.pids()[0]!;
      const second = new AbortController();
      const b = fetch(`${s.url}/export?format=parquet`, { signal: second.signal }).catch((e: Error) => e);
      await until('the second to wait', () => (s.builds.status().queued === 1 ? true : undefined), { idleMs: 60_000 });
      const refused = await fetch(`${s.url}/export?format=jsonl`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await refused.json()) as { error: string }).error).toContain('maxQueuedExports');
      expect(s.builds.status()).toMatchObject({ running: 1, queued: 1, refused: 1 });
      first.abort();
      await a;
      await until(`the first build's child (${pid}) to be killed`, () => (alive(pid) ? undefined : true), { idleMs: 60_000 });
      // The waiting one runs now, in a new child.
      await until('the second build to run', () => (s.builds.status().running === 1 && s.builds.pids().some((p) => p !== pid) ? true : undefined), { idleMs: 60_000 });
      const pid2 = s.builds.pids()[0]!;
      second.abort();
      await b;
      await until(`the second build's child (${pid2}) to be killed`, () => (alive(pid2) ? undefined : true), { idleMs: 60_000 });
      await until('the staged files to go', () => (readdirSync(s.staging).length === 0 ? true : undefined), { idleMs: 60_000 });
      // A streamed export whose client hangs up is killed at once too.
      const third = new AbortController();
      const c = fetch(`${s.url}/export?format=jsonl`, { signal: third.signal }).catch((e: Error) => e);
      await until('the stream to run', () => (s.builds.pids().length === 1 && s.builds.status().running === 1 ? true : undefined), { idleMs: 60_000 });
      const pid3 = s.builds.pids()[0]!;
      third.abort();
      await c;
      await until(`the stream's child (${pid3}) to be killed`, () => (alive(pid3) ? undefined : true), { idleMs: 60_000 });
      expect(s.builds.status()).toMatchObject({ running: 0, queued: 0, built: 0 });
    } finally {
      await s.close();
    }
  });
});
