import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { seededRandom } from '../src/mirror/site-model.js';
import { collect, runCli, startCli } from './helpers/cli.js';
import { killAfterLines, killAfterRunBegins, lastRunEnded, manifestLines } from './helpers/kill.js';
import { compareWithMirror } from './helpers/mirror.js';
import { listFiles, readManifest, tempDir } from './helpers/storage.js';

const TODAY = '20251215';
const NOW = '2025-12-15T12:00:00Z';
const env = { NEWSNAP_NOW: NOW, NEWSNAP_RENDER_POLICY: 'never' };
let mirror: MirrorServer;
let origin: string;
beforeAll(async () => {
  mirror = new MirrorServer({ articles: 150, days: 4, lastDay: TODAY, crawlDelay: 0 });
  origin = await mirror.listen();
});
afterAll(() => mirror.close());

const manifestKeys = async (storage: string) => (await readManifest(storage)).map((r) => `${r.id} ${r.path} ${r.sha256}`).sort();

describe('crashes', () => {
  it('kill -9 at 20 seeded random moments, then a rerun: snapshots and manifest equal an uninterrupted run; the state store opens cleanly', async () => {
    const since = mirror.all()[0]!.day;
    const args = (storage: string) => ['crawl', '--since', since, '--origin', origin, '--storage', storage, '--rate', '0', '--concurrency', '6'];
    const reference = await tempDir();
    expect((await runCli(args(reference), { env })).code).toBe(0);
    const expected = await manifestKeys(reference);

    const rnd = seededRandom(2024);
    const storage = await tempDir();
    for (let trial = 0; trial < 20; trial++) {
      const child = startCli(args(storage), { env });
      const done = collect(child);
      // Half the kills land in the article stream after a few lines, half at a random moment
      // after the run began (discovery, the first articles): each one mid-run, proven below.
      const before = manifestLines(storage);
      if (trial % 2 === 0) await killAfterLines(child, done, storage, 1 + Math.floor(rnd() * 6));
      else await killAfterRunBegins(child, done, storage, Math.floor(rnd() * 120));
      expect(lastRunEnded(storage), `trial ${trial}`).toBe(false);
      expect(manifestLines(storage), `trial ${trial}`).toBeLessThan(expected.length);
      if (trial % 2 === 0) expect(manifestLines(storage)).toBeGreaterThan(before);
      // A kill leaves at most the temporaries of the articles in flight (2 × concurrency), each a
      // dot-file no `*.txt` reader sees; the next start removes them.
      const temporaries = (await listFiles(join(storage, 'snapshots'))).filter((f) => !f.endsWith('.txt'));
      expect(temporaries.length).toBeLessThanOrEqual(12);
      expect(temporaries.every((f) => /(^|\/)\.\d+\.\d+\.[0-9a-f]{8}\.tmp$/.test(f)), temporaries.join(', ')).toBe(true);
    }
    const final = await runCli(args(storage), { env });
    expect(final.code, final.stderr.slice(-2000)).toBe(0);
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
    expect(await manifestKeys(storage)).toEqual(expected);
    expect((await listFiles(storage)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const db = new Database(join(storage, 'state.sqlite'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('a full disk: a clean error naming the path, its exit code, no partial snapshot; the next run with space completes', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test mounts a small tmpfs and needs root (CI runs as root)');
    const mountpoint = await tempDir('newsnap-tinyfs-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=160k', 'tmpfs', mountpoint]);
    try {
      const storage = join(mountpoint, 'storage');
      mkdirSync(storage);
      const since = mirror.all()[0]!.day;
      const res = await runCli(['crawl', '--since', since, '--origin', origin, '--storage', storage, '--rate', '0'], { env });
      expect(res.code, res.stderr.slice(-2000)).toBe(6);
      expect(res.stderr).toMatch(new RegExp(`newsnap: could not [a-z ]+ ${mountpoint}/storage/\\S+: (ENOSPC|SQLITE_FULL) \\(disk full: free space and run again\\)`));
      const files = await listFiles(storage);
      expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
      // Every snapshot that exists is whole.
      const written = files.filter((f) => f.startsWith('snapshots/'));
      const byPath = new Map(mirror.all().map((a) => [`snapshots/${a.day.slice(0, 4)}-${a.day.slice(4, 6)}-${a.day.slice(6, 8)}/${a.id}.txt`, a]));
      expect(await compareWithMirror(storage, written.map((f) => byPath.get(f)!))).toEqual([]);

      execFileSync('mount', ['-o', 'remount,size=20m', mountpoint]);
      const next = await runCli(['crawl', '--since', since, '--origin', origin, '--storage', storage, '--rate', '0'], { env });
      expect(next.code, next.stderr.slice(-2000)).toBe(0);
      expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
    } finally {
      execFileSync('umount', ['-l', mountpoint]);
    }
  });
});
