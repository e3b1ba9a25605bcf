import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { archiveFiles, archiveRecords, type ArchiveFile } from './archive-records.js';
import { surtOf } from './cdxj.js';
import { datasetCard } from './dataset-card.js';
import { editStats } from './edit-stats.js';
import { chosenArticles, EMPTY_PACKAGE_TIME, exportArticles, type ArticleExport, type ExportScope } from './export.js';
import { ExportSpill } from './export-spill.js';
import { ParquetTable, type Column } from './parquet-table.js';

export const ARTICLE_COLUMNS: readonly Column[] = [
  { name: 'id', kind: 'string', required: true, doc: "the site's article id (the number at the end of its URL)" },
  { name: 'url', kind: 'string', required: true, doc: 'the article URL on the site' },
  { name: 'published', kind: 'timestamp', doc: 'publication time, as the page gave it (article:published_time)' },
  { name: 'first_seen', kind: 'timestamp', doc: 'when newsnap first captured it' },
  { name: 'last_seen', kind: 'timestamp', doc: 'when newsnap last looked at the page' },
  { name: 'removed_at', kind: 'timestamp', doc: 'when newsnap found it gone from the site (410, or 404 for days); null while it is there' },
  { name: 'state', kind: 'string', required: true, repeats: true, doc: '`done` (on the site) or `gone`' },
  { name: 'versions', kind: 'int32', required: true, doc: 'how many versions newsnap holds (rows of versions.parquet)' },
  { name: 'title', kind: 'string', required: true, doc: 'headline of the current version' },
  { name: 'description', kind: 'string', doc: 'the summary under the headline (null when the page has none)' },
  { name: 'image', kind: 'string', doc: 'URL of the lead image (null when none)' },
  { name: 'body', kind: 'string', required: true, doc: 'text of the current version, paragraphs separated by blank lines' },
];

export const VERSION_COLUMNS: readonly Column[] = [
  { name: 'id', kind: 'string', required: true, doc: 'the article id (joins articles.id)' },
  { name: 'version', kind: 'int32', required: true, doc: '1 for the first capture, then 2, 3, … in order' },
  { name: 'captured_at', kind: 'timestamp', required: true, doc: 'when this version was captured' },
  { name: 'event', kind: 'string', repeats: true, doc: 'the manifest event that made it: new, updated, restored or reextracted' },
  { name: 'title', kind: 'string', required: true, doc: 'headline of this version' },
  { name: 'description', kind: 'string', doc: 'summary of this version' },
  { name: 'body', kind: 'string', required: true, doc: 'text of this version' },
  { name: 'chars_added', kind: 'int32', doc: 'characters inserted into the body since the previous version (word-level diff); null for version 1' },
  { name: 'chars_removed', kind: 'int32', doc: 'characters taken out of the body since the previous version; null for version 1' },
  { name: 'title_changed', kind: 'boolean', doc: 'whether the headline differs from the previous version; null for version 1' },
  { name: 'similarity', kind: 'double', doc: "2 × unchanged characters / both bodies' characters, 0…1, against the previous version; null for version 1" },
];

export const CAPTURE_COLUMNS: readonly Column[] = [
  { name: 'url', kind: 'string', required: true, doc: 'WARC-Target-URI: the URL the capture stands for' },
  { name: 'url_surtkey', kind: 'string', required: true, doc: 'its SURT key (host reversed, as CDX indexes sort)' },
  { name: 'fetch_time', kind: 'timestamp', required: true, doc: 'WARC-Date: when the request went out' },
  { name: 'fetch_status', kind: 'int32', doc: 'HTTP status (null for a rendered DOM)' },
  { name: 'content_mime_type', kind: 'string', repeats: true, doc: 'media type of the payload; warc/revisit for a revisit' },
  { name: 'payload_digest', kind: 'string', doc: 'WARC-Payload-Digest (sha256:…); a revisit names its original payload' },
  { name: 'warc_filename', kind: 'string', required: true, repeats: true, doc: 'the WARC file, relative to the storage folder' },
  { name: 'warc_record_offset', kind: 'int64', required: true, doc: 'byte offset of the record (its gzip member) in that file' },
  { name: 'warc_record_length', kind: 'int64', required: true, doc: 'bytes of the record in that file' },
  { name: 'warc_record_type', kind: 'string', required: true, repeats: true, doc: 'response, revisit (an unchanged payload, stored once) or conversion (a browser-rendered DOM)' },
];

export interface ParquetOptions extends ExportScope {
  siteUrl: string;
  /** The folder to write articles.parquet, versions.parquet, captures.parquet and README.md in. */
  dir: string;
  /** A folder of the caller's for the spill database (the caller removes it). */
  staging: string;
  /** What to read; default: archiveFiles() now. */
  files?: readonly ArchiveFile[];
  software: string;
  onProgress?: (p: { phase: string; done: number; of: number; records: number }) => void;
}

export interface ParquetResult {
  articles: number;
  versions: number;
  captures: number;
  rowGroups: Record<'articles' | 'versions' | 'captures', number>;
  /** The dataset's time: the newest capture or check of its articles (UTC ISO). */
  created: string;
}

const ts = (iso: string | null | undefined): Date | null => (iso ? new Date(iso) : null);
const CAPTURED = new Set(['response', 'revisit', 'conversion']);

/**
 * The dataset: three tables as Parquet files (each written as `<name>.parquet.part` and renamed
 * when whole) and a dataset card. Articles and versions come from the snapshot files (as the
 * JSON-lines export reads them), captures from the WARC files as they were at the start (the
 * file being written up to its last whole record). The chosen URLs wait in a spill database, not
 * in memory. The dataset's time is its articles' newest capture or check (read from state
 * before anything is written), not the clock: the same archive gives the same files.
 */
export async function writeParquet(o: ParquetOptions): Promise<ParquetResult> {
  await mkdir(o.dir, { recursive: true });
  const files = o.files ?? archiveFiles(o.root);
  const spill = new ExportSpill(o.staging);
  try {
    return await writeTables(o, files, spill);
  } finally {
    spill.close();
  }
}

async function writeTables(o: ParquetOptions, files: readonly ArchiveFile[], spill: ExportSpill): Promise<ParquetResult> {
  let newest = '';
  for (const a of chosenArticles(o.state, o)) {
    spill.addUrl(a.url);
    for (const at of [a.capturedAt, a.checkedAt]) if (at && at > newest) newest = at;
  }
  const created = new Date(newest || EMPTY_PACKAGE_TIME).toISOString();
  const meta = { createdBy: o.software, kv: { 'newsnap.site': o.siteName, 'newsnap.created': created } };
  const part = (name: string) => join(o.dir, `${name}.parquet.part`);
  const articles = new ParquetTable(part('articles'), ARTICLE_COLUMNS, meta);
  const versions = new ParquetTable(part('versions'), VERSION_COLUMNS, meta);
  const captures = new ParquetTable(part('captures'), CAPTURE_COLUMNS, { ...meta, groupRows: 200_000 });
  try {
    for (const a of exportArticles(o)) {
      addArticle(a, articles, versions);
      if (articles.rowCount % 5000 === 0) o.onProgress?.({ phase: 'articles', done: articles.rowCount, of: 0, records: versions.rowCount });
    }
    articles.close();
    versions.close();
    const scan = archiveRecords({
      root: o.root,
      files,
      wants: (url) => spill.hasUrl(url),
      types: CAPTURED,
      onDamage: (file, offset, reason) => o.onProblem(`${file}#${offset}`, `${reason}: left out (newsnap verify says more)`),
      onFile: (done, of) => o.onProgress?.({ phase: 'captures', done, of, records: captures.rowCount }),
    });
    for await (const r of scan) {
      captures.add({
        url: r.url,
        url_surtkey: surtOf(r.url),
        fetch_time: ts(r.date),
        fetch_status: r.status,
        content_mime_type: r.mime,
        payload_digest: r.payloadDigest,
        warc_filename: r.file,
        warc_record_offset: BigInt(r.offset),
        warc_record_length: BigInt(r.length),
        warc_record_type: r.type,
      });
    }
    captures.close();
  } catch (err) {
    await Promise.all([articles, versions, captures].map((t) => rm(t.path, { force: true })));
    throw err;
  }
  for (const t of ['articles', 'versions', 'captures']) await rename(part(t), join(o.dir, `${t}.parquet`));
  const result: ParquetResult = {
    articles: articles.rowCount,
    versions: versions.rowCount,
    captures: captures.rowCount,
    rowGroups: { articles: articles.groups, versions: versions.groups, captures: captures.groups },
    created,
  };
  await writeFile(join(o.dir, 'README.md'), datasetCard({ ...o, now: created, result, tables: { articles: ARTICLE_COLUMNS, versions: VERSION_COLUMNS, captures: CAPTURE_COLUMNS } }));
  return result;
}

/** One article's row, and a row per version with what changed since the one before. */
function addArticle({ article: a, versions: vs, events }: ArticleExport, articles: ParquetTable, versions: ParquetTable): void {
  const current = vs.at(-1)?.record;
  if (!current) return;
  articles.add({
    id: a.id,
    url: a.url,
    published: ts(a.publishedAt),
    first_seen: ts(events.find((e) => e.event !== 'gone')?.at ?? vs[0]?.record.capturedAt),
    last_seen: ts(a.checkedAt ?? a.capturedAt),
    removed_at: a.state === 'gone' ? ts(a.goneAt) : null,
    state: current.state,
    versions: vs.length,
    title: current.title,
    description: current.description ?? null,
    image: current.image ?? null,
    body: current.body,
  });
  let previous: (typeof vs)[number]['record'] | null = null;
  for (const [i, { record: r, event }] of vs.entries()) {
    const stats = previous ? editStats(previous.body, r.body) : null;
    versions.add({
      id: a.id,
      version: i + 1,
      captured_at: ts(r.capturedAt ?? event?.at),
      event: event?.event ?? null,
      title: r.title,
      description: r.description ?? null,
      body: r.body,
      chars_added: stats?.charsAdded ?? null,
      chars_removed: stats?.charsRemoved ?? null,
      title_changed: previous ? previous.title !== r.title : null,
      similarity: stats?.similarity ?? null,
    });
    previous = r;
  }
}
