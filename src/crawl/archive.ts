import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Article } from '../extract/article.js';
import { nowIso } from '../clock/clock.js';
import { RunLock } from '../frontier/run-lock.js';
import { SqliteStateStore, type StateStore } from '../frontier/state-store.js';
import { Manifest } from '../snapshot/manifest.js';
import { SnapshotStore, type StoredSnapshot } from '../snapshot/snapshot-store.js';
import { StorageError } from '../snapshot/storage-error.js';
import { assertStorageWritable } from '../snapshot/storage-access.js';

const MANIFEST_OFFSET = 'manifest.offset';

/**
 * A storage folder opened for writing: snapshots, manifest and state, under one lock.
 * Opening it repairs what a killed run left: a half-written manifest line is dropped, manifest
 * lines not yet in state are applied, and stray temporary files are removed.
 */
export class Archive {
  private constructor(
    readonly root: string,
    readonly state: StateStore,
    private readonly store: SnapshotStore,
    private readonly manifest: Manifest,
    private readonly lock: RunLock,
    /** Manifest bytes already applied to state; this archive is the only writer of both. */
    private manifestOffset: number,
  ) {}

  static async open(root: string): Promise<Archive> {
    // Before anything is created: a folder we cannot write is one clear error, not EACCES on the lock.
    await assertStorageWritable(root);
    const lock = new RunLock(root);
    lock.acquire();
    let state: StateStore | null = null;
    try {
      state = new SqliteStateStore(root);
      const manifest = new Manifest(root);
      const offset = Number(state.getMeta(MANIFEST_OFFSET) ?? '0');
      const unapplied = await manifest.open(offset);
      for (const r of unapplied) state.markDone(r.id, r.url, { path: r.path, sha256: r.sha256 });
      state.setMeta(MANIFEST_OFFSET, String(manifest.length));
      const archive = new Archive(root, state, new SnapshotStore(root), manifest, lock, manifest.length);
      const interrupted = state.unfinishedRuns();
      if (interrupted.length > 0) {
        await removeStrayTemporaries(join(root, 'snapshots'));
        for (const run of interrupted) state.endRun(run.id, 'interrupted', run.summary);
      }
      return archive;
    } catch (err) {
      state?.close();
      lock.release();
      throw err;
    }
  }

  /**
   * Stores an article's snapshot and records it. A manifest line is written whenever the
   * stored bytes differ from what state last recorded, so a crash between the file and the
   * manifest is repaired by the next run rather than lost.
   */
  async save(article: Article, text: string, discoveredAs?: { id: string; url: string }): Promise<StoredSnapshot> {
    try {
      return await this.saveUnguarded(article, text, discoveredAs);
    } catch (err) {
      throw this.stateError(err, 'record snapshot in');
    }
  }

  /** Records an article that is not one (or that robots.txt keeps us from). */
  recordSkipped(id: string, url: string, reason: string): void {
    try {
      this.state.markSkipped(id, url, reason);
    } catch (err) {
      throw this.stateError(err, 'record skip in');
    }
  }

  /** Records a failed attempt; later runs retry it up to `crawl.maxFailedRuns`. */
  recordFailed(id: string, url: string, message: string): void {
    try {
      this.state.markFailed(id, url, message);
    } catch (err) {
      throw this.stateError(err, 'record failure in');
    }
  }

  /** A full disk stops SQLite too; whatever failed, the message names the storage path. */
  private stateError(err: unknown, doing: string): StorageError {
    return StorageError.from(err, join(this.root, 'state.sqlite'), doing);
  }

  private async saveUnguarded(article: Article, text: string, discoveredAs?: { id: string; url: string }): Promise<StoredSnapshot> {
    const known = this.state.get(article.id);
    const snap = await this.store.save(article, text, known?.path);
    if (known?.sha256 !== snap.sha256 || known.state !== 'done') {
      if (known?.sha256 !== snap.sha256) {
        const length = await this.manifest.append({
          id: article.id,
          url: article.url,
          date: article.date,
          path: snap.path,
          sha256: snap.sha256,
          bytes: snap.bytes,
          fetchedAt: nowIso(),
        });
        if (length > this.manifestOffset) {
          this.manifestOffset = length;
          this.state.setMeta(MANIFEST_OFFSET, String(length));
        }
      }
      this.state.markDone(article.id, article.url, snap);
    }
    if (discoveredAs && discoveredAs.id !== article.id) this.state.markDone(discoveredAs.id, discoveredAs.url, snap);
    return snap;
  }

  async close(): Promise<void> {
    await this.manifest.close();
    this.state.close();
    this.lock.release();
  }

  /**
   * A forced exit's last step: releases the lock without waiting for anything. Whatever was
   * committed stays; the next run repairs the rest, as after a kill -9.
   */
  abandon(): void {
    this.lock.release();
  }
}

async function removeStrayTemporaries(snapshotsDir: string): Promise<void> {
  const days = await readdir(snapshotsDir).catch(() => [] as string[]);
  for (const day of days) {
    const dir = join(snapshotsDir, day);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) if (name.startsWith('.') && name.endsWith('.tmp')) await unlink(join(dir, name)).catch(() => undefined);
  }
}
