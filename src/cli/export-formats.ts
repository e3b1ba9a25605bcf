import { nowIso } from '../clock/clock.js';
import { writeParquet } from '../export/parquet.js';
import { writeWacz } from '../export/wacz.js';
import type { State } from '../storage/state/state-store.js';
import type { Context } from './context.js';

/** What a package says made it (the version `newsnap --version` gives). */
const SOFTWARE = 'newsnap 0.2.0';

/** Bounds and articles of an export (days as YYYYMMDD). */
export interface ExportSelection {
  since?: string;
  until?: string;
  ids?: string[];
}

/** Progress goes to the log at most this often (and at the end of each phase). */
const PROGRESS_EVERY_MS = 2000;

/** A progress callback that logs at most every PROGRESS_EVERY_MS. */
function progressLog(ctx: Context, what: string): (p: { phase: string; done: number; of: number; records: number }) => void {
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

/** `newsnap export --format wacz` (and serve's `/export.wacz`): the package and what went into it. */
export async function exportWacz(ctx: Context, state: State, out: string, sel: ExportSelection, onProblem: (path: string, why: string) => void) {
  return writeWacz({
    root: ctx.config.storage,
    state,
    siteName: ctx.config.site.name,
    ...sel,
    out,
    prefix: ctx.config.archive.prefix,
    maxFileBytes: ctx.config.archive.maxFileBytes,
    now: nowIso(),
    software: SOFTWARE,
    onProblem,
    onProgress: progressLog(ctx, 'wacz export'),
  });
}

/** `newsnap export --format parquet`: three tables and their dataset card in `dir`. */
export async function exportParquet(ctx: Context, state: State, dir: string, sel: ExportSelection, onProblem: (path: string, why: string) => void) {
  return writeParquet({
    root: ctx.config.storage,
    state,
    siteName: ctx.config.site.name,
    siteUrl: ctx.config.site.baseUrl,
    ...sel,
    dir,
    now: nowIso(),
    software: SOFTWARE,
    onProblem,
    onProgress: progressLog(ctx, 'parquet export'),
  });
}
