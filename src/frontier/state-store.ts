import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { nowIso } from '../clock/clock.js';
import type { ArchivedAt } from '../fetch/exchange.js';
import type { ManifestRecord } from '../snapshot/manifest.js';
import { ensureSchema } from './state-schema.js';
import { cmp, dayOf, prepareStatements, searchKey, toEvent, toRecord, toRun, type Statements } from './state-statements.js';
import type {
  ArticleRecord,
  ArticleState,
  CheckRecord,
  DayCount,
  ErrorCount,
  RecentEvent,
  DiscoveredRef,
  DueCursor,
  EventRecord,
  RunRecord,
  SourceValidators,
  WorkCursor,
} from './state-types.js';

export type * from './state-types.js';

/**
 * What a crawl remembers between runs. The default is SQLite in WAL mode: embedded (no server
 * to run beside a cron job), transactional (a kill -9 loses no committed state), and it pages
 * through 100 000 ids without holding them in memory. A shared store (Redis) for cooperating
 * workers implements the same interface.
 */
export interface StateStore {
  /**
   * Records discovered articles: new ids as pending. With `listing` (a month sitemap being read),
   * marks each as listed in that month, and a `<lastmod>` that moved past an article's last
   * capture makes it due at once. Returns how many ids were new.
   */
  addDiscovered(refs: Iterable<DiscoveredRef>, listing?: { month: string; generation: number }): number;
  /** A fresh generation number for one complete read of a month sitemap. */
  nextGeneration(): number;
  /** Captured articles a month sitemap listed before but not in `generation`: due at once. Returns how many. */
  markUnlisted(month: string, generation: number): number;
  get(id: string): ArticleRecord | undefined;
  /** Pending articles and failed ones with fewer than `maxFailedRuns` failed runs, newest day first, after the cursor. */
  work(options: { limit: number; maxFailedRuns: number; after?: WorkCursor; since?: string; until?: string }): ArticleRecord[];
  countWork(options: { maxFailedRuns: number; since?: string; until?: string }): number;
  /** Captured or gone articles due for a check at `now`, the longest due first, after the cursor. */
  due(options: { now: string; limit: number; after?: DueCursor; since?: string; until?: string }): ArticleRecord[];
  countDue(options: { now: string; since?: string; until?: string }): number;
  /** Applies one manifest line (idempotent: its offset is its identity). */
  applyEvent(record: ManifestRecord, offset: number): void;
  /** What a check of a captured article found: its schedule, validators and 404 count. */
  recordCheck(id: string, check: CheckRecord & { publishedAt?: string | null }): void;
  /** Where the archive holds the page extraction last read for an article (known or not yet). */
  setArchived(id: string, url: string, at: ArchivedAt): void;
  /** Articles the archive holds a page of, by day then id, after the cursor (one page of them). */
  archivedPage(options: { limit: number; after?: WorkCursor; since?: string; until?: string; ids?: readonly string[] }): ArticleRecord[];
  countArchived(options: { since?: string; until?: string }): number;
  markFailed(id: string, url: string, error: string): void;
  markSkipped(id: string, url: string, reason: string): void;
  /** A new article the site did not serve (a block page): pending still, with why. */
  markBlocked(id: string, url: string, reason: string): void;
  /** An article's events (its versions and removals), oldest first. */
  events(id: string): EventRecord[];
  /** Events per local day (`utcOffsetMs` from UTC: the site's) from `since` (UTC ISO) on. */
  eventsPerDay(since: string, utcOffsetMs: number): DayCount[];
  /** The newest events of these kinds, with their articles. */
  recentEvents(kinds: ReadonlyArray<EventRecord['event']>, limit: number): RecentEvent[];
  /** Articles whose last check or attempt went wrong since `since`, by error text. */
  recentErrors(since: string): ErrorCount[];
  /** Articles by id, or by words of their title (any case, Turkish letters folded as Turkish does). */
  search(query: string, limit: number): ArticleRecord[];
  validators(source: string): SourceValidators | undefined;
  saveValidators(source: string, validators: SourceValidators): void;
  beginRun(kind: string): number;
  endRun(id: number, status: string, summary: unknown): void;
  /** Runs started but never ended (the process died). */
  unfinishedRuns(): RunRecord[];
  recentRuns(limit: number): RunRecord[];
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  countByState(): Record<ArticleState, number>;
  close(): void;
}

const GENERATION = 'sitemap.generation';

export class SqliteStateStore implements StateStore {
  private readonly db: Database.Database;
  private readonly stmts: Statements;
  /** True when opening migrated a store written by an earlier newsnap. */
  readonly migrated: boolean;

  constructor(storageDir: string, options: { readonly?: boolean } = {}) {
    if (!options.readonly) mkdirSync(storageDir, { recursive: true });
    this.db = new Database(join(storageDir, 'state.sqlite'), options.readonly ? { readonly: true, fileMustExist: true } : {});
    this.db.pragma('busy_timeout = 5000');
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode survives a killed process; only a power cut may drop the last commits.
      this.db.pragma('synchronous = NORMAL');
    }
    this.migrated = options.readonly ? false : ensureSchema(this.db);
    this.stmts = prepareStatements(this.db);
  }

  addDiscovered(refs: Iterable<DiscoveredRef>, listing?: { month: string; generation: number }): number {
    const now = nowIso();
    let added = 0;
    this.db.transaction(() => {
      for (const ref of refs) {
        if (!listing) {
          added += this.stmts.insert.run(ref.id, ref.url, ref.day, now, now).changes;
          continue;
        }
        const known = this.stmts.get.get(ref.id) !== undefined;
        this.stmts.listed.run({ id: ref.id, url: ref.url, day: ref.day, now, lastmod: ref.lastmod ?? null, month: listing.month, gen: listing.generation });
        if (!known) added++;
      }
    })();
    return added;
  }

  nextGeneration(): number {
    const next = Number(this.getMeta(GENERATION) ?? '0') + 1;
    this.setMeta(GENERATION, String(next));
    return next;
  }

  markUnlisted(month: string, generation: number): number {
    const params = { month, gen: generation, now: nowIso() };
    return this.db.transaction(() => {
      const n = this.stmts.unlistedDone.get(params)?.n ?? 0;
      this.stmts.unlisted.run(params);
      return n;
    })();
  }

  get(id: string): ArticleRecord | undefined {
    const row = this.stmts.get.get(id);
    return row ? toRecord(row) : undefined;
  }

  work(options: { limit: number; maxFailedRuns: number; after?: WorkCursor; since?: string; until?: string }): ArticleRecord[] {
    // One query per state, each a seek into the (state, day, id) index that walks it in order:
    // an OR of the two states would sort every matching row on every page. `until` is folded
    // into the cursor so the row-value bound is the index's starting point.
    const start = options.after ?? { day: options.until ?? '99999999', id: '~' };
    const params = {
      maxFailedRuns: options.maxFailedRuns,
      since: options.since ?? '',
      afterDay: start.day,
      afterId: start.id,
      limit: options.limit,
    };
    const pending = this.stmts.workPending.all(params);
    const failed = this.stmts.workFailed.all(params);
    const merged = failed.length === 0 ? pending : [...pending, ...failed].sort((a, b) => (a.day === b.day ? cmp(b.id, a.id) : cmp(b.day, a.day)));
    return merged.slice(0, options.limit).map(toRecord);
  }

  countWork(options: { maxFailedRuns: number; since?: string; until?: string }): number {
    const where = [`(state = 'pending' OR (state = 'failed' AND attempts < @maxFailedRuns))`];
    if (options.since) where.push('day >= @since');
    if (options.until) where.push('day <= @until');
    const row = this.db
      .prepare<Record<string, unknown>, { n: number }>(`SELECT COUNT(*) AS n FROM articles WHERE ${where.join(' AND ')}`)
      .get({ maxFailedRuns: options.maxFailedRuns, since: options.since ?? null, until: options.until ?? null });
    return row?.n ?? 0;
  }

  due(options: { now: string; limit: number; after?: DueCursor; since?: string; until?: string }): ArticleRecord[] {
    return this.stmts.due
      .all({ now: options.now, limit: options.limit, afterAt: options.after?.at ?? '', afterId: options.after?.id ?? '', since: options.since ?? '', until: options.until ?? '99999999' })
      .map(toRecord);
  }

  countDue(options: { now: string; since?: string; until?: string }): number {
    return this.stmts.countDue.get({ now: options.now, since: options.since ?? '', until: options.until ?? '99999999' })?.n ?? 0;
  }

  applyEvent(r: ManifestRecord, offset: number): void {
    const now = nowIso();
    this.db.transaction(() => {
      this.stmts.insertEvent.run({
        offset,
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
        this.stmts.gone.run({ id: r.id, at: r.capturedAt, now });
        return;
      }
      this.stmts.version.run({
        id: r.id,
        url: r.url,
        day: dayOf(r.url),
        event: r.event,
        sha256: r.sha256,
        path: r.path,
        title: r.title ?? null,
        titleKey: r.title ? searchKey(r.title) : null,
        at: r.capturedAt,
        modified: r.modifiedTime ?? null,
        now,
      });
      if (r.previousSha256 && r.historyPath) this.stmts.superseded.run({ id: r.id, previous: r.previousSha256, history: r.historyPath, snapshot: r.path, offset });
    })();
  }

  recordCheck(id: string, c: CheckRecord & { publishedAt?: string | null }): void {
    this.stmts.check.run({
      id,
      checkedAt: c.checkedAt,
      nextCheckAt: c.nextCheckAt,
      changedAt: c.changedAt ?? null,
      publishedAt: c.publishedAt ?? null,
      setValidators: c.etag !== undefined || c.lastModified !== undefined ? 1 : 0,
      etag: c.etag ?? null,
      lastModified: c.lastModified ?? null,
      setMissing: c.missingCount !== undefined ? 1 : 0,
      missingCount: c.missingCount ?? 0,
      missingAt: c.missingAt ?? null,
      lastError: c.lastError ?? null,
      now: nowIso(),
    });
  }

  setArchived(id: string, url: string, at: ArchivedAt): void {
    this.stmts.archived.run({ id, url, day: dayOf(url), file: at.file, offset: at.offset, length: at.length, now: nowIso() });
  }

  archivedPage(options: { limit: number; after?: WorkCursor; since?: string; until?: string; ids?: readonly string[] }): ArticleRecord[] {
    if (options.ids) {
      const wanted = [...options.ids].sort().filter((id) => !options.after || id > options.after.id).slice(0, options.limit);
      return wanted.map((id) => this.get(id)).filter((r): r is ArticleRecord => r?.archived != null);
    }
    return this.stmts.archivedPage
      .all({ limit: options.limit, afterDay: options.after?.day ?? '', afterId: options.after?.id ?? '', since: options.since ?? '', until: options.until ?? '99999999' })
      .map(toRecord);
  }

  countArchived(options: { since?: string; until?: string }): number {
    return this.stmts.countArchived.get({ since: options.since ?? '', until: options.until ?? '99999999' })?.n ?? 0;
  }

  markFailed(id: string, url: string, error: string): void {
    this.setState({ id, url, state: 'failed', last_error: error });
  }

  markSkipped(id: string, url: string, reason: string): void {
    this.setState({ id, url, state: 'skipped', reason });
  }

  markBlocked(id: string, url: string, reason: string): void {
    this.setState({ id, url, state: 'pending', last_error: `blocked: ${reason}` });
  }

  events(id: string): EventRecord[] {
    return this.stmts.events.all(id).map(toEvent);
  }

  eventsPerDay(since: string, utcOffsetMs: number): DayCount[] {
    return this.stmts.perDay.all(`${utcOffsetMs >= 0 ? '+' : '-'}${Math.abs(utcOffsetMs) / 1000} seconds`, since);
  }

  recentEvents(kinds: ReadonlyArray<EventRecord['event']>, limit: number): RecentEvent[] {
    // One seek per kind into (event, line_offset), newest first; merged here.
    const rows = kinds.flatMap((kind) => this.stmts.recentOfKind.all(kind, limit));
    return rows
      .sort((a, b) => b.line_offset - a.line_offset)
      .slice(0, limit)
      .map((e) => ({ ...toEvent(e), url: e.url, title: e.title }));
  }

  recentErrors(since: string): ErrorCount[] {
    return this.stmts.errors.all(since);
  }

  search(query: string, limit: number): ArticleRecord[] {
    const q = query.trim();
    if (/^\d{1,20}$/.test(q)) {
      const one = this.get(q);
      return one ? [one] : [];
    }
    const words = searchKey(q).split(/\s+/).filter(Boolean);
    if (words.length === 0) return [];
    // The longest word narrows the scan; every word must be there.
    const longest = [...words].sort((a, b) => b.length - a.length)[0] as string;
    const like = `%${longest.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    return this.stmts.byTitle
      .all(like, limit * 20)
      .filter((row) => words.every((w) => (row.title_key ?? '').includes(w)))
      .slice(0, limit)
      .map(toRecord);
  }

  validators(source: string): SourceValidators | undefined {
    const row = this.stmts.getSource.get(source);
    return row ? { etag: row.etag, lastModified: row.last_modified, body: row.body } : undefined;
  }

  saveValidators(source: string, v: SourceValidators): void {
    this.stmts.putSource.run(source, v.etag, v.lastModified, v.body, nowIso());
  }

  beginRun(kind: string): number {
    return Number(this.stmts.beginRun.run(kind, nowIso()).lastInsertRowid);
  }

  endRun(id: number, status: string, summary: unknown): void {
    this.stmts.endRun.run(nowIso(), status, JSON.stringify(summary), id);
  }

  unfinishedRuns(): RunRecord[] {
    return this.stmts.unfinished.all().map(toRun);
  }

  recentRuns(limit: number): RunRecord[] {
    return this.stmts.recent.all(limit).map(toRun);
  }

  getMeta(key: string): string | undefined {
    return this.stmts.getMeta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.stmts.setMeta.run(key, value);
  }

  countByState(): Record<ArticleState, number> {
    const out: Record<ArticleState, number> = { pending: 0, done: 0, failed: 0, skipped: 0, gone: 0 };
    for (const row of this.stmts.counts.all()) out[row.state] = row.n;
    return out;
  }

  close(): void {
    this.db.close();
  }

  private setState(change: { id: string; url: string; state: ArticleState; last_error?: string; reason?: string }): void {
    this.stmts.upsertState.run({
      id: change.id,
      url: change.url,
      day: dayOf(change.url),
      state: change.state,
      attempts: change.state === 'failed' ? 1 : 0,
      last_error: change.last_error ?? null,
      reason: change.reason ?? null,
      now: nowIso(),
    });
  }
}
