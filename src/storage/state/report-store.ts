import type Database from 'better-sqlite3';
import { ARTICLE_STATES } from './article-states.js';
import { searchKey, toEvent, toRecord, type ArticleRow, type EventRow } from './state-rows.js';
import type { WarcLocation } from '../../fetch/exchange.js';
import type { ArticleRecord, ArticleState, DayCount, ErrorCount, EventRecord, RecentEvent } from './state-types.js';

/** An article's current version as state records it, and where its page lies in the WARC files. */
export interface CurrentVersion {
  id: string;
  url: string;
  day: string;
  sha256: string;
  path: string;
  warc: WarcLocation | null;
}

/** What the status pages, `/status` and the metrics report: counts, recent events and errors, search. */
export interface ReportStore {
  countByState(): Record<ArticleState, number>;
  /** Failed articles that used up their runs (retried only on the slow schedule). */
  countNeedingAttention(maxFailedRuns: number): number;
  /** Events per local day (`utcOffsetMs` from UTC: the site's) from `since` (UTC ISO) on. */
  eventsPerDay(since: string, utcOffsetMs: number): DayCount[];
  /** The newest events of these kinds, with their articles. */
  recentEvents(kinds: ReadonlyArray<EventRecord['event']>, limit: number): RecentEvent[];
  /** Articles whose last check or attempt went wrong since `since`, by error text. */
  recentErrors(since: string): ErrorCount[];
  /** Articles by id, or by words of their title (any case, Turkish letters folded as Turkish does). */
  search(query: string, limit: number): ArticleRecord[];
  /** The manifest line at this byte offset, as state applied it. */
  eventAt(offset: number): EventRecord | undefined;
  /** The byte offset of the manifest line numbered `seq`, when state applied it. */
  offsetOfSeq(seq: number): number | undefined;
  /** The `seq` of the last manifest line state applied (0 for none). */
  lastSeq(): number;
  /** Every article with a current version (streamed, by id), optionally of days in a range. */
  currentVersions(range?: { since?: string; until?: string }): Iterable<CurrentVersion>;
  /** Articles with a current version, by day then id, after the cursor: one page of them. */
  capturedPage(o: { limit: number; after?: { day: string; id: string }; since?: string; until?: string }): ArticleRecord[];
  /** Articles whose latest page lies in this WARC file, by offset (streamed). */
  warcPointers(file: string): Iterable<{ id: string; url: string; offset: number; length: number }>;
  /** The WARC files state points into. */
  warcFilesReferenced(): string[];
  /**
   * Articles published since `since` (UTC ISO, by their `article:published_time`) and captured:
   * seconds from publication to the first capture, ascending.
   */
  captureLags(since: string): number[];
}

export class SqliteReports implements ReportStore {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      get: db.prepare<[string], ArticleRow>('SELECT * FROM articles WHERE id = ?'),
      counts: db.prepare<[], { state: ArticleState; n: number }>('SELECT state, COUNT(*) AS n FROM articles GROUP BY state'),
      attention: db.prepare<[number], { n: number }>(`SELECT COUNT(*) AS n FROM articles WHERE state = 'failed' AND attempts >= ?`),
      recentOfKind: db.prepare<[string, number], EventRow & { url: string; title: string | null }>(
        `SELECT e.*, a.url, a.title FROM events e JOIN articles a ON a.id = e.id WHERE e.event = ? ORDER BY e.line_offset DESC LIMIT ?`,
      ),
      perDay: db.prepare<[string, string], { day: string; event: EventRow['event']; count: number }>(
        `SELECT date(at, ?) AS day, event, COUNT(*) AS count FROM events WHERE at >= ? GROUP BY day, event ORDER BY day`,
      ),
      errors: db.prepare<[string], { error: string; state: ArticleState; count: number; lastAt: string }>(
        `SELECT last_error AS error, state, COUNT(*) AS count, MAX(updated_at) AS lastAt FROM articles
         WHERE last_error IS NOT NULL AND updated_at >= ? GROUP BY last_error, state ORDER BY count DESC LIMIT 500`,
      ),
      byTitle: db.prepare<[string, number], ArticleRow>(`SELECT * FROM articles WHERE title_key LIKE ? ESCAPE '\\' ORDER BY day DESC, id DESC LIMIT ?`),
      eventAt: db.prepare<[number], EventRow>('SELECT * FROM events WHERE line_offset = ?'),
      capturedPage: db.prepare<Record<string, unknown>, ArticleRow>(
        `SELECT * FROM articles WHERE sha256 IS NOT NULL AND path IS NOT NULL AND (day, id) > (@afterDay, @afterId) AND day <= @until
         ORDER BY day, id LIMIT @limit`,
      ),
      offsetOfSeq: db.prepare<[number], { line_offset: number }>('SELECT line_offset FROM events WHERE seq = ?'),
      // `+e.event`: the article's own events by events_article (id, …), not every `new` event of
      // the store by events_kind for each article (seconds on a large store, on the engine's thread).
      captureLags: db.prepare<[string], { lag: number }>(
        `SELECT lag FROM (
           SELECT (julianday((SELECT MIN(e.at) FROM events e WHERE e.id = a.id AND +e.event = 'new')) - julianday(a.published_at)) * 86400 AS lag
           FROM articles a WHERE a.published_at >= ?
         ) WHERE lag IS NOT NULL ORDER BY lag`,
      ),
      lastSeq: db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM events'),
      current: db.prepare<[string, string], { id: string; url: string; day: string; sha256: string; path: string; archived_file: string | null; archived_offset: number | null; archived_length: number | null }>(
        `SELECT id, url, day, sha256, path, archived_file, archived_offset, archived_length FROM articles WHERE sha256 IS NOT NULL AND path IS NOT NULL AND day BETWEEN ? AND ? ORDER BY id`,
      ),
      pointers: db.prepare<[string], { id: string; url: string; offset: number; length: number }>(
        `SELECT id, url, archived_offset AS offset, archived_length AS length FROM articles WHERE archived_file = ? ORDER BY archived_offset`,
      ),
      files: db.prepare<[], { file: string }>(`SELECT DISTINCT archived_file AS file FROM articles WHERE archived_file IS NOT NULL`),
    };
  }

  countByState(): Record<ArticleState, number> {
    const out = Object.fromEntries(ARTICLE_STATES.map((s) => [s, 0])) as Record<ArticleState, number>;
    for (const row of this.s.counts.all()) out[row.state] = row.n;
    return out;
  }

  countNeedingAttention(maxFailedRuns: number): number {
    return this.s.attention.get(maxFailedRuns)?.n ?? 0;
  }

  eventsPerDay(since: string, utcOffsetMs: number): DayCount[] {
    return this.s.perDay.all(`${utcOffsetMs >= 0 ? '+' : '-'}${Math.abs(utcOffsetMs) / 1000} seconds`, since);
  }

  recentEvents(kinds: ReadonlyArray<EventRecord['event']>, limit: number): RecentEvent[] {
    // One seek per kind into (event, line_offset), newest first; merged here.
    const rows = kinds.flatMap((kind) => this.s.recentOfKind.all(kind, limit));
    return rows
      .sort((a, b) => b.line_offset - a.line_offset)
      .slice(0, limit)
      .map((e) => ({ ...toEvent(e), url: e.url, title: e.title }));
  }

  recentErrors(since: string): ErrorCount[] {
    return this.s.errors.all(since);
  }

  eventAt(offset: number): EventRecord | undefined {
    const row = this.s.eventAt.get(offset);
    return row ? toEvent(row) : undefined;
  }

  capturedPage(o: { limit: number; after?: { day: string; id: string }; since?: string; until?: string }): ArticleRecord[] {
    // `since` is folded into the cursor: the row-value bound is then where the index seek starts
    // (a separate `day >= since` would make every page seek from the first day).
    const after = o.after ?? { day: o.since ?? '', id: '' };
    return this.s.capturedPage.all({ limit: o.limit, afterDay: after.day, afterId: after.id, until: o.until ?? '99999999' }).map(toRecord);
  }

  offsetOfSeq(seq: number): number | undefined {
    return this.s.offsetOfSeq.get(seq)?.line_offset;
  }

  lastSeq(): number {
    return this.s.lastSeq.get()?.seq ?? 0;
  }

  *currentVersions(range: { since?: string; until?: string } = {}): Iterable<CurrentVersion> {
    for (const r of this.s.current.iterate(range.since ?? '', range.until ?? '99999999')) {
      yield { id: r.id, url: r.url, day: r.day, sha256: r.sha256, path: r.path, warc: r.archived_file ? { file: r.archived_file, offset: r.archived_offset ?? 0, length: r.archived_length ?? 0 } : null };
    }
  }

  warcPointers(file: string): Iterable<{ id: string; url: string; offset: number; length: number }> {
    return this.s.pointers.iterate(file);
  }

  warcFilesReferenced(): string[] {
    return this.s.files.all().map((r) => r.file);
  }

  search(query: string, limit: number): ArticleRecord[] {
    const q = query.trim();
    if (/^\d{1,20}$/.test(q)) {
      const one = this.s.get.get(q);
      return one ? [toRecord(one)] : [];
    }
    const words = searchKey(q).split(/\s+/).filter(Boolean);
    if (words.length === 0) return [];
    // The longest word narrows the scan; every word must be there.
    const longest = [...words].sort((a, b) => b.length - a.length)[0] as string;
    const like = `%${longest.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.s.byTitle
      .all(like, limit * 20)
      .filter((row) => words.every((w) => (row.title_key ?? '').includes(w)))
      .slice(0, limit)
      .map(toRecord);
  }

  captureLags(since: string): number[] {
    return this.s.captureLags.all(since).map((r) => Math.max(0, r.lag));
  }
}
