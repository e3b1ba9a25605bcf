import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { exporterOf, exportSite, FORMAT_NAMES, type Exporter, type ExportJob, type ExportProgress, type ExportSelection, type ExportSummary } from '../export/exporters.js';
import { stagedOutput } from '../export/staged-output.js';
import { writeWithRoom } from '../export/stream-room.js';
import { ReadOnlyStorage } from '../storage/read-only.js';
import { StorageError } from '../disk/storage-error.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Context } from './context.js';
import { dayRangeFlags, requireExistingStorage } from './command-flags.js';
import { UsageError } from './usage-error.js';

export interface ExportFlags {
  since?: string;
  until?: string;
  format?: string;
  versions?: boolean;
  out?: string;
  id?: string[];
}

/** The reader of stdout went away (`| head`): the export ends quietly, as `history` does. */
class OutputClosed extends Error {
  override readonly name = 'OutputClosed';
}

/**
 * `newsnap export`: every captured article in one of the formats of the export registry (JSON
 * lines, CSV, a WACZ, a Parquet dataset). Reads only: no lock (beside a running crawl or serve),
 * no request. `.gz` on a JSON lines or CSV file name gzips. A file or folder is made beside
 * `--out` and moved there when whole (its folder made when missing).
 */
export async function exportCommand(ctx: Context, flags: ExportFlags): Promise<ExitCodeValue> {
  const format = flags.format ?? 'jsonl';
  const exporter = exporterOf(format);
  if (!exporter) throw new UsageError(`--format ${format}: one of ${FORMAT_NAMES.join(', ')}`);
  const { since, until } = dayRangeFlags(flags);
  if (flags.id?.some((id) => !/^\d{1,20}$/.test(id))) throw new UsageError(`--id ${flags.id.join(' ')}: article ids are numbers (the digits at the end of an article URL)`);
  const out = flags.out ?? '-';
  if (exporter.output !== 'stream' && out === '-') throw new UsageError(format === 'wacz' ? '--format wacz needs --out FILE.wacz' : '--format parquet needs --out DIR (a folder for the three tables)');
  if (format === 'wacz' && !out.endsWith('.wacz')) throw new UsageError(`--out ${out}: a WACZ file's name ends in .wacz (replay tools go by it)`);
  const root = ctx.config.storage;
  requireExistingStorage(root);
  const selection: ExportSelection = { ...(since ? { since } : {}), ...(until ? { until } : {}), ...(flags.id ? { ids: flags.id } : {}), ...(flags.versions ? { versions: true } : {}) };
  const storage = new ReadOnlyStorage(root);
  const started = performance.now();
  let problems = 0;
  const job: Omit<ExportJob, 'staging'> = {
    storage,
    site: exportSite(ctx.config),
    selection,
    onProblem: (path, why) => {
      problems++;
      ctx.log.warn({ path }, `${path} ${why}`);
    },
    ...(exporter.output === 'stream' ? {} : { onProgress: progressLog(ctx, `${format} export`) }),
  };
  let summary: ExportSummary | null = null;
  try {
    if (out === '-') summary = await toStdout(exporter, job);
    else summary = await stagedOutput(out, exporter.output === 'folder' ? 'folder' : 'file', (path, scratch) => (exporter.output === 'stream' ? toFile(exporter, { ...job, staging: scratch }, path, out.endsWith('.gz')) : exporter.produce({ ...job, staging: scratch }, { path })));
  } catch (err) {
    if (!(err instanceof OutputClosed)) throw StorageError.isStorageFailure(err) ? StorageError.from(err, out, 'write the export to') : err;
  } finally {
    storage.close();
  }
  const seconds = (performance.now() - started) / 1000;
  ctx.log.info({ format, ...(out === '-' ? {} : { out }), ...summary?.details, problems, seconds: Number(seconds.toFixed(2)), recordsPerSecond: Math.round((summary?.records ?? 0) / Math.max(seconds, 0.001)) }, 'export finished');
  return problems > 0 ? ExitCode.PARTIAL : ExitCode.OK;
}

/** A stream export to stdout, each write waiting for the pipe to drain. */
async function toStdout(exporter: Exporter, job: Omit<ExportJob, 'staging'>): Promise<ExportSummary> {
  let closed = false;
  const sink = process.stdout;
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    closed = true;
  };
  sink.on('error', onError);
  const stillOpen = () => (closed ? Promise.reject(new OutputClosed('stdout closed')) : undefined);
  const stdoutError = (err: NodeJS.ErrnoException) => Promise.reject(err.code === 'EPIPE' ? new OutputClosed('stdout closed') : err);
  try {
    // Streams stage nothing: no scratch folder is needed.
    return await exporter.produce({ ...job, staging: '' }, { write: (chunk) => (closed || sink.destroyed ? Promise.reject(new OutputClosed('stdout closed')) : writeWithRoom(sink, chunk).then(stillOpen, stdoutError)) });
  } finally {
    sink.off('error', onError);
  }
}

/**
 * A stream export to a file (gzipped when its name ends in .gz). gzip and the file are joined by
 * pipeline(), so a failing file (ENOSPC) destroys gzip too, and a write waiting for room fails
 * with the file's error instead of waiting forever.
 */
async function toFile(exporter: Exporter, job: ExportJob, path: string, gzipped: boolean): Promise<ExportSummary> {
  const file = createWriteStream(path);
  const gzip = gzipped ? createGzip() : null;
  const sink: Writable = gzip ?? file;
  let failure: Error | null = null;
  const piped = (gzip ? pipeline(gzip, file) : finished(file)).catch((err: Error) => {
    failure ??= err;
  });
  try {
    return await exporter.produce(job, {
      write: (chunk) => (failure ? Promise.reject(failure) : writeWithRoom(sink, chunk)),
    });
  } catch (err) {
    // The file's own error says what happened (ENOSPC), not gzip's "destroyed" that followed it.
    throw failure ?? err;
  } finally {
    if (!sink.destroyed) sink.end();
    await piped;
    if (failure) throw failure;
  }
}

/** Progress goes to the log at most this often (and at the end of each phase). */
const PROGRESS_EVERY_MS = 2000;

/** A progress callback that logs at most every PROGRESS_EVERY_MS. */
export function progressLog(ctx: Context, what: string): (p: ExportProgress) => void {
  let last = 0;
  let lastPhase = '';
  return (p) => {
    const t = performance.now();
    if (p.phase === lastPhase && t - last < PROGRESS_EVERY_MS && p.done !== p.of) return;
    last = t;
    lastPhase = p.phase;
    ctx.log.info({ phase: p.phase, done: p.done, of: p.of || undefined, records: p.records }, `${what}: ${p.phase} ${p.done}${p.of ? ` of ${p.of}` : ''}`);
  };
}
