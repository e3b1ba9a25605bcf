import { createReadStream } from 'node:fs';
import { open, stat, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError } from './storage-error.js';

/**
 * What happened to an article: first captured (`new`), edited by the site (`updated`), removed
 * (`gone`), back after a removal (`restored`), or rebuilt from the archive (`reextracted`).
 */
export type ManifestEvent = 'new' | 'updated' | 'gone' | 'restored' | 'reextracted';

/** One line of `manifest.jsonl`: the contract with downstream tools (README, "Manifest"). */
export interface ManifestRecord {
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
}

/** A line as read back: older lines are completed to the current shape. */
export function readRecord(line: string): ManifestRecord {
  const r = JSON.parse(line) as Partial<ManifestRecord> & { fetchedAt: string };
  return { ...r, event: r.event ?? 'new', capturedAt: r.capturedAt ?? r.fetchedAt } as ManifestRecord;
}

/**
 * The append-only manifest `<storage>/manifest.jsonl` that downstream tools tail. Appends are
 * serialized and fsynced; a line cut off by a crash is removed when the manifest is reopened.
 */
export class Manifest {
  readonly path: string;
  private handle: FileHandle | null = null;
  private size = 0;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(root: string) {
    this.path = join(root, 'manifest.jsonl');
  }

  /** Byte length of the manifest: every complete line ends before it. */
  get length(): number {
    return this.size;
  }

  /**
   * Opens for appending; drops a partial last line left by a crash. Returns the records from
   * `offset` on, each with the byte offset of its line (its identity).
   */
  async open(offset = 0): Promise<Array<{ record: ManifestRecord; offset: number }>> {
    let text = '';
    try {
      const st = await stat(this.path).catch(() => null);
      if (st) {
        const fh = await open(this.path, 'r');
        try {
          const buf = Buffer.alloc(Math.max(0, st.size - offset));
          await fh.read(buf, 0, buf.length, Math.min(offset, st.size));
          text = buf.toString('utf8');
        } finally {
          await fh.close();
        }
        const complete = text.lastIndexOf('\n') + 1;
        if (complete < text.length) {
          await truncate(this.path, Math.min(offset, st.size) + Buffer.byteLength(text.slice(0, complete)));
          text = text.slice(0, complete);
        }
      }
      this.handle = await open(this.path, 'a', 0o644);
      this.size = (await this.handle.stat()).size;
    } catch (err) {
      throw StorageError.from(err, this.path, 'open manifest');
    }
    return parseLines(text, offset);
  }

  /** The records from byte `offset` to the end (a journal looks for a line it may have written). */
  async readFrom(offset: number): Promise<Array<{ record: ManifestRecord; offset: number }>> {
    await this.tail;
    const fh = await open(this.path, 'r');
    try {
      const length = Math.max(0, this.size - offset);
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, offset);
      return parseLines(buf.toString('utf8'), offset);
    } finally {
      await fh.close();
    }
  }

  /**
   * Appends one record durably; resolves with the byte offset of its line and the manifest's
   * length after it. `written` runs once the line is durable and before the next append
   * starts, so whatever it records follows the manifest's own order.
   */
  append(record: ManifestRecord, written?: (offset: number, length: number) => void): Promise<{ offset: number; length: number }> {
    const line = Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
    const next = this.tail.then(async () => {
      if (!this.handle) throw new StorageError(this.path, undefined, `manifest ${this.path} is not open`);
      try {
        await this.handle.write(line);
        await this.handle.datasync();
      } catch (err) {
        throw StorageError.from(err, this.path, 'append to manifest');
      }
      const offset = this.size;
      this.size += line.length;
      written?.(offset, this.size);
      return { offset, length: this.size };
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.tail;
    await this.handle?.close();
    this.handle = null;
  }
}

function parseLines(text: string, start: number): Array<{ record: ManifestRecord; offset: number }> {
  const out: Array<{ record: ManifestRecord; offset: number }> = [];
  let at = start;
  for (const line of text.split('\n')) {
    const offset = at;
    at += Buffer.byteLength(line) + 1;
    if (!line) continue;
    try {
      out.push({ record: readRecord(line), offset });
    } catch {
      // A corrupt line cannot be repaired; the rest of the manifest still counts.
    }
  }
  return out;
}

/** One line of the manifest as a reader streams it: its byte offset and line number (`seq`, from 1). */
export type ManifestLine = { offset: number; seq: number } & ({ record: ManifestRecord } | { corrupt: string });

/**
 * Every line of `<root>/manifest.jsonl` up to byte `end` (default: its length now), streamed in
 * order without holding the file: a 100 000-line manifest costs the memory of one line. A line
 * that is not JSON is given as `corrupt` (it still has its number). A last line without its
 * newline (being written, or cut by a crash) is not given.
 */
export async function* readManifestLines(root: string, end?: number): AsyncGenerator<ManifestLine> {
  const path = join(root, 'manifest.jsonl');
  const size = end ?? (await stat(path).then((st) => st.size, () => 0));
  if (size === 0) return;
  let offset = 0;
  let seq = 0;
  let pending: Buffer[] = [];
  for await (const chunk of createReadStream(path, { start: 0, end: size - 1, highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
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
        yield { offset: at, seq, record: readRecord(text) };
      } catch {
        yield { offset: at, seq, corrupt: text.slice(0, 200) };
      }
    }
    if (from < chunk.length) pending.push(Buffer.from(chunk.subarray(from)));
  }
}
