import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { collect, startCli } from './helpers/cli.js';
import { compareWithMirror } from './helpers/mirror.js';
import { CLI, PROJECT } from './helpers/paths.js';
import { tempDir } from './helpers/storage.js';
import { readWarcByHand, readWarcWithWarcio } from './helpers/warc-files.js';

const env = { NEWSNAP_NOW: '2025-12-15T12:00:00Z', NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_LOG_LEVEL: 'info' };
let mirror: MirrorServer;
beforeAll(async () => {
  mirror = new MirrorServer({ articles: 40, days: 2, lastDay: '20251215', crawlDelay: 0 });
  await mirror.listen();
});
afterAll(() => mirror.close());

/** The CLI in a PID namespace of its own (as another container on the same host sees it). */
function inOwnPidNamespace(args: string[]) {
  if (process.getuid?.() !== 0) throw new Error('this test makes PID namespaces with unshare and needs root (CI runs as root)');
  return spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, CLI, ...args], { cwd: PROJECT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('one writer per storage folder, across PID namespaces', () => {
  it('a crawl in another PID namespace, where the holder\'s pid does not exist, exits 4 at once naming it; after kill -9 of the holder a new run starts at once; its WARC files stay valid', async () => {
    const storage = await tempDir();
    const args = ['crawl', '--since', mirror.all()[0]!.day, '--origin', mirror.baseUrl, '--storage', storage];
    const holder = startCli([...args, '--rate', '4'], { env });
    const holderDone = collect(holder);
    while (!existsSync(join(storage, 'newsnap.lock.json'))) await new Promise((r) => setTimeout(r, 10));
    // The holder's pid is absent from a fresh namespace (the old pid-file lock took it for dead).
    const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'kill', '-0', String(holder.pid)], { encoding: 'utf8' });
    expect(probe.status).not.toBe(0);

    const second = await collect(inOwnPidNamespace([...args, '--rate', '0']));
    expect(second.code, second.stderr.slice(-2000)).toBe(4);
    expect(second.stderr).toMatch(
      new RegExp(`newsnap: storage ${storage} is in use by "newsnap crawl --since \\d+ --origin ${mirror.baseUrl}/? --storage ${storage} --rate 4" \\(pid ${holder.pid} on host ${hostname()}, since 2025-12-15T12:00:00\\.000Z\\)`),
    );
    // It touched nothing: the holder's WARC file is still open, under its own name.
    expect(readdirSync(join(storage, 'warc')).filter((f) => f.endsWith('.open'))).toHaveLength(1);

    holder.kill('SIGKILL');
    expect((await holderDone).signal).toBe('SIGKILL');
    const third = await collect(inOwnPidNamespace([...args, '--rate', '0']));
    expect(third.code, third.stderr.slice(-2000)).toBe(0);
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
    const files = readdirSync(join(storage, 'warc')).map((f) => join(storage, 'warc', f));
    expect(files.filter((f) => f.endsWith('.open'))).toEqual([]);
    expect(files.length).toBe(2);
    // Read in order with one map of the responses seen: the rerun fetches again a page the holder
    // archived but had not yet recorded, and writes a revisit that refers to the holder's file.
    const originals = new Map<string, string>();
    for (const file of files.sort()) {
      const records = await readWarcWithWarcio(file, originals);
      expect(records.length, file).toBeGreaterThan(1);
      const bad = records.filter((r) => !(r.blockDigestOk && r.payloadDigestOk)).map((r) => ({ type: r.type, uri: r.targetUri, offset: r.offset, block: r.blockDigestOk, payload: r.payloadDigestOk, headers: r.headers }));
      expect(bad, file).toEqual([]);
      expect(readWarcByHand(file).length).toBe(records.length);
    }
  });
});
