import { open, readdir, rename, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, inflateRawSync } from 'node:zlib';
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

/**
 * Bytes from the start of the file up to the end of its last whole record: its gzip members
 * walked one by one (each record is one member), each inflated and its trailer checked. Not
 * warcio's parser: skipping a member cut short by a kill, it spins for ever (a start that never
 * ends, found by the kill -9 tests).
 */
async function wholeLength(path: string): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    let whole = 0;
    while (whole < size) {
      const end = await memberEnd(fh, whole, size);
      if (end === null) break;
      whole = end;
    }
    return whole;
  } finally {
    await fh.close();
  }
}

/** First bytes read of a member: most records are far smaller; a larger one is read again, 4× more. */
const FIRST_WINDOW = 64 * 1024;

/** Where the whole gzip member starting at `at` ends; null when it is cut short or not gzip. */
async function memberEnd(fh: FileHandle, at: number, size: number): Promise<number | null> {
  for (let window = FIRST_WINDOW; ; window *= 4) {
    const buf = Buffer.alloc(Math.min(window, size - at));
    await fh.read(buf, 0, buf.length, at);
    const header = gzipHeaderLength(buf);
    if (header === null) return null;
    try {
      // Inflating stops at the end of the member's deflate stream and says how much it read.
      const { engine } = inflateRawSync(buf.subarray(header), { info: true }) as unknown as { engine: { bytesWritten: number } };
      const length = header + engine.bytesWritten + 8;
      if (length <= buf.length) {
        gunzipSync(buf.subarray(0, length)); // its CRC and size
        return at + length;
      }
    } catch {
      // cut short inside this window: the file's end, or only the window's
    }
    if (at + buf.length >= size) return null;
  }
}

/** The length of the gzip header at the start of `buf` (RFC 1952), or null when it is none. */
function gzipHeaderLength(buf: Buffer): number | null {
  if (buf.length < 10 || buf[0] !== 0x1f || buf[1] !== 0x8b || buf[2] !== 8) return null;
  const flags = buf[3] as number;
  let at = 10;
  if (flags & 4) {
    if (buf.length < 12) return null;
    at += 2 + buf.readUInt16LE(10);
  }
  for (const flag of [8, 16]) {
    if (!(flags & flag)) continue;
    const zero = buf.indexOf(0, at);
    if (zero < 0) return null;
    at = zero + 1;
  }
  if (flags & 2) at += 2;
  return at <= buf.length ? at : null;
}
