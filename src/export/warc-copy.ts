import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { WARCRecord, WARCSerializer } from 'warcio';
import { StagedFile, type StagedPart } from './staged-file.js';

/** Where a copied record landed: its file's name in `archive/`, and its offset there. */
export interface CopiedAt {
  filename: string;
  offset: number;
}

/**
 * New WARC files holding just the records of an export, each record's gzip member copied byte
 * for byte (its headers, digests and record id unchanged, so revisits still name their originals),
 * each file opened by a `warcinfo` record of its own and closed past `maxFileBytes`.
 */
export class WarcCopier {
  private current: StagedFile | null = null;
  private serial = 0;
  private readonly done: StagedPart[] = [];

  constructor(
    private readonly dir: string,
    private readonly o: { prefix: string; stamp: string; date: string; maxFileBytes: number; info: Record<string, string> },
  ) {}

  async append(member: Buffer): Promise<CopiedAt> {
    if (this.current && this.current.size + member.length > this.o.maxFileBytes) await this.closeCurrent();
    const file = this.current ?? (await this.begin());
    const offset = file.size;
    await file.write(member);
    return { filename: file.name.slice('archive/'.length), offset };
  }

  /** The files written, in order. */
  async close(): Promise<StagedPart[]> {
    await this.closeCurrent();
    return this.done;
  }

  private async begin(): Promise<StagedFile> {
    this.serial++;
    const filename = `${this.o.prefix}-export-${this.o.stamp}-${String(this.serial).padStart(5, '0')}.warc.gz`;
    const file = await StagedFile.create(join(this.dir, filename), `archive/${filename}`);
    const info = WARCRecord.createWARCInfo({ filename, date: this.o.date, warcVersion: 'WARC/1.1' }, this.o.info);
    // Its id from its name and time, not random: the same export of the same archive is the same bytes.
    const hex = createHash('sha256').update(`${filename} ${this.o.date}`).digest('hex');
    info.warcHeaders.headers.set('WARC-Record-ID', `<urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}>`);
    await file.write(gzipSync(await WARCSerializer.serialize(info, { gzip: false })));
    this.current = file;
    return file;
  }

  private async closeCurrent(): Promise<void> {
    if (!this.current) return;
    this.done.push(await this.current.close());
    this.current = null;
  }
}
