import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MANIFEST_SEQ } from '../state/state-schema.js';

/** How far the search index is behind the manifest, in manifest lines. */
export interface IndexLag {
  /** The last manifest line the index holds (its watermark, INDEXED_SEQ). */
  indexedSeq: number;
  /** The last manifest line state has applied. */
  manifestSeq: number;
  /** Lines the index lacks: results miss what they wrote (0 when it is caught up). */
  behind: number;
}

const STATE_FILE = 'state.sqlite';

/**
 * The manifest's last line as state's `manifest.seq` gives it, read on a read-only connection of
 * its own (one row of `meta`): state applies a manifest line in the same transaction as the
 * index's rows, and every catch-up runs to it, so it is the line the index should be at. The
 * manifest file's tail would need the last line parsed (it may be half written while a crawl
 * appends) and says nothing state has not: a line not yet applied is one no search could hold.
 * When state cannot be read (no state.sqlite beside the index, an older state) the index is
 * taken as caught up: there is nothing to compare it with.
 */
export class IndexLagReader {
  private db: Database.Database | null = null;
  private statement: Database.Statement<[string], { value: string }> | null = null;

  constructor(
    private readonly root: string,
    private readonly indexedSeq: () => number,
  ) {}

  lag(): IndexLag {
    // State first: a line committed between the two reads then errs towards "caught up", never a false lag.
    const manifest = this.manifestSeq();
    const indexedSeq = this.indexedSeq();
    const manifestSeq = Math.max(manifest ?? indexedSeq, indexedSeq);
    return { indexedSeq, manifestSeq, behind: Math.max(0, manifestSeq - indexedSeq) };
  }

  /** state's `manifest.seq`, or null when it cannot be read (the connection is tried again next time). */
  private manifestSeq(): number | null {
    try {
      if (!this.statement) {
        const path = join(this.root, STATE_FILE);
        if (!existsSync(path)) return null;
        this.db = new Database(path, { readonly: true, fileMustExist: true });
        this.db.pragma('busy_timeout = 5000');
        this.statement = this.db.prepare(`SELECT value FROM meta WHERE key = ?`);
      }
      const row = this.statement.get(MANIFEST_SEQ);
      const seq = Number(row?.value ?? '0');
      return Number.isSafeInteger(seq) ? seq : null;
    } catch {
      this.close();
      return null;
    }
  }

  close(): void {
    this.statement = null;
    this.db?.close();
    this.db = null;
  }
}
