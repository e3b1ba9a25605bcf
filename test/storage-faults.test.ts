import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { BackfillLane } from '../src/engine/lanes/backfill-lane.js';
import { createLogger } from '../src/log/logger.js';
import { LockedError, RunLock } from '../src/storage/run-lock.js';
import { Storage } from '../src/storage/storage.js';
import { SqliteState } from '../src/storage/state/state-store.js';
import { verifyStorage } from '../src/storage/verify.js';
import { listFiles, queryState, readManifest, tempDir } from './helpers/storage.js';
import { DEFAULTS } from '../src/config/config.js';
import { ArticleRecorder } from '../src/engine/pipeline/article-recorder.js';
import { revisitPolicy } from '../src/engine/revisit-policy.js';
import type { Article } from '../src/extract/article.js';
import { formatSnapshot } from '../src/snapshot/format.js';
import { sha256 } from '../src/storage/version-store.js';
import { runCli } from './helpers/cli.js';

const HOOK = 'http://127.0.0.1:9/hook';
/** As the CLI opens storage: the search index is kept (verify holds it to the manifest). */
const SEARCH = { index: true, siteName: 'Sputnik Türkiye' };
const article = (n: number) => ({ id: `110000000${n}`, url: `https://anlatilaninotesi.com.tr/20251215/a-110000000${n}.html`, date: '2025-12-15', title: `Article ${n}` });
const version = (n: number) => ({ event: 'new' as const, article: article(n), text: `text ${n}\n\n`, capturedAt: `2025-12-15T10:0${n}:00.000Z`, previous: null });

/**
 * A real SQLite failure of state, made by the database itself: a trigger that refuses the event of
 * one manifest line while the switch in meta is on (what a locked or full database does to a
 * transaction, without waiting for one).
 */
function failApplyOf(root: string, seq: number, on: boolean): void {
  const db = new Database(join(root, 'state.sqlite'));
  db.exec(`CREATE TRIGGER IF NOT EXISTS test_fail_apply BEFORE INSERT ON events WHEN NEW.seq = ${seq} AND (SELECT value FROM meta WHERE key = 'test.failApply') = '1' BEGIN SELECT RAISE(ABORT, 'injected: state refuses this line'); END;`);
  db.prepare(`INSERT INTO meta (key, value) VALUES ('test.failApply', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(on ? '1' : '0');
  db.close();
}

describe('manifest and state never part silently', () => {
  it('a line state could not apply waits, refuses the next append with the cause, and is applied (with its event and outbox rows) once state can', async () => {
    const root = await tempDir();
    const storage = await Storage.open(root, { webhooks: [{ url: HOOK, events: ['new', 'updated', 'gone', 'restored', 'reextracted'] }], search: SEARCH });
    try {
      await storage.commit(version(1));
      failApplyOf(root, 2, true);
      // Line 2 is durable (the commit point) though state refused it: the commit itself succeeds.
      const second = await storage.commit(version(2));
      expect(second.record.seq).toBe(2);
      expect(storage.lastSeq).toBe(1);
      expect(storage.health.current().map((p) => p.op)).toEqual(['state']);
      // Line 3 is refused while line 2 waits: never a line 3 applied over a missing line 2.
      await expect(storage.commit(version(3))).rejects.toThrow(/state has not recorded manifest line 2 \(.*injected: state refuses this line.*\); no new line is written until it has/);
      expect(queryState<{ seq: number }>(root, 'SELECT seq FROM events ORDER BY seq')).toEqual([{ seq: 1 }]);

      failApplyOf(root, 2, false);
      await storage.commit(version(3));
      expect(storage.lastSeq).toBe(3);
      expect(storage.health.failing).toBe(false);
      expect(queryState<{ seq: number }>(root, 'SELECT seq FROM events ORDER BY seq')).toEqual([{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
      expect(queryState<{ seq: number }>(root, `SELECT seq FROM deliveries WHERE endpoint = ? ORDER BY seq`, HOOK)).toEqual([{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
    } finally {
      await storage.close();
    }
  });

  it('a line left unapplied by a process that died is applied at the next open, streamed from the stored offset', async () => {
    const root = await tempDir();
    const storage = await Storage.open(root, { webhooks: [{ url: HOOK, events: ['new'] }], search: SEARCH });
    await storage.commit(version(1));
    failApplyOf(root, 2, true);
    await storage.commit(version(2));
    // The process "dies" here: the lock goes, state is behind by one line.
    storage.abandon();
    failApplyOf(root, 2, false);
    const reopened = await Storage.open(root, { webhooks: [{ url: HOOK, events: ['new'] }], search: SEARCH });
    try {
      expect(reopened.repaired.manifestLines).toBe(1);
      expect(reopened.lastSeq).toBe(2);
      expect(queryState<{ seq: number }>(root, `SELECT seq FROM deliveries ORDER BY seq`)).toEqual([{ seq: 1 }, { seq: 2 }]);
    } finally {
      await reopened.close();
    }
  });
});

describe('a version whose manifest line cannot be written', () => {
  it('a first version takes its file back; an edit waits, and is completed before anything else is committed', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test makes the manifest immutable (chattr) and needs root (CI runs as root)');
    const root = await tempDir();
    const storage = await Storage.open(root, { webhooks: [{ url: HOOK, events: ['new', 'updated'] }], search: SEARCH });
    const manifest = join(root, 'manifest.jsonl');
    const snapshot = (n: number) => join(root, 'snapshots', '2025-12-15', `110000000${n}.txt`);
    try {
      const first = await storage.commit(version(1));
      const edit = { ...version(1), event: 'updated' as const, text: 'text 1, edited\n\n', capturedAt: '2025-12-15T11:00:00.000Z', previous: { sha256: first.record.sha256, capturedAt: first.record.capturedAt, path: first.record.path } };
      // The manifest refuses every write (EPERM even for root), as a failing disk would.
      execFileSync('chattr', ['+i', manifest]);
      try {
        await expect(storage.commit(version(2))).rejects.toThrow(/append to manifest/);
        expect(existsSync(snapshot(2)), 'a first version without its line is taken back').toBe(false);
        await expect(storage.commit(edit)).rejects.toThrow(/append to manifest/);
        // The edit's bytes are on disk (history kept); nothing else may be committed before its line.
        expect(readFileSync(snapshot(1), 'utf8')).toBe('text 1, edited\n\n');
        await expect(storage.commit(version(3))).rejects.toThrow(/append to manifest/);
        expect(existsSync(snapshot(3))).toBe(false);
      } finally {
        execFileSync('chattr', ['-i', manifest]);
      }
      await storage.commit(version(3));
      const lines = readFileSync(manifest, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; id: string; event: string });
      expect(lines.map((l) => [l.seq, l.id, l.event])).toEqual([
        [1, '1100000001', 'new'],
        [2, '1100000001', 'updated'],
        [3, '1100000003', 'new'],
      ]);
      expect(queryState<{ seq: number }>(root, 'SELECT seq FROM events ORDER BY seq')).toEqual([{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
    } finally {
      await storage.close();
    }
    expect((await runCli(['verify', '--storage', root])).code).toBe(0);
  });
});

describe('an edit stranded by a failed manifest write, then the next capture of that article', () => {
  const page = (body: string): Article => ({ ...article(5), siteName: 'Sputnik Türkiye', body, blocks: [body] });
  const P = page('Ankara’da ilk haber.');
  const T1 = page('Ankara’da ilk haber, düzeltildi.');
  const T2 = page('Ankara’da ilk haber, ikinci kez düzeltildi.');

  /** P captured, then the edit to T1 stranded: its files on disk, its manifest line refused once. */
  async function strandedEdit(root: string): Promise<{ storage: Storage; recorder: ArticleRecorder }> {
    if (process.getuid?.() !== 0) throw new Error('this test makes the manifest immutable (chattr) and needs root (CI runs as root)');
    const storage = await Storage.open(root, { webhooks: [{ url: HOOK, events: ['new', 'updated'] }], search: SEARCH });
    const recorder = new ArticleRecorder(storage, revisitPolicy(DEFAULTS.revisit, DEFAULTS.crawl.maxFailedRuns));
    expect((await recorder.captured(P, formatSnapshot(P))).outcome).toBe('written');
    const manifest = join(root, 'manifest.jsonl');
    execFileSync('chattr', ['+i', manifest]);
    try {
      await expect(recorder.captured(T1, formatSnapshot(T1))).rejects.toThrow(/append to manifest/);
    } finally {
      execFileSync('chattr', ['-i', manifest]);
    }
    // Stranded: T1's bytes replaced the snapshot, its line is not written, state still says P.
    expect(readFileSync(join(root, 'snapshots', '2025-12-15', `${P.id}.txt`), 'utf8')).toBe(formatSnapshot(T1));
    expect(await readManifest(root)).toHaveLength(1);
    expect(storage.state.articles.get(P.id)?.sha256).toBe(sha256(formatSnapshot(P)));
    return { storage, recorder };
  }

  const historyTexts = async (root: string) => Promise.all((await listFiles(join(root, 'history'))).map((f) => readFileSync(join(root, 'history', f), 'utf8')));
  const deliveries = (root: string) => queryState<{ seq: number }>(root, 'SELECT seq FROM deliveries WHERE endpoint = ? ORDER BY seq', HOOK).map((r) => r.seq);

  it('a different capture T2 comes before any probe settles T1: T1 is kept in history, each change has one line, verify passes', async () => {
    const root = await tempDir();
    const { storage, recorder } = await strandedEdit(root);
    try {
      expect((await recorder.captured(T2, formatSnapshot(T2))).outcome).toBe('updated');
    } finally {
      await storage.close();
    }
    const lines = await readManifest(root);
    expect(lines.map((l) => [l.event, l.sha256, l.previousSha256])).toEqual([
      ['new', sha256(formatSnapshot(P)), undefined],
      ['updated', sha256(formatSnapshot(T1)), sha256(formatSnapshot(P))],
      ['updated', sha256(formatSnapshot(T2)), sha256(formatSnapshot(T1))],
    ]);
    expect((await historyTexts(root)).sort()).toEqual([formatSnapshot(P), formatSnapshot(T1)].sort());
    expect(readFileSync(join(root, lines[2]!.historyPath as string), 'utf8')).toBe(formatSnapshot(T1));
    expect(readFileSync(join(root, lines[2]!.path as string), 'utf8')).toBe(formatSnapshot(T2));
    expect(deliveries(root)).toEqual([1, 2, 3]);
    const verified = await runCli(['verify', '--storage', root]);
    expect(verified.code, verified.stdout.toString()).toBe(0);
  });

  it('the same bytes T1 captured again: one updated line and one webhook row for the change, the capture unchanged', async () => {
    const root = await tempDir();
    const { storage, recorder } = await strandedEdit(root);
    try {
      expect((await recorder.captured(T1, formatSnapshot(T1))).outcome).toBe('unchanged');
    } finally {
      await storage.close();
    }
    const lines = await readManifest(root);
    expect(lines.map((l) => [l.event, l.sha256])).toEqual([
      ['new', sha256(formatSnapshot(P))],
      ['updated', sha256(formatSnapshot(T1))],
    ]);
    expect(await historyTexts(root)).toEqual([formatSnapshot(P)]);
    expect(deliveries(root)).toEqual([1, 2]);
    const verified = await runCli(['verify', '--storage', root]);
    expect(verified.code, verified.stdout.toString()).toBe(0);
  });
});

describe('verify beside a writer', () => {
  it('a snapshot replaced by an edit whose line is not written yet is in flight (its journal entry says so), not damage', async () => {
    const root = await tempDir();
    const storage = await Storage.open(root, { search: SEARCH });
    try {
      const v1 = await storage.commit(version(1));
      // The moment inside an edit (VersionStore.commit): journal entry written, file replaced, line to come.
      const journal = join(root, 'journal', `${article(1).id}.json`);
      mkdirSync(join(root, 'journal'), { recursive: true });
      writeFileSync(journal, '{}');
      writeFileSync(join(root, v1.record.path), 'the edited bytes, longer than before\n\n');
      expect((await verifyStorage(root, { searchIndex: true })).problems).toEqual([]);
      // Without the entry, the same file is what it is: damage.
      rmSync(journal);
      expect((await verifyStorage(root, { searchIndex: true })).problems).toMatchObject([{ kind: 'snapshot', id: article(1).id }]);
    } finally {
      await storage.close();
    }
  });
});

describe('the webhook outbox stays bounded', () => {
  it('delivered rows past keepDelivered are pruned; the endpoint keeps its count; pending and dead rows stay', async () => {
    const root = await tempDir();
    const storage = await Storage.open(root, { webhooks: [{ url: HOOK, events: ['new'] }], search: SEARCH });
    try {
      for (const n of [1, 2, 3, 4]) await storage.commit(version(n));
      const outbox = storage.state.outbox;
      const [d1, d2, d3] = outbox.due('9999', 10, [HOOK]);
      outbox.delivered(d1!, 204);
      outbox.delivered(d2!, 204);
      outbox.dead(d3!, 500, 'HTTP 500');
      expect(outbox.prune('9999-12-31T00:00:00.000Z')).toBe(2);
      expect(outbox.tally()).toEqual([{ endpoint: HOOK, pending: 1, delivered: 2, dead: 1, disabled: null, lastError: 'HTTP 500' }]);
      expect(queryState<{ n: number }>(root, 'SELECT COUNT(*) AS n FROM deliveries')).toEqual([{ n: 2 }]);
    } finally {
      await storage.close();
    }
  });
});

describe('the lock probe of readers', () => {
  it('a run that starts while a probe holds the lock a moment takes it; one held by a run is refused naming it; a probe that cannot tell says so', async () => {
    const root = await tempDir();
    const first = new RunLock(root);
    first.acquire('setup');
    first.release();
    // Another process holds the lock as verify's probe does, but for 100 ms (a probe holds it for microseconds).
    await holdLock(root, 100, async () => {
      const lock = new RunLock(root);
      lock.acquire('newsnap crawl');
      lock.release();
    });
    await holdLock(root, 3000, async () => {
      expect(() => new RunLock(root).acquire('newsnap crawl')).toThrow(LockedError);
      expect(new RunLock(root).probe()).toEqual({ held: true });
    });
    expect(new RunLock(root).probe()).toEqual({ held: false });
    const odd = await tempDir();
    mkdirSync(join(odd, 'newsnap.lock'));
    expect(new RunLock(odd).probe()).toMatchObject({ unknown: expect.stringContaining('newsnap.lock') });
  });
});

describe('an open-ended backfill', () => {
  it('asked again on a later day (a restart with the same configuration) is the same finished backfill, not a new one', async () => {
    const root = await tempDir();
    const state = new SqliteState(root);
    try {
      const log = createLogger('silent');
      const crawls: string[] = [];
      const lane = new BackfillLane(state.meta, () => {
        crawls.push('crawl');
        throw new Error('no crawl in this test');
      }, log);
      state.meta.set('serve.backfill', JSON.stringify({ since: '20251101', until: '20251214', openEnded: true, requestedAt: '2025-12-14T10:00:00.000Z', completedAt: '2025-12-14T12:00:00.000Z' }));
      const again = new BackfillLane(state.meta, () => {
        crawls.push('crawl');
        throw new Error('no crawl in this test');
      }, log);
      expect(again.request({ since: '20251101', until: '20251215', openEnded: true })).toMatchObject({ phase: 'done', since: '20251101', until: '20251214' });
      expect(crawls).toEqual([]);
      await lane.stop();
      await again.stop();
    } finally {
      state.close();
    }
  });
});

/** Holds the storage lock from another process for `ms` while `during` runs. */
async function holdLock(root: string, ms: number, during: () => Promise<void>): Promise<void> {
  const script = `const D = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))}); const db = new D(${JSON.stringify(join(root, 'newsnap.lock'))}); db.exec('BEGIN IMMEDIATE'); process.stdout.write('held\\n'); setTimeout(() => { db.close(); process.exit(0); }, ${ms});`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the holder exited (${code}) before holding the lock`)));
  });
  try {
    await during();
  } finally {
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)));
  }
}
