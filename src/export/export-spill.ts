import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ArchiveRecord } from './archive-records.js';

/**
 * What an export keeps of a record between its two passes over the archive: where it is, not its
 * bytes, but its gzip trailer (CRC32 and ISIZE, the last 8 bytes), so the copy pass can tell that
 * the bytes at that offset are still the same member.
 */
export type SpilledRecord = Omit<ArchiveRecord, 'raw'> & { n: number; trailer: Buffer };

interface RecordRow {
  n: number;
  file: string;
  offset: number;
  length: number;
  type: string;
  url: string;
  date: string;
  record_id: string;
  refers_to: string | null;
  digest: string | null;
  status: number | null;
  mime: string | null;
  trailer: Buffer;
}

/** Writes gathered into one transaction: a commit per row would wait on the disk for each. */
const BATCH = 2000;
const PAGE = 1000;

/**
 * What an export must remember about a whole selection (its URLs, the records found for them,
 * the URLs that got an index line), kept in a temporary SQLite database in the export's staging
 * folder instead of in memory: an export of ten articles and one of the whole archive cost the
 * same memory (SQLite's page cache, 8 MB), and the disk holds the rest. No journal and no sync:
 * the database lives as long as the export, and a crash removes it with the staging folder.
 */
export class ExportSpill {
  private readonly db: Database.Database;
  private pending = 0;
  private readonly s;

  constructor(staging: string) {
    this.db = new Database(join(staging, 'spill.sqlite'));
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.pragma('cache_size = -8000');
    this.db.exec(`
      CREATE TABLE urls (url TEXT PRIMARY KEY, seen INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
      CREATE TABLE records (n INTEGER PRIMARY KEY, file TEXT, offset INTEGER, length INTEGER, type TEXT, url TEXT,
        date TEXT, at INTEGER, record_id TEXT, refers_to TEXT, digest TEXT, status INTEGER, mime TEXT, trailer BLOB);`);
    this.s = {
      addUrl: this.db.prepare('INSERT OR IGNORE INTO urls (url) VALUES (?)'),
      hasUrl: this.db.prepare<[string], { one: number }>('SELECT 1 AS one FROM urls WHERE url = ?').pluck(),
      urlCount: this.db.prepare<[], number>('SELECT count(*) FROM urls').pluck(),
      see: this.db.prepare('UPDATE urls SET seen = 1 WHERE url = ?'),
      seen: this.db.prepare<[string], number>('SELECT seen FROM urls WHERE url = ?').pluck(),
      add: this.db.prepare(`INSERT INTO records (file, offset, length, type, url, date, at, record_id, refers_to, digest, status, mime, trailer)
        VALUES (@file, @offset, @length, @type, @url, @date, @at, @recordId, @refersTo, @payloadDigest, @status, @mime, @trailer)`),
      page: this.db.prepare<[number, number], RecordRow>('SELECT * FROM records WHERE n > ? ORDER BY n LIMIT ?'),
      // By epoch, not by text: '…T12:00:00Z' and '…T12:00:00.5Z' do not sort as times as strings.
      newest: this.db.prepare<[], string>('SELECT date FROM records WHERE at IS NOT NULL ORDER BY at DESC LIMIT 1').pluck(),
      captured: this.db.prepare<[string, number], number>(`SELECT 1 FROM records WHERE url = ? AND at = ? AND type IN ('response', 'revisit') LIMIT 1`).pluck(),
      orphans: this.db.prepare<[], { url: string; refers_to: string }>(
        `SELECT url, refers_to FROM records r WHERE type = 'revisit' AND refers_to IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM records o WHERE o.type = 'response' AND o.record_id = r.refers_to) ORDER BY n`,
      ),
    };
    this.db.exec('CREATE INDEX records_id ON records (record_id); CREATE INDEX records_url ON records (url, at)');
    this.db.exec('BEGIN');
  }

  addUrl(url: string): void {
    this.s.addUrl.run(url);
    this.tick();
  }

  hasUrl(url: string): boolean {
    return this.s.hasUrl.get(url) !== undefined;
  }

  get urls(): number {
    return this.s.urlCount.get() ?? 0;
  }

  addRecord(r: ArchiveRecord): void {
    const { raw, ...row } = r;
    const at = Date.parse(r.date);
    this.s.add.run({ ...row, at: Number.isNaN(at) ? null : at, trailer: raw.subarray(Math.max(0, raw.length - 8)) });
    this.tick();
  }

  /** The records in the order they were added, a page at a time (no statement stays open while the caller writes here). */
  *records(): Generator<SpilledRecord> {
    this.commit();
    for (let after = 0; ; ) {
      const rows = this.s.page.all(after, PAGE);
      if (rows.length === 0) return;
      for (const r of rows) {
        yield { n: r.n, file: r.file, offset: r.offset, length: r.length, type: r.type, url: r.url, date: r.date, recordId: r.record_id, refersTo: r.refers_to, payloadDigest: r.digest, status: r.status, mime: r.mime, trailer: r.trailer };
      }
      after = (rows.at(-1) as RecordRow).n;
    }
  }

  /** The newest WARC-Date of the records kept (UTC ISO), or null when there are none. */
  newest(): string | null {
    this.commit();
    return this.s.newest.get() ?? null;
  }

  /** Revisits whose original response is not among the records. */
  *orphans(): Generator<{ url: string; refersTo: string }> {
    this.commit();
    for (const r of this.s.orphans.iterate()) yield { url: r.url, refersTo: r.refers_to };
  }

  /** Whether a response or revisit of `url` at `date` (any ISO form) is among the records. */
  hasCapture(url: string, date: string): boolean {
    this.commit();
    const at = Date.parse(date);
    return !Number.isNaN(at) && this.s.captured.get(url, at) === 1;
  }

  /** Marks a URL as having a capture in the package's index. */
  see(url: string): void {
    this.s.see.run(url);
    this.tick();
  }

  wasSeen(url: string): boolean {
    this.commit();
    return this.s.seen.get(url) === 1;
  }

  /** A scratch file, never read again: its open batch is dropped, not committed (a commit that fails would hide the export's own error). */
  close(): void {
    this.db.close();
  }

  private tick(): void {
    if (++this.pending >= BATCH) this.commit();
  }

  private commit(): void {
    if (this.pending === 0) return;
    this.pending = 0;
    this.db.exec('COMMIT');
    this.db.exec('BEGIN');
  }
}
