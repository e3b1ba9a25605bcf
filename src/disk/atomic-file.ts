import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StorageError } from './storage-error.js';

/** Folders this process made or found: a day folder takes one mkdir, not one per snapshot. */
const madeFolders = new Set<string>();

/**
 * Writes `data` to `finalPath` so that no reader ever sees part of it: a temporary
 * `<tmpPrefix>.<pid>.<random>.tmp` in the same folder (never matched by `*.txt` or `*.json`),
 * fsync, rename, fsync of the folder. Creates the folder when needed.
 */
export async function writeFileAtomically(finalPath: string, data: Buffer, tmpPrefix: string): Promise<void> {
  const dir = dirname(finalPath);
  if (!madeFolders.has(dir)) {
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw StorageError.from(err, dir, 'create folder');
    }
    madeFolders.add(dir);
  }
  const tmp = join(dir, `${tmpPrefix}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o644).catch((err: NodeJS.ErrnoException) => {
      // The folder went away under us (removed by hand): make it again, once.
      if (err.code !== 'ENOENT' || !madeFolders.delete(dir)) throw err;
      return mkdir(dir, { recursive: true }).then(() => {
        madeFolders.add(dir);
        return open(tmp, 'wx', 0o644);
      });
    });
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, finalPath);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw StorageError.from(err, finalPath, 'write');
  }
  await fsyncDir(dir);
}

/** The same as writeFileAtomically, synchronously, for small files written before anything else runs (the lock's holder). */
export function writeFileAtomicallySync(finalPath: string, data: Buffer, tmpPrefix: string): void {
  const tmp = join(dirname(finalPath), `${tmpPrefix}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      for (let done = 0; done < data.length; ) {
        const n = writeSync(fd, data, done, data.length - done);
        if (n <= 0) throw Object.assign(new Error(`wrote ${done} of ${data.length} bytes, then nothing`), { code: 'ENOSPC' });
        done += n;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, finalPath);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // Never created, or already renamed.
    }
    throw StorageError.from(err, finalPath, 'write');
  }
}

/** Makes a rename durable: the folder entry itself is flushed. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => null);
  if (!fh) return;
  try {
    await fh.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    await fh.close();
  }
}
