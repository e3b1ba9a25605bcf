import type { ArticleRecord, ArticleState, EventRecord, RunRecord } from './state-types.js';

/** Rows as SQLite gives them, turned into the records the rest of newsnap reads. */

export interface ArticleRow {
  id: string;
  url: string;
  day: string;
  state: ArticleState;
  attempts: number;
  last_error: string | null;
  reason: string | null;
  sha256: string | null;
  path: string | null;
  title: string | null;
  title_key: string | null;
  captured_at: string | null;
  published_at: string | null;
  modified_time: string | null;
  changed_at: string | null;
  checked_at: string | null;
  next_check_at: string | null;
  etag: string | null;
  last_modified: string | null;
  missing_count: number;
  missing_at: string | null;
  gone_at: string | null;
  lastmod: string | null;
  archived_file: string | null;
  archived_offset: number | null;
  archived_length: number | null;
  given_up_at: string | null;
}

export interface EventRow {
  line_offset: number;
  seq: number | null;
  id: string;
  event: EventRecord['event'];
  at: string;
  sha256: string | null;
  previous_sha256: string | null;
  bytes: number | null;
  path: string | null;
  modified_time: string | null;
  reason: string | null;
}

export interface RunRow {
  id: number;
  kind: string;
  started_at: string;
  finished_at: string | null;
  status: string | null;
  summary: string | null;
}

export function toEvent(e: EventRow): EventRecord {
  return {
    offset: e.line_offset,
    seq: e.seq ?? 0,
    id: e.id,
    event: e.event,
    at: e.at,
    sha256: e.sha256,
    previousSha256: e.previous_sha256,
    bytes: e.bytes,
    path: e.path,
    modifiedTime: e.modified_time,
    reason: e.reason,
  };
}

/** Titles are searched in lower case as Turkish writes it (İ → i, I → ı), so any spelling finds them. */
export function searchKey(text: string): string {
  return text.toLocaleLowerCase('tr');
}

export function dayOf(url: string): string {
  return /\/(\d{8})\//.exec(url)?.[1] ?? '';
}

export function toRecord(row: ArticleRow): ArticleRecord {
  return {
    id: row.id,
    url: row.url,
    day: row.day,
    state: row.state,
    attempts: row.attempts,
    lastError: row.last_error,
    reason: row.reason,
    sha256: row.sha256,
    path: row.path,
    title: row.title,
    capturedAt: row.captured_at,
    modifiedTime: row.modified_time,
    publishedAt: row.published_at,
    changedAt: row.changed_at,
    checkedAt: row.checked_at,
    nextCheckAt: row.next_check_at,
    etag: row.etag,
    lastModified: row.last_modified,
    missingCount: row.missing_count,
    missingAt: row.missing_at,
    goneAt: row.gone_at,
    givenUpAt: row.given_up_at,
    lastmod: row.lastmod,
    warc: row.archived_file ? { file: row.archived_file, offset: row.archived_offset ?? 0, length: row.archived_length ?? 0 } : null,
  };
}

export function toRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    kind: row.kind,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    status: row.status,
    summary: row.summary ? JSON.parse(row.summary) : null,
  };
}
