import { createHash } from 'node:crypto';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** A file written, hashed and counted as it goes: what a WACZ's datapackage lists of each part. */
export interface StagedPart {
  /** Its path on disk. */
  path: string;
  /** Its path inside the package (`archive/…`, `indexes/…`). */
  name: string;
  bytes: number;
  /** `sha256:<hex>` of its bytes. */
  hash: string;
}

const CHUNK = 1024 * 1024;

/** Appends in chunks of a megabyte (a write per record would wait on the disk for each). */
export class StagedFile {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly sha = createHash('sha256');
  private written = 0;

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    readonly name: string,
  ) {}

  static async create(path: string, name: string): Promise<StagedFile> {
    await mkdir(dirname(path), { recursive: true });
    return new StagedFile(await open(path, 'wx'), path, name);
  }

  /** Bytes written so far (the offset the next write lands at). */
  get size(): number {
    return this.written;
  }

  async write(data: Buffer | string): Promise<void> {
    const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    this.sha.update(b);
    this.written += b.length;
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.pendingBytes >= CHUNK) await this.flush();
  }

  async close(): Promise<StagedPart> {
    await this.flush();
    await this.handle.close();
    return { path: this.path, name: this.name, bytes: this.written, hash: `sha256:${this.sha.digest('hex')}` };
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const chunk = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.handle.write(chunk);
  }
}
