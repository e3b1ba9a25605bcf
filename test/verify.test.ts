import { readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { runCli } from './helpers/cli.js';
import { snapshotPath } from './helpers/mirror.js';
import { startServe } from './helpers/serve.js';
import { readManifest, tempDir } from './helpers/storage.js';
import { readWarcByHand } from './helpers/warc-files.js';

const env = { NEWSNAP_RENDER_POLICY: 'never' };
let mirror: MirrorServer;
let storage: string;
beforeAll(async () => {
  mirror = new MirrorServer({ articles: 30, days: 2, lastDay: '20251215', crawlDelay: 0 });
  await mirror.listen();
  storage = await tempDir();
  const args = ['crawl', '--since', mirror.all()[0]!.day, '--origin', mirror.baseUrl, '--storage', storage, '--rate', '0'];
  expect((await runCli(args, { env: { ...env, NEWSNAP_NOW: '2025-12-15T12:00:00Z' } })).code).toBe(0);
  // Edits give history files; a second WARC file comes with the second run.
  for (const a of mirror.all().filter((x) => !x.gallery).slice(-3)) mirror.edit(a.id, { at: '2025-12-15T12:30:00Z', addParagraph: 'Güncelleme.' });
  expect((await runCli(args, { env: { ...env, NEWSNAP_NOW: '2025-12-15T13:00:00Z' } })).code).toBe(0);
});
afterAll(() => mirror.close());

interface Report {
  whole: boolean;
  problemCount: number;
  runInProgress: boolean;
  problems: Array<{ kind: string; path: string; id?: string; detail: string; fix: string }>;
  stats: { files: number; warcFiles: number; warcRecords: number; manifestLines: number };
}
const verify = async (...extra: string[]) => {
  const res = await runCli(['verify', '--storage', storage, '--json', ...extra]);
  return { code: res.code, report: JSON.parse(res.stdout.toString()) as Report, stderr: res.stderr };
};

describe('newsnap verify', () => {
  it('a whole storage folder: exit 0, every file, line and record read, speed reported', async () => {
    const { code, report } = await verify();
    expect(code).toBe(0);
    expect(report.whole).toBe(true);
    const manifest = await readManifest(storage);
    expect(report.stats.manifestLines).toBe(manifest.length);
    // Current snapshots and the three history files.
    expect(report.stats.files).toBe(new Set(manifest.map((r) => r.id)).size + 3);
    expect(report.stats.warcFiles).toBe(2);
    const human = await runCli(['verify', '--storage', storage]);
    expect(human.stdout.toString()).toMatch(/^verify whole in [\d.]+ s: \d+ manifest lines, \d+ articles, \d+ snapshot and history files \([\d.]+ MB\), 2 WARC files \([\d.]+ MB, \d+ records\); \d+ files\/s, [\d.]+ MB\/s; 0 problems$/m);
  });

  it('finds a flipped byte, a missing history file, a torn WARC record and a left-behind temporary, each named with its fix; the fix it gives for the snapshot works', async () => {
    const manifest = await readManifest(storage);
    const updated = manifest.find((r) => r.event === 'updated')!;
    const victim = mirror.all().find((a) => !a.gallery && a.id !== updated.id)!;
    const snapshot = join(storage, snapshotPath(victim));
    const bytes = readFileSync(snapshot);
    bytes[20] = bytes[20]! ^ 0x01;
    writeFileSync(snapshot, bytes);
    rmSync(join(storage, updated.historyPath as string));
    // The newest WARC file: its last record torn half-way, as by a disk that lost its tail.
    const warc = readdirSync(join(storage, 'warc')).sort().map((f) => join(storage, 'warc', f));
    const last = readWarcByHand(warc[1]!).at(-1)!;
    truncateSync(warc[1]!, last.offset + Math.floor(last.length / 2));
    writeFileSync(join(storage, 'snapshots', '.1100000100.123.deadbeef.tmp'), 'x');

    const { code, report } = await verify();
    expect(code).toBe(9);
    const by = (kind: string) => report.problems.filter((p) => p.kind === kind);
    expect(by('snapshot')).toEqual([
      { kind: 'snapshot', path: snapshotPath(victim), id: victim.id, detail: expect.stringMatching(/^its bytes changed: sha256 [0-9a-f]{12}… on disk, the manifest says [0-9a-f]{12}…$/), fix: `newsnap reextract --id ${victim.id} (the archive holds its page: the recorded bytes are written again)` },
    ]);
    expect(by('history')).toEqual([{ kind: 'history', path: updated.historyPath, id: updated.id, detail: 'missing', fix: expect.stringContaining('restore the file from a backup') }]);
    expect(by('warc')).toContainEqual({
      kind: 'warc',
      path: `warc/${warc[1]!.split('/').at(-1)}`,
      detail: `${Math.floor(last.length / 2)} bytes from offset ${last.offset} do not read back: a gzip member cut off (torn record)`,
      fix: expect.stringContaining('the records before and after are whole'),
    });
    expect(by('leftover')).toEqual([{ kind: 'leftover', path: 'snapshots/.1100000100.123.deadbeef.tmp', detail: 'a temporary file left by a killed run', fix: expect.stringContaining(`remove it (rm ${join(storage, 'snapshots/.1100000100.123.deadbeef.tmp')})`) }]);
    const human = await runCli(['verify', '--storage', storage]);
    expect(human.code).toBe(9);
    expect(human.stdout.toString()).toContain(`snapshot  ${snapshotPath(victim)} (article ${victim.id}): its bytes changed`);
    expect(human.stdout.toString()).toContain(`          fix: newsnap reextract --id ${victim.id}`);

    // The fix it named: the recorded bytes come back, and that problem is gone.
    const fixed = await runCli(['reextract', '--id', victim.id, '--storage', storage], { env });
    expect(fixed.code, fixed.stderr.slice(-1000)).toBe(0);
    expect(fixed.stdout.toString()).toContain('(1 missing or damaged files written again)');
    rmSync(join(storage, 'snapshots/.1100000100.123.deadbeef.tmp'));
    const after = await verify();
    expect(after.report.problems.map((p) => p.kind).sort()).toEqual(['history', 'warc']);
  });

  it('beside a running serve: it takes no lock, leaves the open WARC file alone, and says a run is in progress', async () => {
    const quiet = await tempDir();
    const args = ['crawl', '--since', mirror.all()[0]!.day, '--origin', mirror.baseUrl, '--storage', quiet, '--rate', '0'];
    expect((await runCli(args, { env })).code).toBe(0);
    const served = await startServe(['--origin', mirror.baseUrl, '--storage', quiet, '--schedule', '* * * * * *', '--rate', '0'], { env });
    try {
      while (!readdirSync(join(quiet, 'warc')).some((f) => f.endsWith('.open'))) await new Promise((r) => setTimeout(r, 20));
      const res = await runCli(['verify', '--storage', quiet, '--json']);
      expect(res.code, res.stdout.toString().slice(0, 2000)).toBe(0);
      expect(JSON.parse(res.stdout.toString())).toMatchObject({ whole: true, runInProgress: true });
    } finally {
      served.child.kill('SIGTERM');
      await served.done;
    }
  });
});
