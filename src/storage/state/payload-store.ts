import type Database from 'better-sqlite3';
import type { ArchivedPayload, PayloadIndex } from '../../warc/warc-writer.js';

/**
 * The last archived payload of each URL, so a response with the same bytes is archived as a
 * `revisit` record (headers only) that refers to it. Kept in state, so it holds across runs.
 */
export interface PayloadStore extends PayloadIndex {
  /**
   * Forgets payloads whose record is not (wholly) in its file any more, as a killed run's torn
   * file is cut back: `sizeOf` gives a file's size, or null when it is gone. Returns how many.
   */
  forgetUnwritten(sizeOf: (file: string) => number | null): number;
}

interface Row {
  digest: string;
  record_id: string;
  date: string;
  file: string;
  offset: number;
  length: number;
}

export class SqlitePayloads implements PayloadStore {
  private readonly select: Database.Statement<[string], Row>;
  private readonly upsert: Database.Statement<[string, string, string, string, string, number, number]>;

  constructor(private readonly db: Database.Database) {
    this.select = db.prepare('SELECT digest, record_id, date, file, offset, length FROM warc_payloads WHERE url = ?');
    this.upsert = db.prepare(
      `INSERT INTO warc_payloads (url, digest, record_id, date, file, offset, length) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (url) DO UPDATE SET digest = excluded.digest, record_id = excluded.record_id, date = excluded.date, file = excluded.file, offset = excluded.offset, length = excluded.length`,
    );
  }

  last(url: string): ArchivedPayload | null {
    const row = this.select.get(url);
    return row ? { digest: row.digest, recordId: row.record_id, date: row.date, at: { file: row.file, offset: row.offset, length: row.length } } : null;
  }

  remember(url: string, p: ArchivedPayload): void {
    this.upsert.run(url, p.digest, p.recordId, p.date, p.at.file, p.at.offset, p.at.length);
  }

  forgetUnwritten(sizeOf: (file: string) => number | null): number {
    const files = this.db.prepare('SELECT file, MAX(offset + length) AS reach FROM warc_payloads GROUP BY file').all() as Array<{ file: string; reach: number }>;
    let forgotten = 0;
    for (const { file, reach } of files) {
      const size = sizeOf(file);
      if (size !== null && reach <= size) continue;
      forgotten += this.db.prepare('DELETE FROM warc_payloads WHERE file = ? AND offset + length > ?').run(file, size ?? -1).changes;
    }
    return forgotten;
  }
}
