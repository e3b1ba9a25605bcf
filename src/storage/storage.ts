import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { RunLock } from './run-lock.js';
import { MANIFEST_OFFSET, MANIFEST_SEQ, type Migration } from './state/state-schema.js';
import { SqliteState, type ArticleUpdate, type State } from './state/state-store.js';
import { watchedState } from './state/watched-state.js';
import { nowIso } from '../clock/clock.js';
import type { WarcLocation } from '../fetch/exchange.js';
import { Manifest, readManifestLines, type ManifestPosition, type ManifestRecord, type NewManifestRecord } from './manifest.js';
import { SnapshotStore } from './snapshot-store.js';
import { assertStorageWritable } from './storage-access.js';
import { StorageError } from '../disk/storage-error.js';
import { HealthProbe, PROBE_KEY, probeFolder } from './storage-probe.js';
import { appliedPosition, removeStrayTemporaries, sizeOf } from './storage-repair.js';
import { opOf, StorageHealth, type StorageOp } from './storage-health.js';
import { VersionStore, type CommittedVersion, type Decided, type VersionChange } from './version-store.js';
import { WarcWriter, type WarcOptions } from '../warc/warc-writer.js';
import type { SearchDoc } from '../search/search-doc.js';
import { SearchIndex, type SearchIndexOptions } from './search/search-index.js';
import { SavedSearches, type SavedSearch } from './search/saved-searches.js';
import type Database from 'better-sqlite3';

/** Meta key: '1' once the last writer closed the folder cleanly (nothing half-written can be left). */
const CLEAN = 'storage.closedCleanly';
/** Meta key: this storage folder's own name, so feeds' ids from two folders never collide. */
const STORAGE_ID = 'storage.id';

/** A manifest line durable on disk, to be applied to state; `doc` is the version's extracted text for the index, when its writer has it. */
interface UnappliedLine {
  record: ManifestRecord;
  offset: number;
  end: number;
  doc?: SearchDoc;
}

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
  /** Whether each kind of write goes through now (what /readyz, the status page and the metrics show). */
  readonly health = new StorageHealth();
  /**
   * Lines durable in the manifest that state has not applied yet, oldest first: at most the one a
   * failed transaction kept out, since no line is appended while one waits here.
   */
  private readonly unapplied: UnappliedLine[] = [];
  /** Why state is behind the manifest, while it is. */
  private behind: StorageError | null = null;
  private readonly probe: HealthProbe;
  /** What opening repaired after a killed run, or upgraded from an earlier newsnap. */
  readonly repaired = {
    manifestLines: 0,
    versionChanges: 0,
    migration: null as Migration | null,
    warcFiles: [] as string[],
    temporaries: 0,
    /** The search index: why it was built from nothing (null: it was there), the manifest lines it caught up, or why it is off this run. */
    searchIndex: null as { rebuilt: string | null; lines: number; versions: number; failed?: string } | null,
  };
  /** The raw archive every exchange goes to, when `archive.warc` is on. */
  warc: WarcWriter | null = null;
  private readonly lineListeners = new Set<(record: ManifestRecord) => void>();
  /** The full-text index, kept in the transaction that applies each manifest line; null when off. */
  private index: SearchIndex | null = null;
  private readonly searches: SavedSearches | null;

  /** State as every part reads and writes it: each failing call is told to the health record. */
  readonly state: State;

  private constructor(
    readonly root: string,
    state: State,
    private readonly manifest: Manifest,
    private readonly lock: RunLock,
    private readonly webhooks: ReadonlyArray<{ url: string; events: readonly string[] }>,
    search: StorageSearchOptions | null,
  ) {
    this.state = watchedState(state, (err) => this.health.failed('state', StorageError.from(err, join(root, 'state.sqlite'), 'use')));
    this.searches = search?.saved?.length ? new SavedSearches(search.saved, root, search.siteName, (id, sha) => this.index?.docOf(id, sha) ?? null) : null;
    this.versions = new VersionStore(
      root,
      manifest,
      new SnapshotStore(root),
      (record, offset, end, doc) => this.lineWritten({ record, offset, end, doc }),
      () => this.refuseWhileBehind(),
      this.searches,
    );
    this.probe = new HealthProbe(
      this.health,
      async () => {
        // Lines state has not applied first; then changes a failed write stranded are completed
        // as soon as the manifest takes lines again.
        this.catchUp();
        await this.versions.settle();
      },
      (op) => this.tryWrite(op),
    );
    this.health.onChange(() => {
      // While another process holds state locked (a write waited the whole busy timeout in vain),
      // the next writes fail at once instead of blocking the thread for it again; the probe tells
      // when the lock is gone. Other failures (a full disk) never waited.
      this.state.waitForLocks(!this.health.current().some((p) => (p.op === 'state' || p.op === 'outbox') && p.code?.startsWith('SQLITE_BUSY')));
      this.probe.watch();
    });
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
      const from = await appliedPosition(root, state);
      let storage: Storage | null = null;
      // Nothing is appended while state is behind: the gate asks the storage, once it exists.
      const manifest = new Manifest(root, () => storage?.refuseWhileBehind());
      await manifest.open(from);
      storage = new Storage(root, state, manifest, lock, options.webhooks ?? [], options.search ?? null);
      storage.applied = from;
      if (options.search?.index) storage.repaired.searchIndex = await storage.openIndex(state.connection, options.search, from.seq);
      // Lines written but not yet in state first (streamed), then the changes a crash left half done.
      for await (const line of readManifestLines(root, { from, end: manifest.length })) {
        if (!('record' in line)) continue;
        storage.applyLine({ record: line.record, offset: line.offset, end: line.next });
        storage.repaired.manifestLines++;
      }
      storage.repaired.versionChanges = await storage.versions.recover();
      storage.repaired.migration = state.migration;
      if (options.warc) {
        const health = storage.health;
        storage.warc = await WarcWriter.open(root, options.warc, state.payloads, { failed: (e) => health.failed('warc', e), ok: () => health.ok('warc') });
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
    return this.watched(['snapshot', 'history', 'journal', 'manifest'], () => this.versions.commit(change));
  }

  /**
   * A capture's version logic, run in the article's turn once its own stranded change (if any)
   * is written (see VersionStore.commitDecided): `decide` reads state and says what to write.
   */
  commitDecided<D extends Decided>(id: string, decide: () => D): Promise<{ decided: D; committed: CommittedVersion | null }> {
    return this.watched(['snapshot', 'history', 'journal', 'manifest'], () => this.versions.commitDecided(id, decide), (r) => r.committed !== null);
  }

  /** Records a removal: nothing on disk changes but the manifest and state. */
  commitGone(record: Omit<NewManifestRecord, 'event' | 'fetchedAt'>): Promise<CommittedVersion> {
    return this.watched(['manifest'], () => this.versions.gone(record));
  }

  /** Writes a current snapshot file that went missing or was damaged, from its rebuilt bytes (see VersionStore.restoreLost). */
  restoreLostSnapshot(current: { id: string; path: string; sha256: string }, text: string): Promise<boolean> {
    return this.watched(['snapshot'], () => this.versions.restoreLost(current, text));
  }

  /** Tells the health record what a write did: a failure of its kind, or that those kinds go through again. */
  private async watched<T>(ops: StorageOp[], work: () => Promise<T>, wrote: (result: T) => boolean = () => true): Promise<T> {
    try {
      const result = await work();
      // Only a write that happened says its kinds go through: a capture that wrote nothing says nothing.
      if (wrote(result)) this.health.ok(...ops);
      return result;
    } catch (err) {
      if (err instanceof StorageError) this.health.failed(opOf(err), err);
      throw err;
    }
  }

  /** Where the manifest lines state has applied end (bytes): what readers of the change feed can see. */
  private applied: ManifestPosition = { offset: 0, seq: 0 };

  /** The `seq` of the last manifest line state has applied: what readers of the change feed can see. */
  get lastSeq(): number {
    return this.applied.seq;
  }

  /** The byte offset where the lines state has applied end. */
  get appliedOffset(): number {
    return this.applied.offset;
  }

  /**
   * How far the search index is behind the manifest lines state has applied: `behind` 0 when it
   * is whole; null when this run keeps no index (search.index off, or off for this run after a
   * failure: the next start catches it up).
   */
  indexLag(): { on: boolean; indexedSeq: number | null; manifestSeq: number; behind: number | null } {
    const manifestSeq = this.applied.seq;
    if (!this.index) return { on: false, indexedSeq: null, manifestSeq, behind: null };
    let indexedSeq: number | null = null;
    try {
      indexedSeq = this.index.seq;
    } catch {
      // Damaged: its watermark cannot be read; the status says it is off.
    }
    return { on: !this.index.off && indexedSeq !== null, indexedSeq, manifestSeq, behind: indexedSeq === null ? null : Math.max(0, manifestSeq - indexedSeq) };
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
    this.probe.stop();
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
   * The manifest calls this once a line is durable, in manifest order, before the next append.
   * It never throws: the line is the commit point, and a line state cannot take now waits (in
   * order) until it can; meanwhile no further line is appended (`refuseWhileBehind`).
   */
  private lineWritten(line: UnappliedLine): void {
    this.unapplied.push(line);
    this.catchUp();
  }

  /** Applies every waiting line, oldest first, stopping at the first that fails (kept, with its cause). */
  private catchUp(): void {
    while (this.unapplied.length > 0) {
      const line = this.unapplied[0] as UnappliedLine;
      try {
        this.applyLine(line);
      } catch (err) {
        const cause = StorageError.from(err, join(this.root, 'state.sqlite'), 'record the manifest line in');
        this.behind = new StorageError(cause.path, cause.code, `state has not recorded manifest line ${line.record.seq} (${cause.message}); no new line is written until it has`, { cause: err });
        return;
      }
      this.unapplied.shift();
    }
    this.behind = null;
  }

  /**
   * Brings state up to the manifest before a decision is read from it (is this article new?):
   * throws the cause while a line cannot be applied, so nothing is decided on a state that lags.
   */
  sync(): void {
    this.refuseWhileBehind();
  }

  /** The manifest's gate: catches up first; refuses a new line while an earlier one is not in state. */
  private refuseWhileBehind(): void {
    this.catchUp();
    if (this.behind) throw this.behind;
  }

  /**
   * Applies one manifest line to state and to the search index (with the version's extracted
   * blocks when the writer has them), queues it for the webhooks that take its kind, and moves
   * the applied position past it, in one transaction: state's position is always a line start
   * with every line before it applied.
   */
  private applyLine({ record, offset, end, doc }: UnappliedLine): void {
    this.guarded('record the manifest line in', () =>
      this.state.transaction(() => {
        this.state.articles.applyEvent(record, offset);
        this.index?.apply(record, offset, doc);
        this.state.outbox.enqueue(record.seq, this.webhooks.filter((w) => w.events.includes(record.event)).map((w) => w.url));
        this.state.meta.set(MANIFEST_OFFSET, String(end));
        this.state.meta.set(MANIFEST_SEQ, String(record.seq));
      }),
    );
    this.applied = { offset: end, seq: record.seq };
    for (const listener of this.lineListeners) listener(record);
  }

  /**
   * A small write of `op`'s own kind, for the health probe: state's only once state has caught up
   * with the manifest (a line still waiting means state writes do not go through yet).
   */
  private async tryWrite(op: StorageOp): Promise<void> {
    if (op === 'state' || op === 'outbox') {
      this.catchUp();
      if (this.behind) throw this.behind;
      this.state.probeWrite(PROBE_KEY, nowIso());
      this.health.ok('state', 'outbox');
    } else {
      await probeFolder(this.root, op);
      this.health.ok(op);
    }
  }

  /**
   * Attaches the search index to the state connection and applies the manifest lines it lacks up
   * to what state has applied (`appliedSeq`); the lines state lacks follow through applyLine.
   */
  private async openIndex(db: Database.Database, o: StorageSearchOptions, appliedSeq: number): Promise<Storage['repaired']['searchIndex']> {
    try {
      this.index = SearchIndex.attach(db, this.root, this.state, { ...o, manifestSeq: this.manifest.lastSeq });
      const { lines, versions } = await this.index.catchUp(appliedSeq);
      return { rebuilt: this.index.rebuildReason, lines, versions };
    } catch (err) {
      // The index is never needed to crawl: without it this run, from its watermark at the next start.
      this.index?.close();
      this.index = null;
      return { rebuilt: null, lines: 0, versions: 0, failed: (err as Error).message };
    }
  }

  /** A full disk stops SQLite too; whatever failed, the message names the storage path, and the health record has it. */
  private guarded(doing: string, work: () => void): void {
    try {
      work();
    } catch (err) {
      const error = StorageError.from(err, join(this.root, 'state.sqlite'), doing);
      this.health.failed('state', error);
      throw error;
    }
    if (!this.behind) this.health.ok('state');
  }
}

