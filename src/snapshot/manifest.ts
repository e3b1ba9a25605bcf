import { open, stat, truncate, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError } from './storage-error.js';

/** One line of `manifest.jsonl`: a snapshot that was written. */
export interface ManifestRecord {
  id: string;
  url: string;
  date: string;
  path: string;
  sha256: string;
  bytes: number;
  fetchedAt: string;
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

  /** Opens for appending; drops a partial last line left by a crash. Returns the records from `offset` on. */
  async open(offset = 0): Promise<ManifestRecord[]> {
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
    const records: ManifestRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        records.push(JSON.parse(line) as ManifestRecord);
      } catch {
        // A corrupt line cannot be repaired; the rest of the manifest still counts.
      }
    }
    return records;
  }

  /** Appends one record durably; resolves with the manifest's length after it. */
  append(record: ManifestRecord): Promise<number> {
    const line = Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
    const next = this.tail.then(async () => {
      if (!this.handle) throw new StorageError(this.path, undefined, `manifest ${this.path} is not open`);
      try {
        await this.handle.write(line);
        await this.handle.datasync();
      } catch (err) {
        throw StorageError.from(err, this.path, 'append to manifest');
      }
      this.size += line.length;
      return this.size;
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
