import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RunLock } from '../frontier/run-lock.js';
import { MANIFEST_OFFSET } from '../frontier/state-schema.js';
import { SqliteStateStore, type CheckRecord, type StateStore } from '../frontier/state-store.js';
import { Manifest, type ManifestRecord } from '../snapshot/manifest.js';
import { SnapshotStore } from '../snapshot/snapshot-store.js';
import { assertStorageWritable } from '../snapshot/storage-access.js';
import { StorageError } from '../snapshot/storage-error.js';
import { VersionStore, type CommittedVersion, type VersionChange } from '../snapshot/version-store.js';
import type { ArchivedAt } from '../fetch/exchange.js';
import { WarcWriter, type WarcOptions } from '../warc/warc-writer.js';

/**
 * A storage folder opened for writing: snapshots, history, manifest and state, under one lock.
 * Every write ends in a manifest line that is then applied to state, and opening the folder
 * repairs what a killed run left: a half-written manifest line is dropped, interrupted version
 * changes are completed from the journal, manifest lines not yet in state are applied, and
 * stray temporary files are removed.
 */
export class Archive {
  private readonly versions: VersionStore;
  /** What opening repaired after a killed run. */
  readonly repaired = { manifestLines: 0, versionChanges: 0, migrated: false, warcFiles: [] as string[] };
  /** The raw archive every exchange goes to, when `archive.warc` is on. */
  warc: WarcWriter | null = null;

  private constructor(
    readonly root: string,
    readonly state: StateStore,
    private readonly manifest: Manifest,
    private readonly lock: RunLock,
  ) {
    this.versions = new VersionStore(root, manifest, new SnapshotStore(root), (record, offset, length) => this.applyToState(record, offset, length));
  }

  static async open(root: string, options: { warc?: WarcOptions } = {}): Promise<Archive> {
    // Before anything is created: a folder we cannot write is one clear error, not EACCES on the lock.
    await assertStorageWritable(root);
    const lock = new RunLock(root);
    lock.acquire();
    let state: StateStore | null = null;
    try {
      const sqlite = new SqliteStateStore(root);
      state = sqlite;
      const manifest = new Manifest(root);
      const applied = Number(state.getMeta(MANIFEST_OFFSET) ?? '0');
      const unapplied = await manifest.open(applied);
      const archive = new Archive(root, state, manifest, lock);
      // Lines written but not yet in state first, then the changes a crash left half done.
      for (let i = 0; i < unapplied.length; i++) {
        const { record, offset } = unapplied[i] as (typeof unapplied)[number];
        archive.applyToState(record, offset, unapplied[i + 1]?.offset ?? manifest.length);
      }
      archive.repaired.manifestLines = unapplied.length;
      archive.repaired.versionChanges = await archive.versions.recover();
      archive.repaired.migrated = sqlite.migrated;
      if (options.warc) {
        archive.warc = await WarcWriter.open(root, options.warc);
        archive.repaired.warcFiles = archive.warc.repaired;
      }
      const interrupted = state.unfinishedRuns();
      if (interrupted.length > 0) {
        for (const dir of ['snapshots', 'history', 'journal']) await removeStrayTemporaries(join(root, dir));
        for (const run of interrupted) state.endRun(run.id, 'interrupted', run.summary);
      }
      return archive;
    } catch (err) {
      state?.close();
      lock.release();
      throw err;
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

  /** Writes a current snapshot file that went missing, from its rebuilt bytes (see VersionStore.restoreLost). */
  restoreLostSnapshot(current: { id: string; path: string; sha256: string }, text: string): Promise<boolean> {
    return this.versions.restoreLost(current, text);
  }

  /** Records what a check of a known article found (its schedule, validators, 404 count). */
  recordCheck(id: string, check: CheckRecord & { publishedAt?: string | null }): void {
    this.guarded('record a check in', () => this.state.recordCheck(id, check));
  }

  /** Where the archive holds the page extraction last read for this article. */
  recordArchived(id: string, url: string, at: ArchivedAt): void {
    this.guarded('record the archived page in', () => this.state.setArchived(id, url, at));
  }

  /** Records an article that is not one (or that robots.txt keeps us from). */
  recordSkipped(id: string, url: string, reason: string): void {
    this.guarded('record skip in', () => this.state.markSkipped(id, url, reason));
  }

  /** The site served a challenge or block page instead: the article stays pending for later runs. */
  recordBlocked(id: string, url: string, reason: string): void {
    this.guarded('record a block in', () => this.state.markBlocked(id, url, reason));
  }

  /** Records a failed attempt; later runs retry it up to `crawl.maxFailedRuns`. */
  recordFailed(id: string, url: string, message: string): void {
    this.guarded('record failure in', () => this.state.markFailed(id, url, message));
  }

  /** Closes the WARC file (pending records first), the manifest and the state; the lock last. */
  async close(): Promise<void> {
    try {
      await this.warc?.close();
    } finally {
      await this.manifest.close();
      this.state.close();
      this.lock.release();
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
      this.state.applyEvent(record, offset);
      this.state.setMeta(MANIFEST_OFFSET, String(end));
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

async function removeStrayTemporaries(dir: string): Promise<void> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  for (const rel of entries) {
    const name = rel.split('/').at(-1) ?? '';
    if (name.startsWith('.') && name.endsWith('.tmp')) await unlink(join(dir, rel)).catch(() => undefined);
  }
}
