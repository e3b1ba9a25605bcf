import { createHash } from 'node:crypto';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { compactUtc } from '../clock/clock.js';
import type { Article } from '../extract/article.js';
import { searchDocOf, type SearchDoc } from '../search/search-doc.js';
import type { Manifest, ManifestEvent, ManifestRecord, NewManifestRecord } from './manifest.js';
import { SnapshotStore } from './snapshot-store.js';
import { writeFileAtomically } from '../disk/atomic-file.js';

/** A version about to become an article's current snapshot. */
export interface VersionChange {
  event: Exclude<ManifestEvent, 'gone'>;
  /** The article as extracted: its description and body blocks go to the search index. */
  article: Pick<Article, 'id' | 'url' | 'date' | 'title' | 'modifiedTime' | 'description' | 'blocks'>;
  text: string;
  capturedAt: string;
  /** The version it replaces, as state knows it; null for a first capture. */
  previous: { sha256: string; capturedAt: string; path: string } | null;
}

/** What a capture decided in its article's turn: the change to write, or null for none (its bytes are the current ones). */
export interface Decided {
  change: VersionChange | null;
}

/** A change written to the journal before any other file is touched. */
interface JournalEntry extends VersionChange {
  /** The manifest's length when the change began: its line, if written, lies after. */
  manifestFrom: number;
}

/** The saved searches a version matches (see storage/search/saved-searches.ts). */
export interface VersionSearch {
  /** Names of the saved searches `doc` matches or the replaced version (where its bytes are now) matched. */
  matches(doc: SearchDoc, previous: { id: string; sha256: string; path: string } | null): string[];
}

/** Sees every manifest line appended, with the version's search document when the line wrote one. */
export type LineRecorded = (record: ManifestRecord, offset: number, end: number, doc?: SearchDoc) => void;

export interface CommittedVersion {
  record: ManifestRecord;
  /** Byte offset of the manifest line. */
  offset: number;
  /** The manifest's length after it. */
  length: number;
}

/**
 * Versions of articles on disk. Writing one goes: journal entry (the new bytes and what they
 * replace) → the replaced bytes copied to `history/YYYY-MM-DD/<id>/<captured>.txt` → the new
 * snapshot written atomically → the manifest line (the commit point) → journal entry removed.
 * Every step is atomic and idempotent, so a kill -9 at any instant is completed by `recover()`
 * on the next start: no version is lost, none written twice, no file left half-written.
 */
export class VersionStore {
  private readonly journalDir: string;
  private readonly busy = new Map<string, Promise<unknown>>();
  /**
   * Articles whose journaled change is on disk (history kept, snapshot replaced) but whose
   * manifest line could not be written (a full disk): nothing else is committed until each is
   * completed, in order, so that no later line can come before it.
   */
  private readonly stranded = new Set<string>();
  private settling: Promise<void> | null = null;

  /**
   * @param recorded sees every manifest line this store appends, in manifest order, before the
   *   next line is appended (the archive applies it to state there)
   * @param search names the saved searches a new version matches, on its manifest line
   */
  constructor(
    private readonly root: string,
    private readonly manifest: Manifest,
    private readonly snapshots: SnapshotStore,
    private readonly recorded: LineRecorded,
    /** Throws to refuse a change before any file is touched (state has not applied an earlier line). */
    private readonly gate: () => void = () => undefined,
    private readonly search: VersionSearch | null = null,
  ) {
    this.journalDir = join(root, 'journal');
  }

  /** `history/YYYY-MM-DD/<id>/<YYYYMMDDTHHMMSSZ>.txt` of a version captured at `capturedAt`. */
  static historyPath(snapshotPath: string, id: string, capturedAt: string, attempt = 1): string {
    const date = SnapshotStore.parsePath(snapshotPath)?.date;
    if (!date) throw new Error(`refusing history path for snapshot ${JSON.stringify(snapshotPath)}`);
    SnapshotStore.relativePath({ id, date });
    return `history/${date}/${id}/${compactUtc(capturedAt)}${attempt > 1 ? `-${attempt}` : ''}.txt`;
  }

  /**
   * Makes `change` the article's current version. Changes of one article are serialized. A first
   * version needs no journal: there are no earlier bytes to keep, and until its manifest line
   * exists nothing refers to it (a crash before that leaves the article pending, fetched again).
   */
  commit(change: VersionChange): Promise<CommittedVersion> {
    return this.serialized(change.article.id, () => this.write(change));
  }

  /**
   * Decides a change and makes it in one turn of the article: `decide` reads the article's
   * current version (from state) only once a change of its own that a failed manifest write
   * stranded is completed and applied. Decided before that, a capture would replace the stranded
   * version's bytes without keeping them in history (its `previous` would be the version before),
   * or write the same change a second time. Another article's stranded change is no reason to
   * wait: an unchanged capture writes nothing, and a change settles every one first (write).
   */
  commitDecided<D extends Decided>(id: string, decide: () => D): Promise<{ decided: D; committed: CommittedVersion | null }> {
    return this.serialized(id, async () => {
      if (this.stranded.has(id)) await this.settle();
      const decided = decide();
      if (!decided.change) return { decided, committed: null };
      if (decided.change.article.id !== id) throw new Error(`a change of ${decided.change.article.id} decided in the turn of ${id}`);
      return { decided, committed: await this.write(decided.change) };
    });
  }

  /** The body of a commit, in the article's turn: earlier stranded changes first, then journal, files, line. */
  private async write(change: VersionChange): Promise<CommittedVersion> {
    await this.settle();
    this.gate();
    const entry: JournalEntry = { ...change, manifestFrom: this.manifest.length };
    if (!change.previous) return this.complete(entry);
    await writeFileAtomically(this.journalPath(change.article.id), Buffer.from(JSON.stringify(entry), 'utf8'), `.${change.article.id}`);
    return this.complete(entry);
  }

  /** Records a removal: a manifest line only; every file stays. */
  gone(entry: Omit<NewManifestRecord, 'event' | 'fetchedAt'>): Promise<CommittedVersion> {
    return this.serialized(entry.id, async () => {
      await this.settle();
      return this.manifest.append({ event: 'gone', ...entry, fetchedAt: entry.capturedAt }, this.recorded);
    });
  }

  /**
   * Completes the changes a failed manifest write stranded (their files are on disk, their lines
   * are not), oldest first; throws while one still cannot be written. One settling at a time.
   */
  settle(): Promise<void> {
    if (this.stranded.size === 0) return Promise.resolve();
    this.settling ??= (async () => {
      try {
        for (const id of [...this.stranded]) {
          const entry = JSON.parse(await readFile(this.journalPath(id), 'utf8')) as JournalEntry;
          await this.complete(entry);
          this.stranded.delete(id);
        }
      } finally {
        this.settling = null;
      }
    })();
    return this.settling;
  }

  /**
   * Writes the current version's file again when it is missing (removed by hand, a lost folder)
   * or its bytes are not the recorded ones (damaged on disk), from `text` rebuilt elsewhere, only
   * if those are the recorded bytes: the version is the same, so no manifest line. Returns
   * whether it wrote.
   */
  restoreLost(current: { id: string; path: string; sha256: string }, text: string): Promise<boolean> {
    return this.serialized(current.id, async () => {
      const data = Buffer.from(text, 'utf8');
      if (sha256(data) !== current.sha256) return false;
      if (SnapshotStore.parsePath(current.path)?.id !== current.id) return false;
      const finalPath = join(this.root, current.path);
      const onDisk = await readFile(finalPath).catch(() => null);
      if (onDisk && sha256(onDisk) === current.sha256) return false;
      await writeFileAtomically(finalPath, data, `.${current.id}`);
      return true;
    });
  }

  /** Completes every change a crash interrupted; returns how many. */
  async recover(): Promise<number> {
    const names = await readdir(this.journalDir).catch(() => [] as string[]);
    let done = 0;
    for (const name of names) {
      const path = join(this.journalDir, name);
      if (name.startsWith('.')) {
        // A journal entry never renamed into place: its change never began.
        await unlink(path).catch(() => undefined);
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const entry = JSON.parse(await readFile(path, 'utf8')) as JournalEntry;
      const written = (await this.manifest.readFrom(entry.manifestFrom)).find(
        ({ record }) => record.id === entry.article.id && record.event === entry.event && record.capturedAt === entry.capturedAt && record.sha256 === sha256(entry.text),
      );
      if (written) await unlink(path);
      else await this.complete(entry);
      done++;
    }
    return done;
  }

  private async complete(entry: JournalEntry): Promise<CommittedVersion> {
    const { article, text, previous } = entry;
    const data = Buffer.from(text, 'utf8');
    const sha = sha256(data);
    // The saved searches first, before any file is touched: one that fails fails the change whole.
    // The replaced bytes are still the current file then (or indexed, after a crash replaced it).
    const doc = searchDocOf(article, text);
    const matches = this.search?.matches(doc, previous ? { id: article.id, sha256: previous.sha256, path: previous.path } : null) ?? [];
    const historyPath = previous && previous.sha256 !== sha ? await this.preserve(article.id, previous) : undefined;
    const snap = await this.snapshots.save(article, text, previous?.path);
    const record: NewManifestRecord = {
      event: entry.event,
      id: article.id,
      url: article.url,
      date: article.date,
      path: snap.path,
      sha256: sha,
      bytes: data.length,
      capturedAt: entry.capturedAt,
      fetchedAt: entry.capturedAt,
      title: article.title,
      ...(article.modifiedTime ? { modifiedTime: article.modifiedTime } : {}),
      ...(previous ? { previousSha256: previous.sha256 } : {}),
      ...(historyPath ? { historyPath } : {}),
      ...(matches.length > 0 ? { matches } : {}),
    };
    let committed: CommittedVersion;
    try {
      committed = await this.manifest.append(record, (r, offset, end) => this.recorded(r, offset, end, doc));
    } catch (err) {
      // The snapshot is on disk, its line is not. A first version's file is taken back (nothing
      // refers to it, and the article is fetched again); a change with a journal is completed
      // before anything else is committed (settle).
      if (previous) this.stranded.add(article.id);
      else if (snap.outcome === 'written') await unlink(join(this.root, snap.path)).catch(() => undefined);
      throw err;
    }
    if (previous) await unlink(this.journalPath(article.id)).catch(() => undefined);
    this.stranded.delete(article.id);
    return committed;
  }

  /**
   * Copies the bytes being replaced into history, once. After a crash they may already be
   * there (and the snapshot already replaced): then that copy is the one.
   */
  private async preserve(id: string, previous: NonNullable<VersionChange['previous']>): Promise<string | undefined> {
    for (let attempt = 1; ; attempt++) {
      const rel = VersionStore.historyPath(previous.path, id, previous.capturedAt, attempt);
      const existing = await readFile(join(this.root, rel)).catch(() => null);
      if (existing && sha256(existing) === previous.sha256) return rel;
      if (existing) continue; // another version captured in the same second: the next name
      const current = await readFile(join(this.root, previous.path)).catch(() => null);
      if (!current) return undefined; // nothing on disk to keep
      await writeFileAtomically(join(this.root, rel), current, `.${id}`);
      return rel;
    }
  }

  private journalPath(id: string): string {
    SnapshotStore.relativePath({ id, date: '2000-01-01' });
    return join(this.journalDir, `${id}.json`);
  }

  private serialized<T>(id: string, work: () => Promise<T>): Promise<T> {
    const before = this.busy.get(id) ?? Promise.resolve();
    const next = before.then(work, work);
    const settled = next.catch(() => undefined);
    this.busy.set(id, settled);
    void settled.then(() => {
      if (this.busy.get(id) === settled) this.busy.delete(id);
    });
    return next;
  }
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
