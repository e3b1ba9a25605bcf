import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { CliResult } from './cli.js';
import { Watchdog } from './progress.js';

/** Complete lines of a storage folder's manifest (a line cut off by a kill is not counted). */
export function manifestLines(storage: string): number {
  try {
    const text = readFileSync(join(storage, 'manifest.jsonl'));
    let n = 0;
    for (const byte of text) if (byte === 0x0a) n++;
    return n;
  } catch {
    return 0;
  }
}

/** The newest run the storage folder recorded: whether it had ended. */
export function lastRunEnded(storage: string): boolean | null {
  let db: Database.Database | null = null;
  try {
    db = new Database(join(storage, 'state.sqlite'), { readonly: true, fileMustExist: true });
    const row = db.prepare('SELECT finished_at FROM runs ORDER BY id DESC LIMIT 1').get() as { finished_at: string | null } | undefined;
    return row ? row.finished_at !== null : null;
  } catch {
    return null;
  } finally {
    db?.close();
  }
}

/**
 * Kills the child with SIGKILL once it has written `afterLines` manifest lines more than there
 * were when it started, so the kill lands mid-run with work done; returns the lines at the kill.
 * The caller asserts that work was left too (fewer lines than the whole job).
 */
export async function killAfterLines(child: ChildProcess, done: Promise<CliResult>, storage: string, afterLines: number): Promise<{ before: number; atKill: number }> {
  const before = manifestLines(storage);
  const dog = new Watchdog();
  let exited = false;
  void done.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`the run ended before ${afterLines} new manifest lines: the kill could not land mid-run`);
    if (manifestLines(storage) >= before + afterLines) break;
    if (dog.expired()) throw new Error(`waiting for ${afterLines} new manifest lines: ${dog.describe()}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  child.kill('SIGKILL');
  const res = await done;
  if (res.signal !== 'SIGKILL') throw new Error(`the run exited (${res.code}) before the kill landed`);
  return { before, atKill: manifestLines(storage) };
}

/** Runs the storage folder has recorded. */
export function runsRecorded(storage: string): number {
  let db: Database.Database | null = null;
  try {
    db = new Database(join(storage, 'state.sqlite'), { readonly: true, fileMustExist: true });
    return (db.prepare('SELECT COUNT(*) AS n FROM runs').get() as { n: number }).n;
  } catch {
    return 0;
  } finally {
    db?.close();
  }
}

/**
 * Kills the child with SIGKILL `delayMs` after its run began (the storage recorded a new run: the
 * lock is held, start-up repairs done, discovery under way), so the kill lands in discovery or in
 * the first articles rather than before storage opened.
 */
export async function killAfterRunBegins(child: ChildProcess, done: Promise<CliResult>, storage: string, delayMs: number): Promise<void> {
  const before = runsRecorded(storage);
  const dog = new Watchdog();
  let exited = false;
  void done.then(() => (exited = true));
  while (runsRecorded(storage) <= before) {
    if (exited) throw new Error('the run ended before it recorded its start');
    if (dog.expired()) throw new Error(`waiting for the run to begin: ${dog.describe()}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  await new Promise((r) => setTimeout(r, delayMs));
  child.kill('SIGKILL');
  const res = await done;
  if (res.signal !== 'SIGKILL') throw new Error(`the run exited (${res.code}) before the kill landed`);
}
