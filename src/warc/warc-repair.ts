import { createReadStream } from 'node:fs';
import { open, readdir, rename, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { WARCParser } from 'warcio';
import { fsyncDir } from '../disk/atomic-file.js';
import { StorageError } from '../disk/storage-error.js';

/**
 * Closes the files a killed run left `.open`. A kill -9 may tear the last record; everything
 * before it is whole. Each record's gzip member is checked (a torn one has no trailer), the file
 * is truncated after the last whole record and renamed to its final name. A file without one
 * whole record (killed before its `warcinfo` was written) holds nothing and is removed.
 * Returns the names of the files it closed.
 */
export async function repairOpenFiles(dir: string): Promise<string[]> {
  const closed: string[] = [];
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.warc.gz.open')) continue;
    const path = join(dir, name);
    try {
      const whole = await wholeLength(path);
      const final = join(dir, name.slice(0, -'.open'.length));
      if (whole === 0) {
        await unlink(path);
        continue;
      }
      await truncate(path, whole);
      const fh = await open(path, 'r+');
      await fh.sync();
      await fh.close();
      await rename(path, final);
      closed.push(final);
    } catch (err) {
      throw StorageError.from(err, path, 'repair WARC file');
    }
  }
  if (closed.length > 0) await fsyncDir(dir);
  return closed;
}

/** Bytes from the start of the file up to the end of its last whole record. */
async function wholeLength(path: string): Promise<number> {
  const fh = await open(path, 'r');
  let whole = 0;
  try {
    const parser = new WARCParser(createReadStream(path));
    try {
      for await (const record of parser) {
        await record.skipFully();
        const end = parser.offset + parser.recordLength;
        const member = Buffer.alloc(end - parser.offset);
        await fh.read(member, 0, member.length, parser.offset);
        gunzipSync(member);
        whole = end;
      }
    } catch {
      // A torn member (no gzip trailer) or garbage after the last whole record: stop there.
    }
  } finally {
    await fh.close();
  }
  return whole;
}
