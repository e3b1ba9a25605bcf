import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { MirrorServer } from '../src/mirror/index.js';
import { mirrorFor, stopsAfterEach } from './helpers/lifecycle.js';
import { articleUrl } from '../src/mirror/site-model.js';
import { runCli } from './helpers/cli.js';
import { firstCrawlEnded, outsideAddress, startServe, until, type Served } from './helpers/serve.js';
import { readManifest, tempDir } from './helpers/storage.js';

const env = { NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_RATE: '0' };
const stopLater = stopsAfterEach();
const mirrorOf = (articles: number): Promise<MirrorServer> => mirrorFor(stopLater, { articles, days: 2, crawlDelay: 0 });

async function serve(args: string[], extra: Record<string, string> = {}): Promise<Served> {
  const s = await startServe(args, { env: { ...env, ...extra } });
  stopLater(() => s.kill());
  return s;
}


/** A POST from `localAddress` (the source address the server sees). */
function postFrom(localAddress: string, host: string, port: number, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: 'POST', localAddress, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('serve stays bounded', () => {
  it('GET /events: a cursor past the end is a 409 at once; held requests are capped (503) and freed when their client hangs up', async () => {
    const mirror = await mirrorOf(8);
    const storage = await tempDir();
    const s = await serve(['--origin', mirror.baseUrl, '--storage', storage, '--schedule', '0 0 1 1 *'], { NEWSNAP_DISCOVERY_FEED_EVERY: 'off' });
    await firstCrawlEnded(s.api);
    const lines = (await readManifest(storage)).length;
    expect(lines).toBeGreaterThan(0);
    const past = await fetch(`${s.api}/events?after=99999&wait=30`);
    expect(past.status).toBe(409);
    expect(await past.json()).toMatchObject({ last: lines, storageId: expect.stringMatching(/^[0-9a-f-]{36}$/), error: expect.stringContaining('start again from after=0') });

    // 256 held requests fill every place; the next is told to come back.
    const held = Array.from({ length: 256 }, () => new AbortController());
    const answers = held.map((c) => fetch(`${s.api}/events?after=${lines}&wait=60`, { signal: c.signal }).then((r) => r.status, () => 'hung up'));
    await until('every place taken', async () => {
      const r = await fetch(`${s.api}/events?after=${lines}&wait=1`);
      return r.status === 503 ? r : undefined;
    }).then(async (r) => {
      expect(r.headers.get('retry-after')).toBe('5');
    });
    // The clients hang up: their places come back at once, long before their 60 s.
    for (const c of held) c.abort();
    expect(new Set(await Promise.all(answers))).toEqual(new Set(['hung up']));
    // Well before the 60 s the held requests asked to wait: freed by the hang-up itself.
    const again = await until(
      'a place free again',
      async () => {
        const r = await fetch(`${s.api}/events?after=${lines}&wait=1`);
        return r.status === 200 ? r : undefined;
      },
      { progress: () => 0, idleMs: 30_000 },
    );
    expect(await again.json()).toEqual({ events: [], next: lines });
  });

  it('the Atom feed answers 304 to a reader that has it, and a new event changes its ETag', async () => {
    const mirror = await mirrorOf(6);
    const storage = await tempDir();
    const s = await serve(['--origin', mirror.baseUrl, '--storage', storage, '--schedule', '0 0 1 1 *'], { NEWSNAP_DISCOVERY_FEED_EVERY: 'off' });
    await firstCrawlEnded(s.api);
    const first = await fetch(`${s.api}/feed.atom`);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f-]{36}-\d+-[0-9a-f]{8}"$/);
    expect((await fetch(`${s.api}/feed.atom`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const [fresh] = mirror.publish(1);
    expect((await fetch(`${s.api}/fetch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: articleUrl(fresh!) }) })).status).toBe(200);
    const after = await fetch(`${s.api}/feed.atom`, { headers: { 'if-none-match': etag } });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);
  });

  it('without serve.token, POST /fetch and /backfill are refused from another machine (403), taken from this one, and start-up warns naming serve.token', async () => {
    const mirror = await mirrorOf(4);
    const storage = await tempDir();
    const s = await serve(['--origin', mirror.baseUrl, '--storage', storage, '--schedule', '0 0 1 1 *', '--host', '0.0.0.0'], { NEWSNAP_DISCOVERY_FEED_EVERY: 'off' });
    const port = Number(new URL(s.api).port);
    const outside = outsideAddress();
    const body = JSON.stringify({ url: articleUrl(mirror.all()[0]!) });
    expect(await postFrom(outside, outside, port, '/fetch', body)).toBe(403);
    expect(await postFrom(outside, outside, port, '/backfill', JSON.stringify({ since: '2025-01-01' }))).toBe(403);
    expect(await postFrom('127.0.0.1', '127.0.0.1', port, '/fetch', body)).toBe(200);
    s.child.kill('SIGTERM');
    const res = await s.done;
    expect(res.stderr).toMatch(/serve listens on 0\.0\.0\.0 without serve\.token: POST \/fetch and \/backfill, the searches and the exports are refused \(403\) from other machines until serve\.token \(NEWSNAP_SERVE_TOKEN\) is set/);
  });
});

describe('verify beside a serve that writes', () => {
  it('while articles are published and edited and serve captures them, every verify exits 0', async () => {
    const mirror = await mirrorOf(40);
    const storage = await tempDir();
    const s = await serve(['--origin', mirror.baseUrl, '--storage', storage, '--schedule', '* * * * * *'], { NEWSNAP_DISCOVERY_FEED_EVERY: '1s', NEWSNAP_DISCOVERY_MONTH_EVERY: '1s', NEWSNAP_REVISIT_SCHEDULE: '30d:1s' });
    await firstCrawlEnded(s.api);
    let writing = true;
    const changes = (async () => {
      for (let i = 0; writing; i++) {
        if (i % 2 === 0) mirror.publish(1);
        else {
          const a = mirror.all()[i % mirror.all().length]!;
          if (!a.gallery) mirror.edit(a.id, { at: new Date().toISOString(), addParagraph: `Ek ${i}.` });
        }
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    try {
      const before = (await readManifest(storage)).length;
      for (let round = 0; round < 6; round++) {
        const res = await runCli(['verify', '--storage', storage, '--json']);
        expect(res.code, res.stdout.toString().slice(0, 3000)).toBe(0);
        expect(JSON.parse(res.stdout.toString())).toMatchObject({ whole: true, runInProgress: true });
      }
      // serve really wrote meanwhile: new versions and new articles.
      expect((await readManifest(storage)).length).toBeGreaterThan(before);
    } finally {
      writing = false;
      await changes;
    }
  });
});
