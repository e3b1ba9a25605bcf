import { createReadStream } from 'node:fs';
import { open, stat, truncate, type FileHandle } from 'node:fs/promises';
import { writeFully } from '../disk/write-fully.js';
import { join } from 'node:path';
import { StorageError } from '../disk/storage-error.js';

/**
 * What happened to an article: first captured (`new`), edited by the site (`updated`), removed
 * (`gone`), back after a removal (`restored`), or rebuilt from the archive (`reextracted`).
 */
export const MANIFEST_EVENTS = ['new', 'updated', 'gone', 'restored', 'reextracted'] as const;
export type ManifestEvent = (typeof MANIFEST_EVENTS)[number];

/** One line of `manifest.jsonl`: the contract with downstream tools (README, "Manifest"). */
export interface ManifestRecord {
  /**
   * The line's number in `manifest.jsonl`, 1 for the first, with no gaps: what a consumer keeps
   * to resume from. Written into every line; a line written before it existed has it from its
   * position when read.
   */
  seq: number;
  /** Lines written before versions existed have none and read as `new`. */
  event: ManifestEvent;
  id: string;
  url: string;
  date: string;
  /** The current snapshot (for `gone`, the last one, which stays on disk). */
  path: string;
  sha256: string;
  bytes: number;
  /** When this version was captured (for `gone`: when the removal was established), UTC. */
  capturedAt: string;
  /** Same as `capturedAt`; the name lines had before versions existed. */
  fetchedAt: string;
  title?: string;
  /** `article:modified_time` of the page, as the site wrote it. */
  modifiedTime?: string;
  /** `updated`, `restored`, `reextracted`: the version this one replaces. */
  previousSha256?: string;
  /** Where the replaced version's bytes went (`history/YYYY-MM-DD/<id>/<captured>.txt`). */
  historyPath?: string;
  /** `gone`: why (`HTTP 410`, `HTTP 404 ×3`). */
  reason?: string;
  /**
   * The saved searches (`delivery.searches`) this version matches, or the version it replaces
   * matched (an edit that removed a match), by name; absent when none.
   */
  matches?: string[];
}

/** A line as read back, the `seq` its position gives it: older lines are completed to the current shape. */
export function readRecord(line: string, seq: number): ManifestRecord {
  const r = JSON.parse(line) as Partial<ManifestRecord> & { fetchedAt: string };
  return { ...r, seq, event: r.event ?? 'new', capturedAt: r.capturedAt ?? r.fetchedAt } as ManifestRecord;
}

/** Where a reader stands in the manifest: a byte offset at a line's start, and the `seq` of the line before it. */
export interface ManifestPosition {
  offset: number;
  seq: number;
}

/** What a writer gives: the manifest numbers the line. */
export type NewManifestRecord = Omit<ManifestRecord, 'seq'>;

/**
 * The append-only manifest `<storage>/manifest.jsonl` that downstream tools tail. Appends are
 * serialized and fsynced; a line cut off by a crash is removed when the manifest is reopened.
 */
export class Manifest {
  readonly path: string;
  private handle: FileHandle | null = null;
  private size = 0;
  /** The `seq` of the last line. */
  private lines = 0;
  private tail: Promise<unknown> = Promise.resolve();

  /** A failed append that left bytes it could not take back: nothing is appended until they are. */
  private torn: StorageError | null = null;

  constructor(
    private readonly root: string,
    /**
     * Runs inside the append order before each line is written: it throws to refuse the line
     * (the storage refuses while state has not applied an earlier one).
     */
    private readonly gate: () => void = () => undefined,
  ) {
    this.path = join(root, 'manifest.jsonl');
  }

  /** Byte length of the manifest: every complete line ends before it. */
  get length(): number {
    return this.size;
  }

  /** The `seq` of its last line (0 for none). */
  get lastSeq(): number {
    return this.lines;
  }

  /**
   * Opens for appending; drops a partial last line left by a crash. `from` is where state stands
   * (a line start and the `seq` of the line before it): the lines after it are counted, streamed,
   * so that the next line gets the next `seq` (a manifest of any size costs the memory of one line).
   */
  async open(from: ManifestPosition = { offset: 0, seq: 0 }): Promise<void> {
    let lines = from.seq;
    try {
      const st = await stat(this.path).catch(() => null);
      if (st) {
        const complete = await completeLength(this.path, st.size, Math.min(from.offset, st.size));
        if (complete < st.size) await truncate(this.path, complete);
        for await (const _ of readManifestLines(this.root, { from, end: complete })) lines++;
      }
      this.handle = await open(this.path, 'a', 0o644);
      this.size = (await this.handle.stat()).size;
    } catch (err) {
      throw StorageError.from(err, this.path, 'open manifest');
    }
    this.lines = lines;
  }

  /** The records from byte `offset` to the end (a journal looks for a line it may have written). */
  async readFrom(offset: number): Promise<Array<{ record: ManifestRecord; offset: number }>> {
    await this.tail;
    const fh = await open(this.path, 'r');
    try {
      const length = Math.max(0, this.size - offset);
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, offset);
      const text = buf.toString('utf8');
      // The lines from here to the end are the last ones: that tells the number of the first.
      return parseLines(text, { offset, seq: this.lines - countLines(text) });
    } finally {
      await fh.close();
    }
  }

  /**
   * Appends one record durably, numbered with the next `seq`; resolves with the record as
   * written, the byte offset of its line and the manifest's length after it. `written` runs once
   * the line is durable and before the next append starts, so whatever it records follows the
   * manifest's own order.
   */
  append(entry: NewManifestRecord, written?: (record: ManifestRecord, offset: number, length: number) => void): Promise<{ record: ManifestRecord; offset: number; length: number }> {
    const next = this.tail.then(async () => {
      const handle = this.handle;
      if (!handle) throw new StorageError(this.path, undefined, `manifest ${this.path} is not open`);
      this.gate();
      await this.untear(handle);
      const record: ManifestRecord = { seq: this.lines + 1, ...entry };
      const line = Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
      try {
        await writeFully(handle, line);
        await handle.datasync();
      } catch (err) {
        // Whatever part of the line reached the file is cut off: the next line starts clean.
        await this.cutBack(handle, err);
        throw StorageError.from(err, this.path, 'append to manifest');
      }
      const offset = this.size;
      this.size += line.length;
      this.lines = record.seq;
      written?.(record, offset, this.size);
      return { record, offset, length: this.size };
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Cuts the file back to its last whole line after a failed append; if even that fails, appends wait until it succeeds. */
  private async cutBack(handle: FileHandle, cause: unknown): Promise<void> {
    try {
      await handle.truncate(this.size);
    } catch {
      this.torn = StorageError.from(cause, this.path, 'append to manifest');
    }
  }

  private async untear(handle: FileHandle): Promise<void> {
    if (!this.torn) return;
    try {
      await handle.truncate(this.size);
      this.torn = null;
    } catch {
      throw this.torn;
    }
  }

  async close(): Promise<void> {
    await this.tail;
    await this.handle?.close();
    this.handle = null;
  }
}

/** Lines of manifest text: every non-empty one ending in a newline has a `seq`, a corrupt one too. */
function parseLines(text: string, from: ManifestPosition): Array<{ record: ManifestRecord; offset: number }> {
  const out: Array<{ record: ManifestRecord; offset: number }> = [];
  let at = from.offset;
  let seq = from.seq;
  for (const line of text.split('\n')) {
    const offset = at;
    at += Buffer.byteLength(line) + 1;
    if (!line) continue;
    seq++;
    try {
      out.push({ record: readRecord(line, seq), offset });
    } catch {
      // A corrupt line cannot be repaired; the rest of the manifest still counts (and keeps its number).
    }
  }
  return out;
}

function countLines(text: string): number {
  let n = 0;
  for (const line of text.split('\n')) if (line) n++;
  // The text ends with a newline (a partial last line was cut): split leaves one empty piece.
  return n;
}

/** One line of the manifest as a reader streams it: its byte offset, line number (`seq`, from 1), and where the next line starts. */
export type ManifestLine = { offset: number; seq: number; next: number } & ({ record: ManifestRecord } | { corrupt: string });

/**
 * Every line of `<root>/manifest.jsonl` up to byte `end` (default: its length now), streamed in
 * order without holding the file: a 100 000-line manifest costs the memory of one line. A line
 * that is not JSON is given as `corrupt` (it still has its number). A last line without its
 * newline (being written, or cut by a crash) is not given.
 */
export async function* readManifestLines(root: string, o: { from?: ManifestPosition; end?: number; chunkBytes?: number } = {}): AsyncGenerator<ManifestLine> {
  const path = join(root, 'manifest.jsonl');
  const size = o.end ?? (await stat(path).then((st) => st.size, () => 0));
  let offset = o.from?.offset ?? 0;
  let seq = o.from?.seq ?? 0;
  if (size <= offset) return;
  let pending: Buffer[] = [];
  for await (const chunk of createReadStream(path, { start: offset, end: size - 1, highWaterMark: o.chunkBytes ?? 256 * 1024 }) as AsyncIterable<Buffer>) {
    let from = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
      const piece = chunk.subarray(from, nl);
      const line = pending.length > 0 ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      from = nl + 1;
      const at = offset;
      offset += line.length + 1;
      if (line.length === 0) continue;
      seq++;
      const text = line.toString('utf8');
      try {
        yield { offset: at, seq, next: offset, record: readRecord(text, seq) };
      } catch {
        yield { offset: at, seq, next: offset, corrupt: text.slice(0, 200) };
      }
    }
    if (from < chunk.length) pending.push(Buffer.from(chunk.subarray(from)));
  }
}

/**
 * The length of the manifest's whole lines: the byte after its last newline at or after `from`
 * (a line start). Read backwards from the end in pieces, so a large manifest is not read whole.
 */
async function completeLength(path: string, size: number, from: number): Promise<number> {
  if (size <= from) return size;
  const fh = await open(path, 'r');
  try {
    const piece = Buffer.alloc(64 * 1024);
    for (let end = size; end > from; ) {
      const start = Math.max(from, end - piece.length);
      const { bytesRead } = await fh.read(piece, 0, end - start, start);
      const nl = piece.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (nl >= 0) return start + nl + 1;
      end = start;
    }
    return from;
  } finally {
    await fh.close();
  }
}
