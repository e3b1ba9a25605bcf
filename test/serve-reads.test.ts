import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { MirrorServer } from '../src/mirror/index.js';
import { articleUrl } from '../src/mirror/site-model.js';
import { runCli } from './helpers/cli.js';
import { mirrorFor, stopsAfterEach } from './helpers/lifecycle.js';
import { firstCrawlEnded, outsideAddress, startServe, until, type Served } from './helpers/serve.js';
import { isAlive as alive } from './helpers/processes.js';
import { readManifest, tempDir } from './helpers/storage.js';
import { readZip } from './helpers/zip-read.js';

// A read whose query holds this word blocks its reader process as one long SQLite statement
// would (NEWSNAP_TEST_HOLD_READS, set only by tests): no big store, no slow query needed.
const HOLD = 'holdthisread';
const env = { NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_RATE: '0', NEWSNAP_DISCOVERY_FEED_EVERY: 'off', NEWSNAP_TEST_HOLD_READS: HOLD };
const stopLater = stopsAfterEach();

async function serve(mirror: MirrorServer, storage: string, extra: Record<string, string> = {}, args: string[] = []): Promise<Served> {
  const s = await startServe(['--origin', mirror.baseUrl, '--storage', storage, '--schedule', '0 0 1 1 *', ...args], { env: { ...env, ...extra } });
  stopLater(() => s.kill());
  return s;
}

interface Reads {
  running: number;
  answered: number;
  refused: number;
  timedOut: number;
  hungUp: number;
  eventLoopDelay: { p50Ms: number; p99Ms: number; maxMs: number };
}

async function status(api: string): Promise<{ reads: Reads & { exports: { built: number } } }> {
  return (await (await fetch(`${api}/status`)).json()) as { reads: Reads & { exports: { built: number } } };
}

async function reads(api: string): Promise<Reads> {
  return ((await (await fetch(`${api}/status`)).json()) as { reads: Reads }).reads;
}

/** The serve's child processes (its reader processes among them), by `ps`. */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}


/** Holds one heavy read open; resolves once /status shows it running. */
async function holdRead(api: string, path = '/search'): Promise<{ controller: AbortController; answer: Promise<number | 'hung up'> }> {
  const controller = new AbortController();
  const answer = fetch(`${api}${path}?q=${HOLD}`, { signal: controller.signal }).then(
    (r) => r.status,
    () => 'hung up' as const,
  );
  await until('the held read running', async () => ((await reads(api)).running === 1 ? true : undefined));
  return { controller, answer };
}

describe('heavy reads never stall the engine', () => {
  it('while a read is held: /healthz answers, a new article is captured, a read past the cap is 503 with Retry-After, a hang-up frees the place, SIGTERM exits 0 at once', async () => {
    const mirror = await mirrorFor(stopLater, { articles: 6, days: 2, crawlDelay: 0 });
    const storage = await tempDir();
    const s = await serve(mirror, storage, { NEWSNAP_SERVE_MAX_HEAVY_READS: '1', NEWSNAP_SERVE_READ_TIMEOUT_MS: '600000' });
    await firstCrawlEnded(s.api);
    const held = await holdRead(s.api);

    const health = await fetch(`${s.api}/healthz`);
    expect(health.status).toBe(200);
    const [fresh] = mirror.publish(1);
    const fetched = await fetch(`${s.api}/fetch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: articleUrl(fresh!) }) });
    expect(((await fetched.json()) as { result: string }).result).toBe('written');
    expect((await readManifest(storage)).some((l) => l.id === fresh!.id && l.event === 'new')).toBe(true);

    // The one place is taken: refused at once, told when to come back.
    const refused = await fetch(`${s.api}/search/count?q=ankara`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(((await refused.json()) as { error: string }).error).toContain('serve.maxHeavyReads');

    // The client hangs up: its reader process is killed and the place is free again.
    const readersBefore = childrenOf(s.child.pid!);
    held.controller.abort();
    expect(await held.answer).toBe('hung up');
    const answered = await until('the place free again', async () => {
      const r = await fetch(`${s.api}/search?q=ankara`);
      return r.status === 503 ? undefined : r;
    });
    expect(answered.status).toBe(200);
    const after = await reads(s.api);
    // Probes that came before the hang-up was seen were refused too.
    expect(after).toMatchObject({ hungUp: 1, running: 0 });
    expect(after.refused).toBeGreaterThanOrEqual(1);
    expect(readersBefore.some((pid) => !alive(pid))).toBe(true);

    // SIGTERM with a read held: exit 0 well within 10 s, state saved, no reader left behind.
    await holdRead(s.api, '/articles');
    const readers = childrenOf(s.child.pid!);
    expect(readers.length).toBeGreaterThan(0);
    const sent = performance.now();
    s.child.kill('SIGTERM');
    const result = await s.done;
    const tookMs = performance.now() - sent;
    expect(result.code).toBe(0);
    expect(tookMs).toBeLessThan(10_000);
    expect(result.stderr).toContain('"msg":"stopped"');
    await until('no reader process left', async () => (readers.every((pid) => !alive(pid)) ? true : undefined));
    const verify = await runCli(['verify', '--storage', storage]);
    expect(verify.code).toBe(0);
  });

  it('a reader inside a long statement ends by itself when serve is killed with -9 (no orphan holds the WAL)', async () => {
    const mirror = await mirrorFor(stopLater, { articles: 3, days: 1, crawlDelay: 0 });
    const storage = await tempDir();
    const s = await serve(mirror, storage, { NEWSNAP_SERVE_READ_TIMEOUT_MS: '600000' });
    await firstCrawlEnded(s.api);
    await holdRead(s.api);
    const readers = childrenOf(s.child.pid!);
    expect(readers.length).toBeGreaterThan(0);
    s.child.kill('SIGKILL');
    await s.done.catch(() => undefined);
    // Its thread is blocked: only its watchdog thread, which sees the parent gone, can end it.
    await until('the orphaned reader gone', async () => (readers.every((pid) => !alive(pid)) ? true : undefined), { progress: () => readers.filter(alive).length, idleMs: 30_000 });
  });

  it('a read over serve.readTimeoutMs is stopped and answered 503, naming the limit; the engine thread stays responsive meanwhile', async () => {
    const mirror = await mirrorFor(stopLater, { articles: 3, days: 1, crawlDelay: 0 });
    const storage = await tempDir();
    const s = await serve(mirror, storage, { NEWSNAP_SERVE_READ_TIMEOUT_MS: '800' });
    await firstCrawlEnded(s.api);
    const r = await fetch(`${s.api}/search/count?q=${HOLD}&versions=any`);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { error: string }).error).toMatch(/serve\.readTimeoutMs \(800 ms\).*narrow the query/);
    const status = await reads(s.api);
    expect(status).toMatchObject({ timedOut: 1, running: 0 });
    expect((await fetch(`${s.api}/healthz`)).status).toBe(200);
    // The status page says the same, with the index caught up with the manifest.
    const page = await (await fetch(`${s.api}/`)).text();
    expect(page).toContain('data-reads="timedOut">1<');
    expect(page).toContain('data-index-behind="0"');
    const full = (await (await fetch(`${s.api}/status`)).json()) as { index: { behind: number; manifestSeq: number } };
    expect(full.index).toMatchObject({ behind: 0, manifestSeq: (await readManifest(storage)).length });
    const metrics = await (await fetch(`${s.api}/metrics`)).text();
    expect(metrics).toMatch(/^newsnap_event_loop_delay_p99_seconds \d/m);
    expect(metrics).toMatch(/^newsnap_heavy_reads_total\{result="timed_out"\} 1$/m);
  });
});

describe('exports from serve', () => {
  it('a WACZ from a running serve holds the captures still in the open WARC file, and two builds of the same inputs are the same bytes with a digest ETag', async () => {
    const mirror = await mirrorFor(stopLater, { articles: 4, days: 1, crawlDelay: 0 });
    const storage = await tempDir();
    const s = await serve(mirror, storage);
    await firstCrawlEnded(s.api);
    // Nothing was closed: every record of the crawl is in the .open file.
    const warcs = await readdir(join(storage, 'warc'));
    expect(warcs.length).toBe(1);
    expect(warcs[0]).toMatch(/\.open$/);
    const first = await fetch(`${s.api}/export.wacz`);
    expect(first.status).toBe(200);
    const bytes = Buffer.from(await first.arrayBuffer());
    expect(first.headers.get('etag')).toBe(`"${createHash('sha256').update(bytes).digest('hex')}"`);
    const work = await tempDir();
    await writeFile(join(work, 'a.wacz'), bytes);
    readZip(join(work, 'a.wacz'), join(work, 'unpacked'));
    const cdxj = await readFile(join(work, 'unpacked', 'indexes', 'index.cdxj'), 'utf8');
    for (const a of mirror.all()) expect(cdxj).toContain(`${a.id}.html`);
    // Two other selections push the kept package out (two are kept); the same inputs built again are the same bytes.
    for (const since of ['2000-01-01', '2000-01-02']) expect((await fetch(`${s.api}/export?format=wacz&since=${since}`)).status).toBe(200);
    const rebuilt = await fetch(`${s.api}/export?format=wacz`);
    expect(rebuilt.status).toBe(200);
    expect(Buffer.from(await rebuilt.arrayBuffer()).equals(bytes)).toBe(true);
    expect(rebuilt.headers.get('etag')).toBe(first.headers.get('etag'));
    expect((await status(s.api)).reads.exports.built).toBe(4);
    const lines = await fetch(`${s.api}/export?format=jsonl`);
    expect(lines.headers.get('etag')).toBeNull();
    expect((await lines.text()).trim().split('\n')).toHaveLength(mirror.all().length);
  });
});


function getFrom(localAddress: string, host: string, port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, localAddress, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the route table decides who may read', () => {
  it('heavy and export routes refuse another machine without serve.token (403), and want the bearer token once it is set', async () => {
    const mirror = await mirrorFor(stopLater, { articles: 3, days: 1, crawlDelay: 0 });
    const outside = outsideAddress();
    const open = await serve(mirror, await tempDir(), { NEWSNAP_SERVE_HOST: '0.0.0.0' });
    expect(open.child.pid).toBeGreaterThan(0);
    const port = Number(new URL(open.api).port);
    for (const path of ['/search?q=ankara', '/search/count?q=ankara', '/search/feed.atom?q=ankara', '/export.wacz', '/export?format=jsonl']) {
      expect({ path, status: await getFrom(outside, outside, port, path) }).toEqual({ path, status: 403 });
    }
    // Cheap routes and pages follow their own rules, as before.
    expect(await getFrom(outside, outside, port, '/healthz')).toBe(200);
    expect(await getFrom(outside, outside, port, '/nothing-here')).toBe(404);
    const token = 'reader-token-1234';
    const guarded = await serve(mirror, await tempDir(), { NEWSNAP_SERVE_HOST: '0.0.0.0', NEWSNAP_SERVE_TOKEN: token });
    const gport = Number(new URL(guarded.api).port);
    await firstCrawlEnded(guarded.api);
    expect(await getFrom('127.0.0.1', '127.0.0.1', gport, '/search?q=ankara')).toBe(401);
    expect(await getFrom(outside, outside, gport, '/search?q=ankara', { authorization: `Bearer ${token}` })).toBe(200);
    expect(await getFrom(outside, outside, gport, '/search?q=ankara', { authorization: 'Bearer wrong-token-12345' })).toBe(401);
  });
});
