import type { Config } from '../config/config.js';
import type { ReadOnlyStorage } from '../storage/read-only.js';
import type { ArchiveFile } from './archive-records.js';
import { csvHeader, csvRow, exportRecords, jsonLine, type ExportScope } from './export.js';
import { writeParquet } from './parquet.js';
import { writeWacz } from './wacz.js';

/** What a package says made it (the version `newsnap --version` gives). */
export const SOFTWARE = 'newsnap 0.2.0';

/** Which articles an export holds (days YYYYMMDD, both bounds optional), and for jsonl and csv whether every version. */
export interface ExportSelection {
  since?: string;
  until?: string;
  ids?: string[];
  /** jsonl and csv: each article's earlier versions too (wacz and parquet always hold every version). */
  versions?: boolean;
}

/** What of the configuration an export needs: plain data, so that it crosses to a child process. */
export interface ExportSite {
  name: string;
  baseUrl: string;
  /** archive.prefix and archive.maxFileBytes: the names and sizes of a WACZ's WARC files. */
  prefix: string;
  maxFileBytes: number;
  software: string;
}

export function exportSite(config: Pick<Config, 'site' | 'archive'>): ExportSite {
  return { name: config.site.name, baseUrl: config.site.baseUrl, prefix: config.archive.prefix, maxFileBytes: config.archive.maxFileBytes, software: SOFTWARE };
}

export interface ExportProgress {
  phase: string;
  done: number;
  of: number;
  records: number;
}

/** One export to make. */
export interface ExportJob {
  storage: ReadOnlyStorage;
  site: ExportSite;
  selection: ExportSelection;
  /** A folder of the caller's for what the export stages on the way (it removes it after). */
  staging: string;
  /** The WARC files as they were at the start (default: archiveFiles() when the export reads them). */
  files?: readonly ArchiveFile[];
  /** Something that could not be read or put in whole: said, and the export goes on. */
  onProblem: (path: string, why: string) => void;
  onProgress?: (p: ExportProgress) => void;
}

/** Where an export goes: a stream's writes (each awaited: back-pressure), or a path (a file, or a folder to make). */
export type ExportTarget = { write: (chunk: string) => Promise<void> } | { path: string };

export interface ExportSummary {
  /** Records (jsonl, csv), pages (wacz) or articles (parquet). */
  records: number;
  /** The package's time (wacz, parquet): its newest capture's. */
  created?: string;
  /** What the format tells of itself (counts, bytes), for the log. */
  details: Record<string, unknown>;
}

/** One export format: what it is called and served as, and the one function that makes it. */
export interface Exporter {
  format: 'jsonl' | 'csv' | 'wacz' | 'parquet';
  /** As served (a folder is served as one zip). */
  contentType: string;
  /** File name extension as served, without the dot. */
  extension: string;
  /** A stream of lines, one file, or a folder of files. */
  output: 'stream' | 'file' | 'folder';
  produce(job: ExportJob, target: ExportTarget): Promise<ExportSummary>;
}

/** Lines are gathered into writes of a few hundred KB: a write per record waits on its reader for each. */
const WRITE_BYTES = 256 * 1024;

function scope(job: ExportJob): ExportScope {
  const { since, until, ids } = job.selection;
  return { root: job.storage.root, state: job.storage.state, siteName: job.site.name, ...(since ? { since } : {}), ...(until ? { until } : {}), ...(ids ? { ids } : {}), onProblem: job.onProblem };
}

function streamOf(target: ExportTarget, format: string): (chunk: string) => Promise<void> {
  if (!('write' in target)) throw new Error(`--format ${format} is a stream: give it something to write to, not a path`);
  return target.write;
}

function pathOf(target: ExportTarget, format: string): string {
  if (!('path' in target)) throw new Error(`--format ${format} makes a file or folder: give it a path, not a stream`);
  return target.path;
}

/** JSON lines and CSV: a record per article (or per version), in id order within each day. */
function lines(format: 'jsonl' | 'csv', contentType: string): Exporter {
  return {
    format,
    contentType,
    extension: format,
    output: 'stream',
    async produce(job, target) {
      const write = streamOf(target, format);
      const versions = job.selection.versions === true;
      let pending: string[] = format === 'csv' ? [csvHeader(versions)] : [];
      let bytes = pending[0]?.length ?? 0;
      let records = 0;
      for await (const r of exportRecords({ ...scope(job), versions })) {
        const text = format === 'csv' ? csvRow(r, versions) : jsonLine(r);
        pending.push(text);
        bytes += text.length;
        records++;
        if (bytes < WRITE_BYTES) continue;
        await write(pending.join(''));
        pending = [];
        bytes = 0;
      }
      if (pending.length > 0) await write(pending.join(''));
      return { records, details: { records } };
    },
  };
}

/** What a package format (WACZ, Parquet) is given besides its scope: the job's staging, and its files and progress when it has them. */
interface PackageJob {
  staging: string;
  software: string;
  files?: readonly ArchiveFile[];
  onProgress?: (p: ExportProgress) => void;
}

/** A format that makes a file or a folder at a path: `make` is given the job's scope, the path and the rest (PackageJob). */
function packaged(format: 'wacz' | 'parquet', contentType: string, extension: string, output: 'file' | 'folder', make: (job: ExportJob, path: string, rest: PackageJob) => Promise<ExportSummary>): Exporter {
  return {
    format,
    contentType,
    extension,
    output,
    produce: (job, target) =>
      make(job, pathOf(target, format), {
        staging: job.staging,
        software: job.site.software,
        ...(job.files ? { files: job.files } : {}),
        ...(job.onProgress ? { onProgress: job.onProgress } : {}),
      }),
  };
}

const wacz = packaged('wacz', 'application/wacz', 'wacz', 'file', async (job, out, rest) => {
  const result = await writeWacz({ ...scope(job), ...rest, out, prefix: job.site.prefix, maxFileBytes: job.site.maxFileBytes });
  return { records: result.pages, created: result.created, details: { ...result } };
});

const parquet = packaged('parquet', 'application/zip', 'zip', 'folder', async (job, dir, rest) => {
  const result = await writeParquet({ ...scope(job), ...rest, siteUrl: job.site.baseUrl, dir });
  return { records: result.articles, created: result.created, details: { ...result } };
});

/** Every export format: the CLI's --format and serve's /export?format= both read this list, and no other. */
export const EXPORTERS: readonly Exporter[] = [lines('jsonl', 'application/x-ndjson; charset=utf-8'), lines('csv', 'text/csv; charset=utf-8'), wacz, parquet];

export const FORMAT_NAMES: readonly string[] = EXPORTERS.map((e) => e.format);

export function exporterOf(format: string): Exporter | undefined {
  return EXPORTERS.find((e) => e.format === format);
}
