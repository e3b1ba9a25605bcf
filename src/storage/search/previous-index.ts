import { existsSync, renameSync } from 'node:fs';
import Database from 'better-sqlite3';
import { BLOCK_SEPARATOR } from '../../search/search-doc.js';
import { removeIndexFiles } from './search-files.js';

/**
 * The index a rebuild replaces, set aside and read while the new one is built: a version it holds
 * with the same bytes gives its body's block boundaries, which its snapshot file has lost (the
 * archive only holds each article's latest page). Anything wrong with it only means it gives none.
 */
export class PreviousIndex {
  private readonly bodyOf: Database.Statement<[number, string], { body: string }>;

  private constructor(
    private readonly path: string,
    private readonly db: Database.Database,
  ) {
    this.bodyOf = db.prepare('SELECT body FROM docs WHERE seq = ? AND sha256 = ?');
  }

  /**
   * Moves `path` (and its WAL) aside and opens it; null when there is none or it cannot be read.
   * One set aside by a rebuild that never finished is kept instead: `path` is that rebuild's part.
   */
  static setAside(path: string): PreviousIndex | null {
    const aside = `${path}.previous`;
    if (existsSync(aside)) {
      removeIndexFiles(path);
      return PreviousIndex.reopen(path);
    }
    if (!existsSync(path)) return null;
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
    return PreviousIndex.reopen(path);
  }

  /** The index a rebuild that never finished set aside, to go on with; null when there is none. */
  static reopen(path: string): PreviousIndex | null {
    const aside = `${path}.previous`;
    if (!existsSync(aside)) return null;
    try {
      const db = new Database(aside, { fileMustExist: true });
      db.prepare('SELECT body FROM docs LIMIT 1').get();
      return new PreviousIndex(aside, db);
    } catch {
      removeIndexFiles(aside);
      return null;
    }
  }

  /** The blocks of the version at manifest line `seq` with these bytes, when its text is `joined` once they are joined. */
  blocks(seq: number, sha256: string, joined: string): string[] | null {
    try {
      const row = this.bodyOf.get(seq, sha256);
      if (!row) return null;
      const blocks = row.body.split(BLOCK_SEPARATOR);
      return blocks.join('') === joined ? blocks : null;
    } catch {
      return null;
    }
  }

  /** Once the rebuild is complete: it is no longer needed. */
  discard(): void {
    this.db.close();
    removeIndexFiles(this.path);
  }

  /** The rebuild stopped short: kept for the start that goes on with it. */
  close(): void {
    this.db.close();
  }
}
