import type Database from 'better-sqlite3';
import { nowIso } from '../../clock/clock.js';
import type { WarcLocation } from '../../fetch/exchange.js';
import type { ManifestRecord } from '../manifest.js';
import { stateAfterEvent, UNKNOWN } from './article-states.js';
import { dayOf, searchKey, toEvent, toRecord, type ArticleRow, type EventRow } from './state-rows.js';
import type { ArticleRecord, ArticleUpdate, EventRecord, WorkCursor } from './state-types.js';

/** Articles and their versions: what each one is now, and every manifest line about it. */
export interface ArticleStore {
  get(id: string): ArticleRecord | undefined;
  /** Applies one manifest line (idempotent: its offset is its identity); the state follows `stateAfterEvent`. */
  applyEvent(record: ManifestRecord, offset: number): void;
  /** Writes what a look at an article changed (see ArticleUpdate); adds an article not known yet. */
  update(id: string, url: string, change: ArticleUpdate): void;
  /** Where the WARC files hold the page extraction last read for an article (known or not yet). */
  setWarc(id: string, url: string, at: WarcLocation): void;
  /** Articles the WARC files hold a page of, by day then id, after the cursor (one page of them). */
  warcPage(options: { limit: number; after?: WorkCursor; since?: string; until?: string; ids?: readonly string[] }): ArticleRecord[];
  countWarc(options: { since?: string; until?: string }): number;
  /** An article's events (its versions and removals), oldest first. */
  events(id: string): EventRecord[];
  /** Gives events applied before lines were numbered their `seq` (by their line's offset). */
  numberEvents(lines: Iterable<{ offset: number; seq: number }>): void;
}

/** Columns an ArticleUpdate may set, with the default a new row gets. */
const UPDATABLE = [
  ['state', 'state', UNKNOWN],
  ['attempts', 'attempts', 0],
  ['lastError', 'last_error', null],
  ['reason', 'reason', null],
  ['checkedAt', 'checked_at', null],
  ['nextCheckAt', 'next_check_at', null],
  ['changedAt', 'changed_at', null],
  ['publishedAt', 'published_at', null],
  ['etag', 'etag', null],
  ['lastModified', 'last_modified', null],
  ['missingCount', 'missing_count', 0],
  ['missingAt', 'missing_at', null],
  ['givenUpAt', 'given_up_at', null],
] as const satisfies ReadonlyArray<readonly [keyof ArticleUpdate, string, unknown]>;

export class SqliteArticles implements ArticleStore {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      get: db.prepare<[string], ArticleRow>('SELECT * FROM articles WHERE id = ?'),
      // One statement for every change: a column whose flag is off keeps its value.
      update: db.prepare(
        `INSERT INTO articles (id, url, day, discovered_at, updated_at, ${UPDATABLE.map(([, col]) => col).join(', ')})
         VALUES (@id, @url, @day, @now, @now, ${UPDATABLE.map(([, col]) => `@${col}`).join(', ')})
         ON CONFLICT (id) DO UPDATE SET updated_at = @now,
           ${UPDATABLE.map(([, col]) => `${col} = CASE WHEN @set_${col} THEN @${col} ELSE articles.${col} END`).join(',\n           ')}`,
      ),
      insertEvent: db.prepare(
        `INSERT OR IGNORE INTO events (line_offset, seq, id, event, at, sha256, previous_sha256, bytes, path, modified_time, reason)
         VALUES (@offset, @seq, @id, @event, @at, @sha256, @previous, @bytes, @path, @modified, @reason)`,
      ),
      numberEvent: db.prepare(`UPDATE events SET seq = ? WHERE line_offset = ?`),
      // What a version sets; the state comes from the state machine. A rebuilt version
      // (`reextracted`) says nothing of the site: the 404 count and the removal stay.
      version: db.prepare(
        `INSERT INTO articles (id, url, day, state, sha256, path, title, title_key, captured_at, modified_time, discovered_at, updated_at)
         VALUES (@id, @url, @day, @state, @sha256, @path, @title, @titleKey, @at, @modified, @now, @now)
         ON CONFLICT (id) DO UPDATE SET url = excluded.url, state = excluded.state,
           attempts = 0, last_error = NULL, reason = NULL, given_up_at = NULL,
           sha256 = excluded.sha256, path = excluded.path, title = COALESCE(excluded.title, articles.title),
           title_key = COALESCE(excluded.title_key, articles.title_key),
           captured_at = excluded.captured_at, modified_time = excluded.modified_time,
           missing_count = CASE WHEN @event = 'reextracted' THEN articles.missing_count ELSE 0 END,
           missing_at = CASE WHEN @event = 'reextracted' THEN articles.missing_at ELSE NULL END,
           gone_at = CASE WHEN @event = 'reextracted' THEN articles.gone_at ELSE NULL END,
           updated_at = excluded.updated_at`,
      ),
      superseded: db.prepare(`UPDATE events SET path = @history WHERE id = @id AND sha256 = @previous AND path = @snapshot AND line_offset < @offset`),
      gone: db.prepare(`UPDATE articles SET state = 'gone', gone_at = @at, updated_at = @now WHERE id = @id`),
      events: db.prepare<[string], EventRow>('SELECT * FROM events WHERE id = ? ORDER BY line_offset'),
      warc: db.prepare(
        `INSERT INTO articles (id, url, day, state, archived_file, archived_offset, archived_length, discovered_at, updated_at)
         VALUES (@id, @url, @day, 'pending', @file, @offset, @length, @now, @now)
         ON CONFLICT (id) DO UPDATE SET archived_file = excluded.archived_file, archived_offset = excluded.archived_offset, archived_length = excluded.archived_length`,
      ),
      countWarc: db.prepare<Record<string, unknown>, { n: number }>(`SELECT COUNT(*) AS n FROM articles WHERE archived_file IS NOT NULL AND day BETWEEN @since AND @until`),
      warcPage: db.prepare<Record<string, unknown>, ArticleRow>(
        `SELECT * FROM articles WHERE archived_file IS NOT NULL AND (day, id) > (@afterDay, @afterId) AND day <= @until
         ORDER BY day, id LIMIT @limit`,
      ),
    };
  }

  get(id: string): ArticleRecord | undefined {
    const row = this.s.get.get(id);
    return row ? toRecord(row) : undefined;
  }

  applyEvent(r: ManifestRecord, offset: number): void {
    const now = nowIso();
    this.db.transaction(() => {
      this.s.insertEvent.run({
        offset,
        seq: r.seq,
        id: r.id,
        event: r.event,
        at: r.capturedAt,
        sha256: r.sha256 ?? null,
        previous: r.previousSha256 ?? null,
        bytes: r.bytes ?? null,
        path: r.event === 'gone' ? null : r.path,
        modified: r.modifiedTime ?? null,
        reason: r.reason ?? null,
      });
      if (r.event === 'gone') {
        this.s.gone.run({ id: r.id, at: r.capturedAt, now });
        return;
      }
      const before = this.s.get.get(r.id)?.state ?? UNKNOWN;
      this.s.version.run({
        id: r.id,
        url: r.url,
        day: dayOf(r.url),
        state: stateAfterEvent(before, r.event),
        event: r.event,
        sha256: r.sha256,
        path: r.path,
        title: r.title ?? null,
        titleKey: r.title ? searchKey(r.title) : null,
        at: r.capturedAt,
        modified: r.modifiedTime ?? null,
        now,
      });
      if (r.previousSha256 && r.historyPath) this.s.superseded.run({ id: r.id, previous: r.previousSha256, history: r.historyPath, snapshot: r.path, offset });
    })();
  }

  numberEvents(lines: Iterable<{ offset: number; seq: number }>): void {
    this.db.transaction(() => {
      for (const { offset, seq } of lines) this.s.numberEvent.run(seq, offset);
    })();
  }

  update(id: string, url: string, change: ArticleUpdate): void {
    const params: Record<string, unknown> = { id, url, day: dayOf(url), now: nowIso() };
    for (const [key, col, fallback] of UPDATABLE) {
      const set = change[key] !== undefined;
      params[`set_${col}`] = set ? 1 : 0;
      params[col] = set ? change[key] : fallback;
    }
    this.s.update.run(params);
  }

  setWarc(id: string, url: string, at: WarcLocation): void {
    this.s.warc.run({ id, url, day: dayOf(url), file: at.file, offset: at.offset, length: at.length, now: nowIso() });
  }

  warcPage(options: { limit: number; after?: WorkCursor; since?: string; until?: string; ids?: readonly string[] }): ArticleRecord[] {
    if (options.ids) {
      const wanted = [...options.ids].sort().filter((id) => !options.after || id > options.after.id).slice(0, options.limit);
      return wanted.map((id) => this.get(id)).filter((r): r is ArticleRecord => r?.warc != null);
    }
    // `since` folded into the cursor: the index seek starts there, not at the first day, on every page.
    const after = options.after ?? { day: options.since ?? '', id: '' };
    return this.s.warcPage.all({ limit: options.limit, afterDay: after.day, afterId: after.id, until: options.until ?? '99999999' }).map(toRecord);
  }

  countWarc(options: { since?: string; until?: string }): number {
    return this.s.countWarc.get({ since: options.since ?? '', until: options.until ?? '99999999' })?.n ?? 0;
  }

  events(id: string): EventRecord[] {
    return this.s.events.all(id).map(toEvent);
  }
}
