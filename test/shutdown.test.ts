import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { articlePath } from '../src/mirror/site-model.js';
import { collect, logRecords, runCli, startCli, type CliResult } from './helpers/cli.js';
import { articleRequests, compareWithMirror } from './helpers/mirror.js';
import { BrowserWatch } from './helpers/processes.js';
import { startServe, until } from './helpers/serve.js';
import { listFiles, lockIsFree, tempDir } from './helpers/storage.js';

const NOW = '2025-12-15T12:00:00Z';
const env = { NEWSNAP_NOW: NOW, NEWSNAP_SERVE_PORT: '0', NEWSNAP_RENDER_PAGES: '2' };
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A mirror whose every article answers its first request only after `delayMs`: renders are surely in flight. */
async function slowMirror(articles: number, delayMs: number) {
  const mirror = new MirrorServer({ articles, days: 2, lastDay: '20251215', crawlDelay: 0 });
  for (const a of mirror.all()) mirror.addFault({ path: articlePath(a), kind: 'slow', delayMs, times: 1 });
  const origin = await mirror.listen();
  cleanup.push(() => mirror.close());
  return { mirror, origin };
}

/** Sends SIGTERM and measures how long the child takes to exit. */
async function terminate(child: ChildProcess, done: Promise<CliResult>): Promise<{ res: CliResult; ms: number }> {
  const t0 = performance.now();
  child.kill('SIGTERM');
  const res = await done;
  return { res, ms: performance.now() - t0 };
}

function track(child: ChildProcess, done: Promise<CliResult>): void {
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await done.catch(() => undefined);
  });
}

describe('stopping with the browser busy', () => {
  it('crawl --render always: SIGTERM mid-render exits 130 within 10 s, no browser process outlives it, the lock is free; the rerun is exact', async () => {
    const { mirror, origin } = await slowMirror(24, 5000);
    const storage = await tempDir();
    const since = mirror.all()[0]!.day;
    const args = ['crawl', '--since', since, '--origin', origin, '--storage', storage, '--rate', '0', '--concurrency', '4', '--render', 'always'];
    const child = startCli(args, { env });
    const done = collect(child);
    track(child, done);
    const browsers = new BrowserWatch(child.pid!);
    // Renders in flight: the browser is up and has asked the mirror for articles it has not had yet.
    await until('renders in flight', () => (browsers.sample() > 0 && articleRequests(mirror.log).length >= 2 ? true : undefined));
    browsers.sample();
    const { res, ms } = await terminate(child, done);
    expect(res.code, res.stderr.slice(-2000)).toBe(130);
    expect(ms).toBeLessThan(10_000);
    expect(browsers.seen).toBeGreaterThan(0);
    expect(browsers.alive()).toEqual([]);
    expect(lockIsFree(storage)).toBe(true);
    expect(res.stdout.toString()).toMatch(/^crawl interrupted/m);
    // Articles cut short are not failures: nothing was recorded against them.
    expect(logRecords(res.stderr).filter((r) => r.msg === 'article failed')).toEqual([]);

    mirror.clearFaults();
    const rerun = await runCli(args, { env });
    expect(rerun.code, rerun.stderr.slice(-2000)).toBe(0);
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
    expect((await listFiles(storage)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('serve --render always: SIGTERM with a scheduled crawl and a POST /fetch in flight exits 0 within 10 s, no browser process left, the lock is free', async () => {
    const { mirror, origin } = await slowMirror(24, 5000);
    const storage = await tempDir();
    const { child, api, done, kill } = await startServe(['--schedule', '* * * * * *', '--origin', origin, '--storage', storage, '--rate', '0'], {
      env: { ...env, NEWSNAP_RENDER_POLICY: 'always' },
    });
    cleanup.push(kill);
    const browsers = new BrowserWatch(child.pid!);
    await until('a scheduled crawl rendering', () => (browsers.sample() > 0 && articleRequests(mirror.log).length >= 2 ? true : undefined));
    // A manual fetch of an article the crawl has not reached yet: also held 5 s by the mirror.
    const target = mirror.all().find((a) => !mirror.log.some((r) => r.path === articlePath(a)))!;
    const manual = fetch(`${api}/fetch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `https://anlatilaninotesi.com.tr${articlePath(target)}` }),
    }).then(
      (r) => r.status,
      () => 'connection closed',
    );
    await until('the manual fetch in flight', () => (mirror.log.some((r) => r.path === articlePath(target)) ? true : undefined));
    browsers.sample();
    const { res, ms } = await terminate(child, done);
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    expect(ms).toBeLessThan(10_000);
    expect(await manual).toBe(503);
    expect(browsers.alive()).toEqual([]);
    expect(lockIsFree(storage)).toBe(true);
    expect(res.stderr).toContain('"msg":"stopped"');

    mirror.clearFaults();
    const rerun = await runCli(['crawl', '--since', mirror.all()[0]!.day, '--origin', origin, '--storage', storage, '--rate', '0', '--render', 'always'], { env });
    expect(rerun.code, rerun.stderr.slice(-2000)).toBe(0);
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
  });
});
