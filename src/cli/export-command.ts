import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { csvHeader, csvRow, exportRecords, jsonLine } from '../export/export.js';
import { SqliteState } from '../storage/state/state-store.js';
import { StorageError } from '../disk/storage-error.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Context } from './context.js';
import { dayRangeFlags, requireExistingStorage } from './command-flags.js';
import { UsageError } from './usage-error.js';
import { exportParquet, exportWacz, type ExportSelection } from './export-formats.js';

export interface ExportFlags {
  since?: string;
  until?: string;
  format?: string;
  versions?: boolean;
  out?: string;
  id?: string[];
}

const FORMATS = ['jsonl', 'csv', 'wacz', 'parquet'];

/**
 * `newsnap export`: every captured article as JSON lines or CSV, from the snapshot files; or a
 * WACZ of their archived captures, or a Parquet dataset. Reads only: no lock (beside a running
 * crawl or serve), no request. `.gz` on a JSON lines or CSV file name gzips.
 */
export async function exportCommand(ctx: Context, flags: ExportFlags): Promise<ExitCodeValue> {
  const format = flags.format ?? 'jsonl';
  if (!FORMATS.includes(format)) throw new UsageError(`--format ${format}: one of ${FORMATS.join(', ')}`);
  const { since, until } = dayRangeFlags(flags);
  if (flags.id?.some((id) => !/^\d{1,20}$/.test(id))) throw new UsageError(`--id ${flags.id.join(' ')}: article ids are numbers (the digits at the end of an article URL)`);
  const root = ctx.config.storage;
  requireExistingStorage(root);
  if (format === 'wacz' || format === 'parquet') return exportPackage(ctx, format, flags, { ...(since ? { since } : {}), ...(until ? { until } : {}), ...(flags.id ? { ids: flags.id } : {}) });
  const out = flags.out ?? '-';
  const file = out === '-' ? null : createWriteStream(out);
  const gzip = out.endsWith('.gz') ? createGzip() : null;
  if (gzip) gzip.pipe(file ?? process.stdout);
  const sink: NodeJS.WritableStream = gzip ?? file ?? process.stdout;
  // A reader that went away (| head) ends the export quietly, as it ends `history`.
  let closed = false;
  sink.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    closed = true;
  });
  // Records are gathered into writes of a few hundred KB: a write per record waits on the stream for each.
  let pending: string[] = [];
  let pendingBytes = 0;
  const write = async (text: string, flush = false) => {
    pending.push(text);
    pendingBytes += text.length;
    if (!flush && pendingBytes < 256 * 1024) return;
    const chunk = pending.join('');
    pending = [];
    pendingBytes = 0;
    if (sink.write(chunk) || closed) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        for (const e of ['drain', 'close', 'error']) sink.off(e, done);
        resolve();
      };
      for (const e of ['drain', 'close', 'error']) sink.once(e, done);
    });
  };
  const state = new SqliteState(root, { readonly: true });
  const started = performance.now();
  let records = 0;
  let bytes = 0;
  let problems = 0;
  try {
    if (format === 'csv') await write(csvHeader(flags.versions === true));
    for await (const r of exportRecords({
      root,
      state,
      siteName: ctx.config.site.name,
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(flags.id ? { ids: flags.id } : {}),
      versions: flags.versions === true,
      onProblem: (path, why) => {
        problems++;
        ctx.log.warn({ path }, `${path} ${why}`);
      },
    })) {
      if (closed || process.stdout.destroyed) break;
      const text = format === 'csv' ? csvRow(r, flags.versions === true) : jsonLine(r);
      bytes += Buffer.byteLength(text);
      records++;
      await write(text);
    }
    await write('', true);
  } catch (err) {
    throw StorageError.isStorageFailure(err) ? StorageError.from(err, out, 'write the export to') : err;
  } finally {
    state.close();
    if (sink !== process.stdout) {
      sink.end();
      await finished(file ?? sink);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  ctx.log.info({ records, bytes, problems, seconds: Number(seconds.toFixed(2)), recordsPerSecond: Math.round(records / Math.max(seconds, 0.001)) }, 'export finished');
  return problems > 0 ? ExitCode.PARTIAL : ExitCode.OK;
}

/** WACZ (a file) or Parquet (a folder): `--out` is required, and the work is logged as it goes. */
async function exportPackage(ctx: Context, format: 'wacz' | 'parquet', flags: ExportFlags, sel: ExportSelection): Promise<ExitCodeValue> {
  const out = flags.out;
  if (!out || out === '-') throw new UsageError(format === 'wacz' ? '--format wacz needs --out FILE.wacz' : '--format parquet needs --out DIR (a folder for the three tables)');
  if (format === 'wacz' && !out.endsWith('.wacz')) throw new UsageError(`--out ${out}: a WACZ file's name ends in .wacz (replay tools go by it)`);
  const state = new SqliteState(ctx.config.storage, { readonly: true });
  const started = performance.now();
  let problems = 0;
  const onProblem = (path: string, why: string) => {
    problems++;
    ctx.log.warn({ path }, `${path} ${why}`);
  };
  try {
    const result = format === 'wacz' ? await exportWacz(ctx, state, out, sel, onProblem) : await exportParquet(ctx, state, out, sel, onProblem);
    const seconds = (performance.now() - started) / 1000;
    ctx.log.info({ format, out, ...result, problems, seconds: Number(seconds.toFixed(2)) }, 'export finished');
  } catch (err) {
    throw StorageError.isStorageFailure(err) ? StorageError.from(err, out, 'write the export to') : err;
  } finally {
    state.close();
  }
  return problems > 0 ? ExitCode.PARTIAL : ExitCode.OK;
}
