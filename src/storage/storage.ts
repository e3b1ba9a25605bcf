import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RunLock } from './run-lock.js';
import { MANIFEST_OFFSET, MANIFEST_SEQ, type Migration } from './state/state-schema.js';
import { SqliteState, type ArticleUpdate, type State } from './state/state-store.js';
import type { WarcLocation } from '../fetch/exchange.js';
import { Manifest, readManifestLines, type ManifestPosition, type ManifestRecord, type NewManifestRecord } from './manifest.js';
import { SnapshotStore } from './snapshot-store.js';
import { assertStorageWritable } from './storage-access.js';
import { StorageError } from '../disk/storage-error.js';
import { VersionStore, type CommittedVersion, type VersionChange } from './version-store.js';
import { WarcWriter, type WarcOptions } from '../warc/warc-writer.js';
import type { SearchDoc } from '../search/search-doc.js';
import { SearchIndex, type SearchIndexOptions } from './search/search-index.js';
import { SavedSearches, type SavedSearch } from './search/saved-searches.js';
import type Database from 'better-sqlite3';

/** Meta key: '1' once the last writer closed the folder cleanly (nothing half-written can be left). */
const CLEAN = 'storage.closedCleanly';
/** Meta key: this storage folder's own name, so feeds' ids from two folders never collide. */
const STORAGE_ID = 'storage.id';

/** What a writer does for search: keep the index (config `search.index`) and name the saved searches a version matches. */
export interface StorageSearchOptions extends SearchIndexOptions {
  index: boolean;
  saved?: readonly SavedSearch[];
}

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
  readonly repaired = {
    manifestLines: 0,
    versionChanges: 0,
    migration: null as Migration | null,
    warcFiles: [] as string[],
    temporaries: 0,
    /** The search index: why it was built from nothing (null: it was there), and the manifest lines it caught up. */
    searchIndex: null as { rebuilt: string | null; lines: number; versions: number } | null,
  };
  /** The raw archive every exchange goes to, when `archive.warc` is on. */
  warc: WarcWriter | null = null;
  private readonly lineListeners = new Set<(record: ManifestRecord) => void>();
  /** The full-text index, kept in the transaction that applies each manifest line; null when off. */
  private index: SearchIndex | null = null;
  private readonly searches: SavedSearches | null;

  private constructor(
    readonly root: string,
    readonly state: State,
    private readonly manifest: Manifest,
    private readonly lock: RunLock,
    private readonly webhooks: ReadonlyArray<{ url: string; events: readonly string[] }>,
    search: StorageSearchOptions | null,
  ) {
    this.searches = search?.saved?.length ? new SavedSearches(search.saved, root, search.siteName, (id, sha) => this.index?.docOf(id, sha) ?? null) : null;
    this.versions = new VersionStore(root, manifest, new SnapshotStore(root), (record, offset, length, doc) => this.applyToState(record, offset, length, doc), this.searches);
  }

  /**
   * `command` is what the lock's holder file says is running (shown to a run the lock turns away);
   * `webhooks` are the endpoints every new manifest line is queued for, with the kinds each takes;
   * `search` keeps the search index (caught up, or built when missing, before anything else).
   */
  static async open(
    root: string,
    options: { warc?: WarcOptions; command?: string; webhooks?: ReadonlyArray<{ url: string; events: readonly string[] }>; search?: StorageSearchOptions } = {},
  ): Promise<Storage> {
    // Before anything is created: a folder we cannot write is one clear error, not EACCES on the lock.
    await assertStorageWritable(root);
    const lock = new RunLock(root);
    lock.acquire(options.command ?? 'newsnap');
    let state: SqliteState | null = null;
    try {
      state = new SqliteState(root);
      const manifest = new Manifest(root);
      const applied = await appliedPosition(root, state);
      const unapplied = await manifest.open(applied);
      const storage = new Storage(root, state, manifest, lock, options.webhooks ?? [], options.search ?? null);
      if (options.search?.index) storage.repaired.searchIndex = await storage.openIndex(state.connection, options.search, applied.seq);
      // Lines written but not yet in state first, then the changes a crash left half done.
      for (let i = 0; i < unapplied.length; i++) {
        const { record, offset } = unapplied[i] as (typeof unapplied)[number];
        storage.applyToState(record, offset, unapplied[i + 1]?.offset ?? manifest.length);
      }
      storage.repaired.manifestLines = unapplied.length;
      storage.repaired.versionChanges = await storage.versions.recover();
      storage.repaired.migration = state.migration;
      if (options.warc) {
        storage.warc = await WarcWriter.open(root, options.warc, state.payloads);
        storage.repaired.warcFiles = storage.warc.repaired;
        // A killed run's torn file was cut back: a revisit must not refer to a record cut off.
        if (storage.warc.repaired.length > 0 || state.meta.get(CLEAN) !== '1') state.payloads.forgetUnwritten((file) => sizeOf(join(root, file)));
      }
      const interrupted = state.runs.unfinished();
      if (interrupted.length > 0 || state.meta.get(CLEAN) !== '1') {
        for (const dir of ['snapshots', 'history', 'journal']) storage.repaired.temporaries += await removeStrayTemporaries(join(root, dir), true);
        storage.repaired.temporaries += await removeStrayTemporaries(root, false);
        for (const run of interrupted) state.runs.end(run.id, 'interrupted', run.summary);
      }
      if (!state.meta.get(STORAGE_ID)) state.meta.set(STORAGE_ID, randomUUID());
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
  commitGone(record: Omit<NewManifestRecord, 'event' | 'fetchedAt'>): Promise<CommittedVersion> {
    return this.versions.gone(record);
  }

  /** Writes a current snapshot file that went missing or was damaged, from its rebuilt bytes (see VersionStore.restoreLost). */
  restoreLostSnapshot(current: { id: string; path: string; sha256: string }, text: string): Promise<boolean> {
    return this.versions.restoreLost(current, text);
  }

  /** This storage folder's own name (a random UUID given at its first open). */
  get id(): string {
    return this.state.meta.get(STORAGE_ID) ?? '';
  }

  /** Calls `listener` with every manifest line once state has it (a change feed waiting for news); returns the function that stops it. */
  onLine(listener: (record: ManifestRecord) => void): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
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
        this.index?.close();
        this.searches?.close();
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
   * Applies one manifest line to state, queues it for the webhooks that take its kind, and moves
   * the applied prefix past it, in one transaction. Lines come in manifest order (the manifest
   * runs this before its next append), so the prefix is exact; a line a crash kept from state is
   * applied (and queued) at the next open.
   */
  private applyToState(record: ManifestRecord, offset: number, end: number, doc?: SearchDoc): void {
    this.guarded('record the manifest line in', () =>
      this.state.transaction(() => {
        this.state.articles.applyEvent(record, offset);
        this.index?.apply(record, offset, doc);
        this.state.outbox.enqueue(record.seq, this.webhooks.filter((w) => w.events.includes(record.event)).map((w) => w.url));
        this.state.meta.set(MANIFEST_OFFSET, String(end));
        this.state.meta.set(MANIFEST_SEQ, String(record.seq));
      }),
    );
    for (const listener of this.lineListeners) listener(record);
  }

  /**
   * Attaches the search index to the state connection and applies the manifest lines it lacks up
   * to what state has applied (`appliedSeq`); the lines state lacks follow through applyToState.
   */
  private async openIndex(db: Database.Database, o: StorageSearchOptions, appliedSeq: number): Promise<{ rebuilt: string | null; lines: number; versions: number }> {
    this.index = SearchIndex.attach(db, this.root, this.state, { ...o, manifestSeq: this.manifest.lastSeq });
    const { lines, versions } = await this.index.catchUp(appliedSeq);
    return { rebuilt: this.index.rebuildReason, lines, versions };
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

/**
 * Where state stands in the manifest: the bytes it applied and the `seq` of the last line among
 * them. A store from before lines were numbered has its lines counted once, and their events
 * numbered, from the manifest itself.
 */
async function appliedPosition(root: string, state: SqliteState): Promise<ManifestPosition> {
  const offset = Number(state.meta.get(MANIFEST_OFFSET) ?? '0');
  const known = state.meta.get(MANIFEST_SEQ);
  if (known !== undefined) return { offset, seq: Number(known) };
  const lines: Array<{ offset: number; seq: number }> = [];
  let seq = 0;
  for await (const line of readManifestLines(root, { end: offset })) {
    seq = line.seq;
    lines.push({ offset: line.offset, seq: line.seq });
    if (lines.length >= 10_000) state.articles.numberEvents(lines.splice(0));
  }
  state.articles.numberEvents(lines);
  state.meta.set(MANIFEST_SEQ, String(seq));
  return { offset, seq };
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

function sizeOf(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}
