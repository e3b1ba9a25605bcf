import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Article } from '../extract/article.js';
import { StorageError } from './storage-error.js';

export interface StoredSnapshot {
  outcome: 'written' | 'unchanged';
  /** Relative to the storage root, with `/` separators. */
  path: string;
  sha256: string;
  bytes: number;
}

const SAFE_ID = /^\d{1,20}$/;
const SAFE_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Snapshot files under `<storage>/snapshots/YYYY-MM-DD/<id>.txt`, written atomically: a
 * temporary `.<id>.….tmp` in the same folder (never matched by `*.txt`), fsync, rename,
 * fsync of the folder.
 */
export class SnapshotStore {
  constructor(readonly root: string) {}

  /** The snapshot path of an article, built only from its validated id and date. */
  static relativePath(article: Pick<Article, 'id' | 'date'>): string {
    if (!SAFE_ID.test(article.id)) throw new Error(`refusing snapshot path for id ${JSON.stringify(article.id)}: not numeric`);
    if (!SAFE_DATE.test(article.date)) throw new Error(`refusing snapshot path for date ${JSON.stringify(article.date)}`);
    return `snapshots/${article.date}/${article.id}.txt`;
  }

  /** The id and date of a snapshot path this store builds; null for any other path. */
  static parsePath(path: string): { id: string; date: string } | null {
    const m = /^snapshots\/(\d{4}-\d{2}-\d{2})\/(\d{1,20})\.txt$/.exec(path);
    return m ? { date: m[1]!, id: m[2]! } : null;
  }

  /**
   * Saves `text` as the article's snapshot. An identical existing file is left untouched.
   * `previousPath` (from state) is removed when the article moved, so that one article never
   * has two snapshots.
   */
  async save(article: Pick<Article, 'id' | 'date'>, text: string, previousPath?: string | null): Promise<StoredSnapshot> {
    const rel = SnapshotStore.relativePath(article);
    const data = Buffer.from(text, 'utf8');
    const sha256 = createHash('sha256').update(data).digest('hex');
    const finalPath = join(this.root, rel);
    const existing = await readFile(finalPath).catch(() => null);
    let outcome: StoredSnapshot['outcome'] = 'unchanged';
    if (!existing || !existing.equals(data)) {
      await writeFileAtomically(finalPath, data, `.${article.id}`);
      outcome = 'written';
    }
    if (previousPath && previousPath !== rel) await unlink(join(this.root, previousPath)).catch(() => undefined);
    return { outcome, path: rel, sha256, bytes: data.length };
  }
}

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
      writeSync(fd, data);
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
