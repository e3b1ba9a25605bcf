import { cpSync, openSync, readdirSync, readFileSync, statSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config/config.js';
import { archiveFiles } from '../src/export/archive-records.js';
import { exporterOf, exportSite, type ExportJob } from '../src/export/exporters.js';
import { MirrorServer, type MirrorArticle } from '../src/mirror/index.js';
import { articleUrl } from '../src/mirror/site-model.js';
import { ReadOnlyStorage } from '../src/storage/read-only.js';
import { warcMembers } from '../src/warc/warc-members.js';
import { runCli } from './helpers/cli.js';
import { serveBuilds } from './helpers/export-serve.js';
import { isAlive as alive } from './helpers/processes.js';
import { until } from './helpers/progress.js';
import { tempDir } from './helpers/storage.js';
import { readZip } from './helpers/zip-read.js';

let mirror: MirrorServer;
let storage: string;
let jsonl: Buffer;
let env: (now: string) => Record<string, string>;

/** A WACZ of `root` made in this process (as the export child makes it), with its problems. */
async function waczHere(root: string, o: Partial<Pick<ExportJob, 'files' | 'onProgress'>> = {}) {
  const storage = new ReadOnlyStorage(root);
  const problems: string[] = [];
  const out = join(await tempDir(), 'x.wacz');
  try {
    await exporterOf('wacz')!.produce({ storage, site: exportSite(DEFAULTS), selection: {}, staging: await tempDir(), onProblem: (path, why) => problems.push(`${path} ${why}`), ...o }, { path: out });
  } finally {
    storage.close();
  }
  const dir = await tempDir();
  readZip(out, dir);
  return { problems, pages: readFileSync(join(dir, 'pages/pages.jsonl'), 'utf8'), cdxj: readFileSync(join(dir, 'indexes/index.cdxj'), 'utf8') };
}

beforeAll(async () => {
  mirror = new MirrorServer({ articles: 4, days: 1, lastDay: '20251215', crawlDelay: 0 });
  await mirror.listen();
  storage = await tempDir();
  env = (now: string) => ({ NEWSNAP_NOW: now, NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_RATE: '0' });
  const first = { NEWSNAP_NOW: '2025-12-15T12:00:00.000Z', NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_RATE: '0' };
  const crawl = await runCli(['crawl', '--since', '20251215', '--origin', mirror.baseUrl, '--storage', storage], { env: first });
  expect(crawl.code, crawl.stderr.slice(-2000)).toBe(0);
  const out = await runCli(['export', '--storage', storage], { env: first });
  expect(out.code, out.stderr.slice(-2000)).toBe(0);
  jsonl = out.stdout;
});
afterAll(() => mirror?.close());

describe('ExportBuilds (serve): streams that stall, and a stop mid-stream', () => {
  it('a JSON lines client that takes no bytes is cut off after stallMs and its child killed: the next export runs', async () => {
    const s = await serveBuilds({ root: storage, stallMs: 300 });
    try {
      // The client never takes a byte: every write is held, and room never comes (no 'drain').
      const stalled = new Promise<Error | Response>((resolve) => {
        void fetch(`${s.url}/export?format=jsonl&stall=1`).then(async (r) => {
          await r.arrayBuffer().catch((e: Error) => resolve(e));
          resolve(r);
        }, resolve);
      });
      await until('the stream to run', () => (s.builds.pids().length === 1 && s.builds.status().running === 1 ? true : undefined), { idleMs: 60_000 });
      const pid = s.builds.pids()[0]!;
      const cut = await stalled;
      expect(cut, 'the connection is dropped, not ended as if whole').toBeInstanceOf(Error);
      await until(`the stalled stream's child (${pid}) to be killed`, () => (alive(pid) ? undefined : true), { idleMs: 60_000 });
      const next = await fetch(`${s.url}/export?format=jsonl`);
      expect(next.status).toBe(200);
      expect(Buffer.from(await next.arrayBuffer())).toEqual(jsonl);
    } finally {
      await s.close();
    }
  }, 120_000);

  it('serve stopping before a stream sent anything: 503 with Retry-After, not "export failed"', async () => {
    const s = await serveBuilds({ root: storage, hold: true });
    try {
      const answer = fetch(`${s.url}/export?format=csv`);
      await until('the stream to run', () => (s.builds.status().running === 1 ? true : undefined), { idleMs: 60_000 });
      await s.builds.close();
      const r = await answer;
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await r.json()) as { error: string }).error).toContain('stopping');
    } finally {
      await s.close();
    }
  });
});

describe('WACZ: the archive changing under an export', () => {
  it('a member whose bytes changed between the passes is reported and left out, not copied', async () => {
    const copy = join(await tempDir(), 'storage');
    cpSync(storage, copy, { recursive: true });
    const whole = await waczHere(copy);
    expect(whole.problems).toEqual([]);
    const name = readdirSync(join(copy, 'warc')).filter((n) => n.endsWith('.warc.gz')).sort()[0]!;
    const path = join(copy, 'warc', name);
    const members = [...warcMembers(path, statSync(path).size)].filter((m) => m.kind !== 'damage');
    const changed = await waczHere(copy, {
      // After the first pass, before the copy: every member's CRC changes, as if rewritten in place.
      onProgress: (p) => {
        if (p.phase !== 'archive' || p.done !== p.of) return;
        const fd = openSync(path, 'r+');
        for (const m of members) writeSync(fd, Buffer.from([0xff ^ readFileSync(path)[m.offset + m.length - 8]!]), 0, 1, m.offset + m.length - 8);
        closeSync(fd);
      },
    });
    expect(changed.problems.length).toBeGreaterThan(0);
    expect(changed.problems.every((p) => p.startsWith(`warc/${name}#`) && p.includes('since the export read it: left out'))).toBe(true);
    expect(changed.cdxj).not.toContain(name.replace(/\.warc\.gz$/, ''));
    expect(changed.cdxj.split('\n').length).toBeLessThan(whole.cdxj.split('\n').length);
  });

  it("pages.jsonl lists no version captured after the archive was listed (its record is not in the package)", async () => {
    const copy = join(await tempDir(), 'storage');
    cpSync(storage, copy, { recursive: true });
    const files = archiveFiles(copy);
    const [article] = mirror.all().filter((a) => !a.gallery) as [MirrorArticle];
    mirror.edit(article.id, { at: '2025-12-15T12:30:00Z', title: 'Sonradan düzeltildi' });
    const res = await runCli(['fetch', articleUrl(article), '--origin', mirror.baseUrl, '--storage', copy], { env: env('2025-12-15T13:00:00.000Z') });
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    const snapshot = await waczHere(copy, { files });
    expect(snapshot.problems).toEqual([]);
    expect(snapshot.pages).toContain(`"id":"${article.id}-v1"`);
    expect(snapshot.pages, 'the version captured after the listing').not.toContain(`"id":"${article.id}-v2"`);
    expect((await waczHere(copy)).pages).toContain(`"id":"${article.id}-v2"`);
  });
});
