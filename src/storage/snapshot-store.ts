import { createHash } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Article } from '../extract/article.js';
import { writeFileAtomically } from '../disk/atomic-file.js';

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
