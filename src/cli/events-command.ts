import { existsSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { ReadOnlyStorage } from '../storage/read-only.js';
import { MANIFEST_OFFSET } from '../storage/state/state-schema.js';
import { readManifestLines, type ManifestPosition, type ManifestRecord } from '../storage/manifest.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Context } from './context.js';
import { Shutdown } from './shutdown.js';
import { UsageError } from './usage-error.js';

/** A follower looks again at least this often (a watch can miss a change on some filesystems). */
const FOLLOW_POLL_MS = 250;

/**
 * `newsnap events [--after SEQ] [--follow]`: the manifest's events after `SEQ` as JSON lines, each
 * with its `seq`, the same as `GET /events`. It takes no lock: it works beside a running crawl or
 * serve. With `--follow` it keeps printing new events as they are written, until stopped; a
 * consumer keeps the last `seq` it handled and resumes with `--after` it.
 */
export async function eventsCommand(ctx: Context, flags: { after?: string; follow?: boolean }): Promise<ExitCodeValue> {
  const after = flags.after === undefined ? 0 : Number(flags.after);
  if (!Number.isInteger(after) || after < 0) throw new UsageError(`--after ${flags.after} must be a seq: a whole number, 0 or more`);
  const root = ctx.config.storage;
  if (!existsSync(join(root, 'manifest.jsonl')) && !existsSync(join(root, 'state.sqlite'))) throw new UsageError(`no newsnap storage at ${root} (no manifest.jsonl): give --storage`);
  let position = startOf(root, after);
  const shutdown = new Shutdown(ctx.log, { exitCode: ExitCode.INTERRUPTED, message: 'stopping: the last event printed is the one to resume after' });
  let watcher: FSWatcher | null = null;
  try {
    for (;;) {
      const end = appliedEnd(root);
      for await (const line of readManifestLines(root, { from: position, ...(end === undefined ? {} : { end }) })) {
        position = { offset: line.next, seq: line.seq };
        if (line.seq <= after || !('record' in line)) continue;
        if (!process.stdout.write(`${eventLine(line.record)}\n`)) await new Promise((r) => process.stdout.once('drain', r));
        if (process.stdout.destroyed) return ExitCode.OK;
      }
      if (!flags.follow || shutdown.signal.aborted) break;
      watcher ??= watchQuietly(join(root, 'manifest.jsonl'));
      await nextChange(watcher, shutdown.signal);
      if (shutdown.signal.aborted) return ExitCode.INTERRUPTED;
    }
    return shutdown.signal.aborted ? ExitCode.INTERRUPTED : ExitCode.OK;
  } finally {
    watcher?.close();
    shutdown.dispose();
  }
}

/** An event as a JSON line, `seq` first (a line written before it existed carries it at its end when read). */
export function eventLine(record: ManifestRecord): string {
  const { seq, ...rest } = record;
  return JSON.stringify({ seq, ...rest });
}

/** Where the line after `after` starts, when state knows it; else the manifest's start. */
function startOf(root: string, after: number): ManifestPosition {
  if (after === 0 || !existsSync(join(root, 'state.sqlite'))) return { offset: 0, seq: 0 };
  let store: ReadOnlyStorage | null = null;
  try {
    store = new ReadOnlyStorage(root);
    const state = store.state;
    const offset = state.reports.offsetOfSeq(after);
    return offset === undefined ? { offset: 0, seq: 0 } : { offset, seq: after - 1 };
  } catch {
    // A state written by an older newsnap (lines not numbered yet): the manifest is read from its start.
    return { offset: 0, seq: 0 };
  } finally {
    store?.close();
  }
}

/**
 * Where the lines state has applied end: a line beyond it may still be cut back (a failed write),
 * so it is not given until state has it. Undefined (the whole manifest) for a store without state.
 */
function appliedEnd(root: string): number | undefined {
  if (!existsSync(join(root, 'state.sqlite'))) return undefined;
  let store: ReadOnlyStorage | null = null;
  try {
    store = new ReadOnlyStorage(root);
    const state = store.state;
    const offset = state.meta.get(MANIFEST_OFFSET);
    return offset === undefined ? undefined : Number(offset);
  } catch {
    return undefined;
  } finally {
    store?.close();
  }
}

/** A watch on the manifest that never throws (a folder without one yet, a filesystem without inotify). */
function watchQuietly(path: string): FSWatcher | null {
  try {
    const w = watch(path, { persistent: false });
    w.on('error', () => undefined);
    return w;
  } catch {
    return null;
  }
}

/** Resolves at the next change the watch reports, after a short poll, or when stopped. */
function nextChange(watcher: FSWatcher | null, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      watcher?.off('change', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, FOLLOW_POLL_MS);
    watcher?.on('change', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
