import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { runCli } from './helpers/cli.js';
import { alive, serveBuilds } from './helpers/export-serve.js';
import { until } from './helpers/progress.js';
import { tempDir } from './helpers/storage.js';

let mirror: MirrorServer;
let storage: string;
let jsonl: Buffer;

beforeAll(async () => {
  mirror = new MirrorServer({ articles: 4, days: 1, lastDay: '20251215', crawlDelay: 0 });
  await mirror.listen();
  storage = await tempDir();
  const env = { NEWSNAP_NOW: '2025-12-15T12:00:00.000Z', NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_RATE: '0' };
  const crawl = await runCli(['crawl', '--since', '20251215', '--origin', mirror.baseUrl, '--storage', storage], { env });
  expect(crawl.code, crawl.stderr.slice(-2000)).toBe(0);
  const out = await runCli(['export', '--storage', storage], { env });
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
