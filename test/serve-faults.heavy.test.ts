import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { MirrorServer } from '../src/mirror/index.js';
import { mirrorFor, stopsAfterEach } from './helpers/lifecycle.js';
import { articleUrl } from '../src/mirror/site-model.js';
import { logRecords, runCli } from './helpers/cli.js';
import { compareWithMirror } from './helpers/mirror.js';
import { startServe, until, type Served } from './helpers/serve.js';
import { readManifest, tempDir } from './helpers/storage.js';
import { newSecret, WebhookReceiver } from './helpers/webhook-receiver.js';

// Real time: a receiver checks a signature's timestamp against its own clock.
const env = { NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_RATE: '20', NEWSNAP_DISCOVERY_FEED_EVERY: '2s', NEWSNAP_DELIVERY_RETRY_SCHEDULE: '1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s' };
const stopLater = stopsAfterEach();

if (process.getuid?.() !== 0) throw new Error('these tests mount a small tmpfs and need root (CI runs as root)');

/** A storage folder on a tmpfs of its own, so that it can be filled. */
async function smallVolume(megabytes: number): Promise<{ mount: string; storage: string }> {
  const mount = await tempDir('newsnap-volume-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', mount]);
  stopLater(async () => execFileSync('umount', ['-l', mount]));
  const storage = join(mount, 'storage');
  mkdirSync(storage);
  return { mount, storage };
}

/** Takes every free byte of the volume with a ballast file (written until the disk says it is full); returns the function that frees it. */
function fill(mount: string): () => void {
  const path = join(mount, 'ballast');
  spawnSync('dd', ['if=/dev/zero', `of=${path}`, 'bs=1M'], { stdio: 'ignore' });
  return () => unlinkSync(path);
}

/** Holds a write lock on the state database from another process until the returned function is called. */
async function lockState(storage: string): Promise<() => Promise<void>> {
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const script = `const D = require(${JSON.stringify(sqlite)}); const db = new D(${JSON.stringify(join(storage, 'state.sqlite'))}, { timeout: 30000 }); db.exec('BEGIN IMMEDIATE'); process.stdout.write('held\\n'); process.stdin.on('data', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}) before it held the lock`)));
  });
  const release = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin!.write('go\n');
    await exited;
  };
  stopLater(release);
  return release;
}

async function receiver(): Promise<WebhookReceiver> {
  const r = new WebhookReceiver(newSecret());
  await r.start();
  stopLater(() => r.stop());
  return r;
}

async function serve(storage: string, origin: string, hook: WebhookReceiver): Promise<Served> {
  const s = await startServe(['--origin', origin, '--storage', storage, '--schedule', '*/2 * * * * *'], {
    env: { ...env, NEWSNAP_DELIVERY_WEBHOOKS: JSON.stringify([{ url: hook.url, secret: hook.secret }]) },
  });
  stopLater(() => s.kill());
  return s;
}

const json = async (url: string) => (await fetch(url)).json() as Promise<Record<string, any>>;
const readyz = async (api: string) => {
  const res = await fetch(`${api}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};
const metricSum = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`)).reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);

/** Every article captured exactly, every manifest line delivered with a valid signature, /readyz 200 again. */
async function healed(s: Served, storage: string, mirror: MirrorServer, hook: WebhookReceiver): Promise<void> {
  await until('every article captured', async () => ((await compareWithMirror(storage, mirror.all())).length === 0 ? true : undefined), {
    pending: async () => (await compareWithMirror(storage, mirror.all())).slice(0, 5).join('; '),
  });
  await until('/readyz 200 again', async () => ((await readyz(s.api)).status === 200 ? true : undefined), { pending: async () => JSON.stringify((await readyz(s.api)).body) });
  const lines = (await readManifest(storage)).length;
  await until('every event delivered', () => (hook.deliveredSeqs().length === lines ? true : undefined), { pending: () => `${hook.deliveredSeqs().length} of ${lines}` });
  expect(hook.deliveredSeqs()).toEqual(Array.from({ length: lines }, (_, i) => i + 1));
  expect(hook.received.every((r) => r.valid)).toBe(true);
  const news = (await readManifest(storage)).filter((l) => l.event === 'new').map((l) => l.id);
  expect(new Set(news).size).toBe(news.length);
  // Beside the running serve, verify finds the folder whole.
  const verify = await runCli(['verify', '--storage', storage, '--json']);
  expect(verify.code, verify.stdout.toString().slice(0, 3000)).toBe(0);
}

/** SIGTERM ends it with 0, and it never logged an unhandled rejection. */
async function stopsCleanly(s: Served): Promise<void> {
  s.child.kill('SIGTERM');
  const res = await s.done;
  expect(res.code, res.stderr.slice(-3000)).toBe(0);
  expect(logRecords(res.stderr).filter((r) => /unhandled/i.test(String(r.msg)))).toEqual([]);
}

describe('serve heals itself', () => {
  it('the disk fills mid-crawl: the run ends with the cause, /readyz 503, the alarm and the metric; freed, every article is captured without a restart', async () => {
    const { mount, storage } = await smallVolume(40);
    const mirror = await mirrorFor(stopLater, { articles: 120, days: 2, crawlDelay: 0 });
    const origin = mirror.baseUrl;
    const hook = await receiver();
    const s = await serve(storage, origin, hook);
    await until('the first articles', async () => ((await readManifest(storage)).length >= 10 ? true : undefined));
    const free = fill(mount);
    const failing = await until('/readyz 503', async () => {
      const r = await readyz(s.api);
      return r.status === 503 ? r.body : undefined;
    });
    expect(failing.problem).toMatch(/writes fail since .*(ENOSPC|SQLITE_FULL)/);
    // A tick with the disk still full fails too, and shows as the schedule's failure.
    const status = await until('the alarm on /status', async () => {
      const doc = await json(`${s.api}/status`);
      return doc.alarms.storage && doc.alarms.scheduleFailure ? doc : undefined;
    });
    expect(status.alarms.storage.said).toMatch(/(ENOSPC|SQLITE_FULL)/);
    expect(await (await fetch(`${s.api}/`)).text()).toContain('data-alarm="storage-writes"');
    const metrics = await (await fetch(`${s.api}/metrics`)).text();
    expect(metricSum(metrics, 'newsnap_storage_errors_total')).toBeGreaterThan(0);
    expect(metricSum(metrics, 'newsnap_storage_failing')).toBeGreaterThan(0);
    expect((await compareWithMirror(storage, mirror.all())).length).toBeGreaterThan(0);

    free();
    await healed(s, storage, mirror, hook);
    await stopsCleanly(s);
    expect((await runCli(['verify', '--storage', storage])).code).toBe(0);
  });

  it('every lane\'s writes fail at once (a full disk and a locked state database) while the watch polls, webhooks go out and POST /fetch asks: the process stays up and heals', async () => {
    const { mount, storage } = await smallVolume(40);
    const mirror = await mirrorFor(stopLater, { articles: 60, days: 2, crawlDelay: 0 });
    const origin = mirror.baseUrl;
    const hook = await receiver();
    const s = await serve(storage, origin, hook);
    await until('the first articles', async () => ((await readManifest(storage)).length >= 10 ? true : undefined));
    const free = fill(mount);
    const unlock = await lockState(storage);
    // New articles for the watch and a manual fetch, while nothing can be written.
    const published = mirror.publish(3);
    const manual = await fetch(`${s.api}/fetch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: articleUrl(published[0]!) }) });
    expect(manual.status).toBe(503);
    expect(((await manual.json()) as { error: string }).error).toMatch(/could not/);
    await until('/readyz 503', async () => ((await readyz(s.api)).status === 503 ? true : undefined));
    // Three scheduled ticks go by failing (each fails at once: the lock is known), and the API
    // answers meanwhile; the process is still there.
    const failedTicks = new Set<string>();
    await until('three failed ticks', async () => {
      const failure = (await json(`${s.api}/status`)).alarms.scheduleFailure as { at: string } | null;
      if (failure) failedTicks.add(failure.at);
      return failedTicks.size >= 3 ? true : undefined;
    });
    expect(s.child.exitCode).toBeNull();

    await unlock();
    free();
    await healed(s, storage, mirror, hook);
    expect(s.child.exitCode).toBeNull();
    await stopsCleanly(s);
  });
});
