import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { paged } from '../engine/work-loop.js';
import type { ArticleRecord, EventRecord, State } from '../storage/state/state-store.js';
import { parseSnapshot, type SnapshotFields } from '../snapshot/parse.js';

/** One article (or, with --versions, one of its versions) as an export record. */
export interface ExportRecord extends SnapshotFields {
  id: string;
  sha256: string;
  bytes: number;
  capturedAt: string | null;
  modifiedTime: string | null;
  state: 'done' | 'gone';
  /** With --versions: this is the article's current version (false for an earlier one). */
  current?: boolean;
}

export const EXPORT_FIELDS = ['id', 'url', 'date', 'title', 'siteName', 'description', 'image', 'body', 'sha256', 'bytes', 'capturedAt', 'modifiedTime', 'state'] as const;

/** What every export reads, and which articles. */
export interface ExportScope {
  root: string;
  state: State;
  siteName: string;
  /** YYYYMMDD bounds on the article's day. */
  since?: string;
  until?: string;
  /** Only these articles (still within the day bounds, when given). */
  ids?: readonly string[];
  /** Something that could not be read or put in whole: said, and the export goes on. */
  onProblem: (path: string, why: string) => void;
}

export interface ExportOptions extends ExportScope {
  /** Each article's earlier versions too, oldest first, before its current one. */
  versions: boolean;
}

const PAGE = 500;

/**
 * An export's time is its newest capture's, never the clock's (the same archive gives the same
 * bytes); one with no capture still needs a time: the earliest a zip entry can say.
 */
export const EMPTY_PACKAGE_TIME = '1980-01-01T00:00:00.000Z';

/** One article with its versions as records, oldest first, each with the manifest line that made it. */
export interface ArticleExport {
  article: ArticleRecord;
  /** Its versions whose files read back, oldest first; the current one last. */
  versions: Array<{ record: ExportRecord; event: EventRecord | null }>;
  /** Every manifest line about it (versions and removals), oldest first. */
  events: EventRecord[];
}

/** Articles with a current version: a day range a page at a time, or the given ids. */
export function* chosenArticles(state: State, o: { since?: string; until?: string; ids?: readonly string[] }): Generator<ArticleRecord> {
  if (o.ids) {
    for (const id of [...new Set(o.ids)].sort()) {
      const a = state.articles.get(id);
      if (a?.path && a.sha256 && (!o.since || a.day >= o.since) && (!o.until || a.day <= o.until)) yield a;
    }
    return;
  }
  const range = { ...(o.since ? { since: o.since } : {}), ...(o.until ? { until: o.until } : {}) };
  yield* paged<ArticleRecord, { day: string; id: string }>((after) => state.reports.capturedPage({ limit: PAGE, ...range, ...(after ? { after } : {}) }), (r) => ({ day: r.day, id: r.id }));
}

/**
 * Every captured article (in a date range) as records, read from its snapshot file so the export
 * says exactly what the files say: the fields of FORMAT.md, the file's sha256 and bytes, and what
 * state knows of its capture. Streamed: state is read a page at a time and files a few at once,
 * so 100 000 articles cost the memory of a page. Reads only (no lock, no request).
 */
export async function* exportRecords(o: ExportOptions): AsyncGenerator<ExportRecord> {
  for (const article of chosenArticles(o.state, o)) {
    for (const v of articleExport(o, article).versions) yield v.record;
  }
}

/** The articles of the export with every version (the Parquet tables are built from these). */
export function* exportArticles(o: Omit<ExportOptions, 'versions'>): Generator<ArticleExport> {
  for (const article of chosenArticles(o.state, o)) yield articleExport({ ...o, versions: true }, article);
}

/**
 * The records of one article. Its files are read synchronously: a batch of small files read in
 * turn is several times faster than through the thread pool, and the export is all this process does.
 */
function articleExport(o: ExportOptions, a: ArticleRecord): ArticleExport {
  const state: ExportRecord['state'] = a.state === 'gone' ? 'gone' : 'done';
  const events = o.versions ? o.state.articles.events(a.id) : [];
  const versions: ArticleExport['versions'] = [];
  if (o.versions) {
    for (const v of events.filter((e) => e.event !== 'gone' && e.path && e.sha256 && e.path !== a.path)) {
      const record = fromFile(o, v.path as string, { id: a.id, capturedAt: v.at, modifiedTime: v.modifiedTime, state, current: false });
      if (record) versions.push({ record, event: v });
    }
  }
  const current = fromFile(o, a.path as string, { id: a.id, capturedAt: a.capturedAt, modifiedTime: a.modifiedTime, state, ...(o.versions ? { current: true } : {}) });
  const made = events.filter((e) => e.event !== 'gone' && e.path === a.path).at(-1) ?? null;
  if (current) versions.push({ record: current, event: made });
  return { article: a, versions, events };
}

function fromFile(o: ExportOptions, path: string, known: Pick<ExportRecord, 'id' | 'capturedAt' | 'modifiedTime' | 'state' | 'current'>): ExportRecord | null {
  let data: Buffer;
  try {
    data = readFileSync(join(o.root, path));
  } catch (err) {
    o.onProblem(path, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): newsnap verify says more`);
    return null;
  }
  const fields = parseSnapshot(data.toString('utf8'), o.siteName);
  if (!fields) {
    o.onProblem(path, 'is not a snapshot (FORMAT.md v1): newsnap verify says more');
    return null;
  }
  // The documented order: id, url, date, the snapshot's fields, then the file's and state's.
  return {
    id: known.id,
    url: fields.url,
    date: fields.date,
    title: fields.title,
    siteName: fields.siteName,
    description: fields.description,
    image: fields.image,
    body: fields.body,
    sha256: createHash('sha256').update(data).digest('hex'),
    bytes: data.length,
    capturedAt: known.capturedAt,
    modifiedTime: known.modifiedTime,
    state: known.state,
    ...(known.current === undefined ? {} : { current: known.current }),
  };
}

/** A record as a JSON line. */
export function jsonLine(r: ExportRecord): string {
  return `${JSON.stringify(r)}\n`;
}

/** The CSV header (RFC 4180: CRLF line ends). */
export function csvHeader(versions: boolean): string {
  return `${[...EXPORT_FIELDS, ...(versions ? ['current'] : [])].join(',')}\r\n`;
}

/** A record as a CSV row (RFC 4180): a field with a comma, a quote, CR or LF is quoted, its quotes doubled; null is an empty field. */
export function csvRow(r: ExportRecord, versions: boolean): string {
  const values: unknown[] = [...EXPORT_FIELDS.map((f) => r[f]), ...(versions ? [r.current] : [])];
  return `${values.map(csvField).join(',')}\r\n`;
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
