import Database from 'better-sqlite3';
import { LockedError, RunLock } from '../../src/storage/run-lock.js';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

export function tempDir(prefix = 'newsnap-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Every file below `dir`, relative, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    for (const entry of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else out.push(relative(dir, p));
    }
  }
  await walk(dir);
  return out.sort();
}

export async function readManifest(storage: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(join(storage, 'manifest.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export async function fileIdentity(path: string): Promise<string> {
  const s = await stat(path);
  return `${s.ino}:${s.mtimeMs}`;
}

/** True when a new run could take the storage folder's lock now (it is taken and released at once). */
export function lockIsFree(storage: string): boolean {
  const lock = new RunLock(storage);
  try {
    lock.acquire('newsnap test: is the lock free?');
    lock.release();
    return true;
  } catch (err) {
    if (err instanceof LockedError) return false;
    throw err;
  }
}

/** Rows of one query on a storage folder's state, read-only (beside a running newsnap too). */
export function queryState<Row>(storage: string, sql: string, ...params: unknown[]): Row[] {
  const db = new Database(join(storage, 'state.sqlite'), { readonly: true });
  try {
    return db.prepare(sql).all(...params) as Row[];
  } finally {
    db.close();
  }
}
