import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { WarcLocation } from '../../fetch/exchange.js';
import { foldExact, foldTurkish } from '../../search/fold.js';
import { indexedBody, mayHideBlocks, searchDocFromSnapshot, type SearchDoc } from '../../search/search-doc.js';
import { readManifestLines, type ManifestRecord } from '../manifest.js';
import type { State } from '../state/state-store.js';
import { VersionStore } from '../version-store.js';
import { PreviousIndex } from './previous-index.js';
import { removeIndexFiles } from './search-files.js';
import { createSearchSchema, docId, INDEX_STORAGE_ID, INDEXED_SEQ, registerFolds, SEARCH_FILE, SEARCH_SCHEMA_VERSION } from './search-schema.js';

/** What the index needs besides state: the site's name (to read snapshots back) and the archive. */
export interface SearchIndexOptions {
  siteName: string;
  /**
   * The body blocks of the page at `at` when its snapshot has this sha256 (the archive holds the
   * blocks a snapshot file has joined); null when it does not give this version.
   */
  archivedBlocks?: (at: WarcLocation, sha256: string) => readonly string[] | null;
  /** Every so often while the index catches up or is rebuilt. */
  onProgress?: (p: IndexProgress) => void;
  progressIntervalMs?: number;
  /** The index turned out damaged while a run wrote it: it is left alone until the next start rebuilds it. */
  onDamage?: (err: Error) => void;
  /** A write to the index failed for good this run (not damage, not a passing fault): off until the next start catches it up. */
  onOff?: (err: Error) => void;
  /** Build it from nothing (`newsnap index --rebuild`). */
  rebuild?: boolean;
  /** Stops catching up between two batches (each leaves the index whole, its watermark with it). */
  signal?: AbortSignal;
}

export interface IndexProgress {
  lines: number;
  total: number;
  versions: number;
}

/** State's meta key: set when the index was found damaged mid-run; the next start rebuilds it. */
const DAMAGED = 'search.damaged';
const SCHEMA = 'search';
/** Manifest lines per transaction while catching up. */
const BATCH = 2000;

/**
 * The search index as a writer keeps it: attached to the state connection, so a manifest line's
 * index rows are written in the transaction that applies it to state (Storage.applyToState). In
 * WAL mode SQLite commits each file of a transaction on its own, so the index keeps its own
 * watermark (the last `seq` it applied) and a start catches it up from the manifest: after a
 * kill -9, after a run with the index off, or from nothing when it is missing or damaged. It is
 * never needed to crawl: a damaged index is set aside and rebuilt, never an error of the run; one
 * that cannot be opened or caught up is left for the next start. A write that fails as state's
 * would (a full disk) holds its line back with state's, and goes in when state's does.
 */
export class SearchIndex {
  private broken = false;
  /** Lines are missing below the next one (a catch-up stopped early): nothing more this run. */
  private lagging = false;
  private readonly s;
  /** One line's writes as a savepoint of the caller's transaction: a damaged index fails alone. */
  private readonly writeLine: (record: ManifestRecord, offset: number, doc: SearchDoc | undefined) => void;

  private constructor(
    private readonly db: Database.Database,
    private readonly root: string,
    private readonly state: State,
    private readonly o: SearchIndexOptions,
    /** Why the index is being built from nothing at this start, if it is. */
    readonly rebuildReason: string | null,
    /** The index a rebuild replaces, for the block boundaries of the versions it held. */
    private previous: PreviousIndex | null,
  ) {
    this.s = {
      seq: db.prepare<[], { value: string }>(`SELECT value FROM ${SCHEMA}.meta WHERE key = '${INDEXED_SEQ}'`),
      setMeta: db.prepare(`INSERT OR REPLACE INTO ${SCHEMA}.meta (key, value) VALUES (?, ?)`),
      getMeta: db.prepare<[string], { value: string }>(`SELECT value FROM ${SCHEMA}.meta WHERE key = ?`),
      has: db.prepare<[number], { n: number }>(`SELECT 1 AS n FROM ${SCHEMA}.docs WHERE seq = ?`),
      // An article's versions so far, whether one is current (and gone), whether any is gone. The
      // `+current`s keep these statements on docs_article, off the flag nearly every row has.
      article: db.prepare<[string], { versions: number; current: number; gone: number; gones: number }>(
        `SELECT COUNT(*) AS versions, COALESCE(SUM(current), 0) AS current, COALESCE(MAX(CASE WHEN +current = 1 THEN gone END), 0) AS gone, COALESCE(SUM(gone), 0) AS gones
         FROM ${SCHEMA}.docs WHERE article_id = ?`,
      ),
      retire: db.prepare(`UPDATE ${SCHEMA}.docs SET current = 0 WHERE article_id = ? AND +current = 1`),
      setGone: db.prepare(`UPDATE ${SCHEMA}.docs SET gone = ? WHERE article_id = ? AND gone <> ?`),
      insert: db.prepare(
        `INSERT INTO ${SCHEMA}.docs (doc_id, seq, article_id, version, event, url, published, captured_at, sha256, current, gone, title, description, body)
         VALUES (@docId, @seq, @id, @version, @event, @url, @published, @capturedAt, @sha256, 1, @gone, @title, @description, @body)`,
      ),
      fts: db.prepare(`INSERT INTO ${SCHEMA}.fts (rowid, title, description, body) VALUES (?, ?, ?, ?)`),
      ftsExact: db.prepare(`INSERT INTO ${SCHEMA}.fts_exact (rowid, title, description, body) VALUES (?, ?, ?, ?)`),
      docOf: db.prepare<[string, string], { title: string; description: string | null; body: string }>(
        `SELECT title, description, body FROM ${SCHEMA}.docs WHERE article_id = ? AND sha256 = ? ORDER BY seq DESC LIMIT 1`,
      ),
    };
    this.writeLine = db.transaction((record: ManifestRecord, offset: number, doc: SearchDoc | undefined) => this.write(record, offset, doc));
  }

  /**
   * Attaches `search.sqlite` to the state connection, creating it when missing. One that cannot
   * be used (not a database, another schema, another storage folder's, ahead of the manifest
   * `manifestSeq`, or marked damaged by a run) is removed and made anew; one asked to be rebuilt
   * is set aside (PreviousIndex). catchUp() then builds it from the manifest and the files.
   */
  static attach(db: Database.Database, root: string, state: State, o: SearchIndexOptions & { manifestSeq: number }): SearchIndex {
    registerFolds(db);
    const path = join(root, SEARCH_FILE);
    let reason: string | null = o.rebuild ? 'asked for' : state.meta.get(DAMAGED) === '1' ? 'a run found it damaged' : null;
    let previous = o.rebuild ? PreviousIndex.setAside(path) : PreviousIndex.reopen(path);
    if (reason) removeIndexFiles(path);
    for (let attempt = 0; ; attempt++) {
      try {
        db.prepare(`ATTACH DATABASE ? AS ${SCHEMA}`).run(path);
        db.pragma(`${SCHEMA}.journal_mode = WAL`);
        // No fsync for the index, not even at checkpoints: a killed process loses nothing (the
        // kernel has its writes), and what a power cut may cost it is caught as damage or as lines
        // it lacks (verify says which) and built again. State keeps its own NORMAL: a crawl never
        // waits on the index's disk.
        db.pragma(`${SCHEMA}.synchronous = OFF`);
        const version = db.pragma(`${SCHEMA}.user_version`, { simple: true }) as number;
        const empty = db.prepare(`SELECT COUNT(*) AS n FROM ${SCHEMA}.sqlite_master`).get() as { n: number };
        if (version !== SEARCH_SCHEMA_VERSION && empty.n > 0) throw new IndexUnusable(`it has schema ${version}, this newsnap writes ${SEARCH_SCHEMA_VERSION}`, true);
        if (empty.n === 0) reason ??= 'it did not exist';
        createSearchSchema(db, SCHEMA);
        const owner = db.prepare(`SELECT value FROM ${SCHEMA}.meta WHERE key = ?`).get(INDEX_STORAGE_ID) as { value: string } | undefined;
        const id = state.meta.get('storage.id');
        if (owner && id && owner.value !== id) throw new IndexUnusable('it belongs to another storage folder');
        if (id && !owner) db.prepare(`INSERT OR REPLACE INTO ${SCHEMA}.meta (key, value) VALUES (?, ?)`).run(INDEX_STORAGE_ID, id);
        const indexed = Number((db.prepare(`SELECT value FROM ${SCHEMA}.meta WHERE key = ?`).get(INDEXED_SEQ) as { value: string } | undefined)?.value ?? '0');
        if (indexed > o.manifestSeq) throw new IndexUnusable(`it has applied ${indexed} manifest lines, the manifest has ${o.manifestSeq}`);
        state.meta.set(DAMAGED, '0');
        return new SearchIndex(db, root, state, o, reason, previous);
      } catch (err) {
        if (attempt > 0 || !(err instanceof IndexUnusable || isDamage(err))) {
          detachQuietly(db);
          throw err;
        }
        reason = err instanceof IndexUnusable ? err.message : `it could not be read (${(err as { code?: string }).code ?? (err as Error).message})`;
        detachQuietly(db);
        // An index of another schema still holds the block boundaries its versions' files have
        // lost: set aside as a rebuild's is, not removed.
        if (err instanceof IndexUnusable && err.readable && !previous) previous = PreviousIndex.setAside(path);
        else removeIndexFiles(path);
      }
    }
  }

  /** Off for the rest of this run (damaged, or lines it could not take): the next start catches it up. */
  get off(): boolean {
    return this.broken || this.lagging;
  }

  /** The `seq` of the last manifest line applied (0 for none). */
  get seq(): number {
    return Number(this.s.seq.get()?.value ?? '0');
  }

  /**
   * Applies one manifest line, in the caller's transaction (a savepoint of it): the version's
   * row and its two FTS entries, its article's older versions no longer current, a removal's
   * `gone`. `doc` is the version as extraction gave it; without it the version is read back from
   * its file (and its blocks from the archive when it holds this version). A line applied before
   * is passed over.
   */
  apply(record: ManifestRecord, offset: number, doc?: SearchDoc): void {
    if (this.broken || this.lagging) return;
    try {
      const last = this.seq;
      if (record.seq <= last) return;
      // Lines between are missing (a catch-up stopped early): left for the next start's catch-up,
      // which begins at the watermark. Applying this one would move the watermark past them.
      if (record.seq !== last + 1) {
        this.lagging = true;
        return;
      }
      this.writeLine(record, offset, doc);
    } catch (err) {
      if (isDamage(err)) return this.damaged(err as Error);
      // A full disk or a lock fails state's write too: the line waits and heals with it.
      if (passes(err)) throw err;
      // Anything else (a file another user owns, read-only): off for this run, never the crawl's
      // failure; the next start catches it up from its watermark.
      this.lagging = true;
      this.o.onOff?.(err as Error);
    }
  }

  /** Found damaged: left alone from now on, marked in state so that the next start builds it anew. */
  private damaged(err: Error): void {
    this.broken = true;
    this.state.meta.set(DAMAGED, '1');
    this.o.onDamage?.(err);
  }

  /**
   * Applies the manifest's lines the index lacks, up to `toSeq` (what state has applied), in
   * batches: streamed, so 120 000 versions cost the memory of a batch. Returns the lines (and
   * versions among them) applied.
   */
  async catchUp(toSeq: number): Promise<IndexProgress> {
    const from = this.seq;
    if (from >= toSeq) {
      this.previous?.discard();
      this.previous = null;
      return { lines: 0, total: 0, versions: 0 };
    }
    const startOffset = from > 0 ? this.state.reports.offsetOfSeq(from + 1) : 0;
    const position = startOffset === undefined ? { offset: 0, seq: 0 } : { offset: startOffset, seq: from };
    const progress: IndexProgress = { lines: 0, total: toSeq - from, versions: 0 };
    let batch: Array<{ record: ManifestRecord; offset: number }> = [];
    let said = performance.now();
    // A batch is one transaction, without a savepoint per line: nothing else is in it to protect.
    const flush = () => {
      try {
        this.db.transaction(() => {
          const done = this.seq;
          for (const { record, offset } of batch) if (record.seq > done) this.write(record, offset, undefined, false);
          this.s.setMeta.run(INDEXED_SEQ, String(batch.at(-1)!.record.seq));
        })();
      } catch (err) {
        if (!isDamage(err)) throw err;
        this.damaged(err as Error);
      }
      progress.lines += batch.length;
      progress.versions += batch.filter((l) => l.record.event !== 'gone').length;
      batch = [];
      if (performance.now() - said >= (this.o.progressIntervalMs ?? 10_000)) {
        said = performance.now();
        this.o.onProgress?.({ ...progress });
      }
    };
    for await (const line of readManifestLines(this.root, { from: position })) {
      if (line.seq > toSeq || this.o.signal?.aborted || this.broken) break;
      if (line.seq <= from || !('record' in line)) continue;
      batch.push({ record: line.record, offset: line.offset });
      if (batch.length >= BATCH) flush();
    }
    if (batch.length > 0) flush();
    // Corrupt lines apply nothing but are passed: the watermark is state's.
    if (!this.o.signal?.aborted && !this.broken && this.seq < toSeq) this.s.setMeta.run(INDEXED_SEQ, String(toSeq));
    // The index a rebuild replaces is kept until the rebuild is whole: a stop goes on with it.
    if (this.seq >= toSeq || this.broken) {
      this.previous?.discard();
      this.previous = null;
    }
    return progress;
  }

  /** The indexed text of an article's version with these bytes, or null. */
  docOf(id: string, sha256: string): SearchDoc | null {
    if (this.broken) return null;
    try {
      const row = this.s.docOf.get(id, sha256);
      return row ? { title: row.title, description: row.description, blocks: row.body.split('\n') } : null;
    } catch (err) {
      // Unknown then: the caller reads the version from its file.
      if (isDamage(err)) this.damaged(err as Error);
      return null;
    }
  }

  /** Detaches the index (a damaged one is removed: the next start builds it again). */
  close(): void {
    this.previous?.close();
    detachQuietly(this.db);
    if (this.broken) removeIndexFiles(join(this.root, SEARCH_FILE));
  }

  /** One line's rows; `mark` moves the watermark to it (a batch moves it once, at its end). */
  private write(record: ManifestRecord, offset: number, given: SearchDoc | undefined, mark = true): void {
    if (record.event === 'gone') {
      this.s.setGone.run(1, record.id, 1);
    } else if (!this.s.has.get(record.seq)) {
      const doc = given ?? this.readBack(record, offset);
      const before = this.s.article.get(record.id) ?? { versions: 0, current: 0, gone: 0, gones: 0 };
      // A rebuilt version says nothing of the site: a removed article stays removed.
      const gone = record.event === 'reextracted' ? before.gone : 0;
      if (gone === 0 && before.gones > 0) this.s.setGone.run(0, record.id, 0);
      if (before.current > 0) this.s.retire.run(record.id);
      const id = docId(record.date, record.seq);
      const body = indexedBody(doc);
      this.s.insert.run({
        docId: id,
        seq: record.seq,
        id: record.id,
        version: before.versions + 1,
        event: record.event,
        url: record.url,
        published: record.date,
        capturedAt: record.capturedAt,
        sha256: record.sha256,
        gone,
        title: doc.title,
        description: doc.description,
        body,
      });
      this.s.fts.run(id, foldTurkish(doc.title), doc.description === null ? null : foldTurkish(doc.description), foldTurkish(body));
      this.s.ftsExact.run(id, foldExact(doc.title), doc.description === null ? null : foldExact(doc.description), foldExact(body));
    }
    if (mark) this.s.setMeta.run(INDEXED_SEQ, String(record.seq));
  }

  /**
   * A version from its file (where state says its bytes are now, else where they were or went),
   * and, when its joined body may hide a junction of two blocks (mayHideBlocks), their
   * boundaries from the index a rebuild replaces or from the archive.
   */
  private readBack(record: ManifestRecord, offset: number): SearchDoc {
    const text = this.readVersion(record, offset);
    const doc = text === null ? null : searchDocFromSnapshot(text, this.o.siteName);
    if (!doc) return { title: record.title ?? '', description: null, blocks: [] };
    const joined = doc.blocks.join('');
    if (!mayHideBlocks(joined)) return doc;
    const blocks = this.previous?.blocks(record.seq, record.sha256, joined) ?? this.archived(record);
    return blocks ? { ...doc, blocks } : doc;
  }

  private readVersion(record: ManifestRecord, offset: number): string | null {
    const now = this.state.reports.eventAt(offset)?.path;
    // Where state says the bytes are now; where the line put them; where an edit after it moved them.
    const candidates = function* () {
      yield now;
      yield record.path;
      for (const attempt of [1, 2, 3]) yield safeHistoryPath(record, attempt);
    };
    for (const rel of candidates()) {
      if (!rel) continue;
      try {
        const data = readFileSync(join(this.root, rel));
        if (createHash('sha256').update(data).digest('hex') === record.sha256) return data.toString('utf8');
      } catch {
        // not there: the next place
      }
    }
    return null;
  }

  private archived(record: ManifestRecord): readonly string[] | null {
    if (!this.o.archivedBlocks) return null;
    const article = this.state.articles.get(record.id);
    if (!article?.warc || article.sha256 !== record.sha256) return null;
    try {
      return this.o.archivedBlocks(article.warc, record.sha256);
    } catch {
      return null;
    }
  }
}

class IndexUnusable extends Error {
  constructor(
    message: string,
    /** Its rows can still be read (another schema), for the block boundaries they hold. */
    readonly readable = false,
  ) {
    super(message);
  }
}

/** Errors that say the index file itself is bad (not a full disk, not a bug). */
/** A failure that passes by itself (space, a lock, an I/O error): state's own writes meet it too. */
function passes(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(SQLITE_(FULL|BUSY|LOCKED|IOERR)|ENOSPC|EIO)/.test(code);
}

function isDamage(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

function safeHistoryPath(record: ManifestRecord, attempt: number): string | null {
  try {
    return VersionStore.historyPath(record.path, record.id, record.capturedAt, attempt);
  } catch {
    return null;
  }
}

function detachQuietly(db: Database.Database): void {
  try {
    db.exec(`DETACH DATABASE ${SCHEMA}`);
  } catch {
    // not attached
  }
}

