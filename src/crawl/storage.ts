import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RunLock } from '../frontier/run-lock.js';
import { MANIFEST_OFFSET, type Migration } from '../frontier/state-schema.js';
import { SqliteState, type ArticleUpdate, type State } from '../frontier/state-store.js';
import type { WarcLocation } from '../fetch/exchange.js';
import { Manifest, type ManifestRecord } from '../snapshot/manifest.js';
import { SnapshotStore } from '../snapshot/snapshot-store.js';
import { assertStorageWritable } from '../snapshot/storage-access.js';
import { StorageError } from '../snapshot/storage-error.js';
import { VersionStore, type CommittedVersion, type VersionChange } from '../snapshot/version-store.js';
import { WarcWriter, type WarcOptions } from '../warc/warc-writer.js';

/** Meta key: '1' once the last writer closed the folder cleanly (nothing half-written can be left). */
const CLEAN = 'storage.closedCleanly';

/**
 * A storage folder opened for writing: snapshots, history, manifest, state and the WARC files,
 * under one lock. Every write ends in a manifest line that is then applied to state, and opening
 * the folder (with the lock held) repairs what a killed run left: a half-written manifest line is
 * dropped, interrupted version changes are completed from the journal, manifest lines not yet in
 * state are applied, WARC files left open are closed, and stray temporary files are removed.
 */
export class Storage {
  private readonly versions: VersionStore;
  /** What opening repaired after a killed run, or upgraded from an earlier newsnap. */
  readonly repaired = { manifestLines: 0, versionChanges: 0, migration: null as Migration | null, warcFiles: [] as string[], temporaries: 0 };
  /** The raw archive every exchange goes to, when `archive.warc` is on. */
  warc: WarcWriter | null = null;

  private constructor(
    readonly root: string,
    readonly state: State,
    private readonly manifest: Manifest,
    private readonly lock: RunLock,
  ) {
    this.versions = new VersionStore(root, manifest, new SnapshotStore(root), (record, offset, length) => this.applyToState(record, offset, length));
  }

  /** `command` is what the lock's holder file says is running (shown to a run the lock turns away). */
  static async open(root: string, options: { warc?: WarcOptions; command?: string } = {}): Promise<Storage> {
    // Before anything is created: a folder we cannot write is one clear error, not EACCES on the lock.
    await assertStorageWritable(root);
    const lock = new RunLock(root);
    lock.acquire(options.command ?? 'newsnap');
    let state: SqliteState | null = null;
    try {
      state = new SqliteState(root);
      const manifest = new Manifest(root);
      const applied = Number(state.meta.get(MANIFEST_OFFSET) ?? '0');
      const unapplied = await manifest.open(applied);
      const storage = new Storage(root, state, manifest, lock);
      // Lines written but not yet in state first, then the changes a crash left half done.
      for (let i = 0; i < unapplied.length; i++) {
        const { record, offset } = unapplied[i] as (typeof unapplied)[number];
        storage.applyToState(record, offset, unapplied[i + 1]?.offset ?? manifest.length);
      }
      storage.repaired.manifestLines = unapplied.length;
      storage.repaired.versionChanges = await storage.versions.recover();
      storage.repaired.migration = state.migration;
      if (options.warc) {
        storage.warc = await WarcWriter.open(root, options.warc);
        storage.repaired.warcFiles = storage.warc.repaired;
      }
      const interrupted = state.runs.unfinished();
      if (interrupted.length > 0 || state.meta.get(CLEAN) !== '1') {
        for (const dir of ['snapshots', 'history', 'journal']) storage.repaired.temporaries += await removeStrayTemporaries(join(root, dir), true);
        storage.repaired.temporaries += await removeStrayTemporaries(root, false);
        for (const run of interrupted) state.runs.end(run.id, 'interrupted', run.summary);
      }
      state.meta.set(CLEAN, '0');
      return storage;
    } catch (err) {
      state?.close();
      lock.release();
      throw StorageError.isStorageFailure(err) ? StorageError.from(err, join(root, 'state.sqlite'), 'open') : err;
    }
  }

  /** Makes a new version the article's current snapshot (history kept), and records it. */
  commit(change: VersionChange): Promise<CommittedVersion> {
    return this.versions.commit(change);
  }

  /** Records a removal: nothing on disk changes but the manifest and state. */
  commitGone(record: Omit<ManifestRecord, 'event' | 'fetchedAt'>): Promise<CommittedVersion> {
    return this.versions.gone(record);
  }

  /** Writes a current snapshot file that went missing or was damaged, from its rebuilt bytes (see VersionStore.restoreLost). */
  restoreLostSnapshot(current: { id: string; path: string; sha256: string }, text: string): Promise<boolean> {
    return this.versions.restoreLost(current, text);
  }

  /** Records what a look at an article changed (its state, schedule, validators, errors). */
  update(id: string, url: string, change: ArticleUpdate): void {
    this.guarded('record the article in', () => this.state.articles.update(id, url, change));
  }

  /** Where the WARC files hold the page extraction last read for this article. */
  recordWarc(id: string, url: string, at: WarcLocation): void {
    this.guarded('record the archived page in', () => this.state.articles.setWarc(id, url, at));
  }

  /** Closes the WARC file (pending records first), the manifest and the state; the lock last. */
  async close(): Promise<void> {
    try {
      await this.warc?.close();
    } finally {
      await this.manifest.close();
      try {
        this.state.meta.set(CLEAN, '1');
      } finally {
        this.state.close();
        this.lock.release();
      }
    }
  }

  /**
   * A forced exit's last step: releases the lock without waiting for anything. Whatever was
   * committed stays; the next run repairs the rest, as after a kill -9.
   */
  abandon(): void {
    this.lock.release();
  }

  /**
   * Applies one manifest line to state and moves the applied prefix past it. Lines come in
   * manifest order (the manifest runs this before its next append), so the prefix is exact.
   */
  private applyToState(record: ManifestRecord, offset: number, end: number): void {
    this.guarded('record the manifest line in', () => {
      this.state.articles.applyEvent(record, offset);
      this.state.meta.set(MANIFEST_OFFSET, String(end));
    });
  }

  /** A full disk stops SQLite too; whatever failed, the message names the storage path. */
  private guarded(doing: string, work: () => void): void {
    try {
      work();
    } catch (err) {
      throw StorageError.from(err, join(this.root, 'state.sqlite'), doing);
    }
  }
}

/** Removes `.….tmp` files (newsnap's temporaries) below `dir` (or in it only); returns how many. */
async function removeStrayTemporaries(dir: string, recursive: boolean): Promise<number> {
  const entries = await readdir(dir, { recursive }).catch(() => [] as string[]);
  let removed = 0;
  for (const rel of entries) {
    const name = rel.split('/').at(-1) ?? '';
    if (name.startsWith('.') && name.endsWith('.tmp')) {
      await unlink(join(dir, rel)).then(() => removed++, () => undefined);
    }
  }
  return removed;
}
