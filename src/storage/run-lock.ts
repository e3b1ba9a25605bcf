import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { nowIso } from '../clock/clock.js';
import { writeFileAtomicallySync } from '../disk/atomic-file.js';

/** Who holds a storage folder's lock, as it wrote it down when it took the lock. */
export interface LockHolder {
  host: string;
  pid: number;
  command: string;
  since: string;
}

export class LockedError extends Error {
  override readonly name = 'LockedError';
  constructor(
    readonly storage: string,
    readonly holder: LockHolder | null,
    message?: string,
  ) {
    const who = holder ? `"${holder.command}" (pid ${holder.pid} on host ${holder.host}, since ${holder.since})` : 'another newsnap run';
    super(message ?? `storage ${storage} is in use by ${who}; the lock is released when that run ends, even if it is killed: wait for it, or stop it`);
  }
}

/** How long `acquire` waits for a lock held a moment (a reader's probe) before it names the holder. */
const ACQUIRE_WAIT_MS = 250;

/** The file the kernel lock is taken on: never removed, so every run locks the same inode. */
export const LOCK_FILE = 'newsnap.lock';
/** Who holds it: written by the holder right after it took the lock; only informative. */
export const HOLDER_FILE = 'newsnap.lock.json';

/**
 * One writer per storage folder, kept by the kernel: an advisory lock (fcntl) on `newsnap.lock`,
 * taken through SQLite's own file locking (a `BEGIN IMMEDIATE` transaction held open on a lock
 * database). The kernel releases it when the process ends, however it ends (kill -9 included),
 * and it holds across PID namespaces on one host: two containers on one volume see each other.
 * No pid is checked and no lock file is ever removed. On a network filesystem it is as good as
 * the server's POSIX locks (NFSv4, or NFSv3 with lockd).
 */
export class RunLock {
  private db: Database.Database | null = null;
  readonly path: string;
  private readonly holderPath: string;

  constructor(private readonly storageDir: string) {
    mkdirSync(storageDir, { recursive: true });
    this.path = join(storageDir, LOCK_FILE);
    this.holderPath = join(storageDir, HOLDER_FILE);
  }

  /**
   * Takes the lock, or throws LockedError naming the holder. It waits a moment first: a reader's
   * probe (`probe()`) holds the lock for a few microseconds, and a run that starts then must not
   * be turned away; a real holder keeps it for the whole run, and the wait ends at once then too.
   */
  acquire(command: string): void {
    const db = new Database(this.path, { timeout: ACQUIRE_WAIT_MS });
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      db.close();
      const code = (err as { code?: string }).code;
      if (code === 'SQLITE_BUSY') throw new LockedError(this.storageDir, this.holder());
      if (code === 'SQLITE_NOTADB') throw this.legacy();
      throw err;
    }
    this.db = db;
    const holder: LockHolder = { host: hostname(), pid: process.pid, command, since: nowIso() };
    writeFileAtomicallySync(this.holderPath, Buffer.from(`${JSON.stringify(holder)}\n`), '.newsnap.lock');
  }

  /**
   * Whether a run holds the lock now, for readers that never take it (verify): the lock is tried
   * and let go at once, and the holder file is left as it is. `unknown` when it cannot be told (a
   * user who may not write the lock file, say), with the reason; a run that starts meanwhile
   * waits for the probe to let go (see `acquire`).
   */
  probe(): { held: boolean } | { unknown: string } {
    if (!existsSync(this.path)) return { held: false };
    let db: Database.Database;
    try {
      db = new Database(this.path, { timeout: 0, fileMustExist: true });
    } catch (err) {
      return { unknown: `${this.path} cannot be opened: ${(err as Error).message}` };
    }
    try {
      db.exec('BEGIN IMMEDIATE');
      db.exec('ROLLBACK');
      return { held: false };
    } catch (err) {
      const code = (err as { code?: string }).code;
      return code === 'SQLITE_BUSY' ? { held: true } : { unknown: `${this.path}: ${code ?? (err as Error).message}` };
    } finally {
      db.close();
    }
  }

  /** What the holder wrote of itself; null when it cannot be read. */
  holder(): LockHolder | null {
    try {
      return JSON.parse(readFileSync(this.holderPath, 'utf8')) as LockHolder;
    } catch {
      return null;
    }
  }

  /**
   * A newsnap before 0.2 locked with a pid in this file; one killed with -9 left it behind. Its
   * pid means nothing in another PID namespace, so it is not guessed at: a person removes it once.
   */
  private legacy(): LockedError {
    const pid = /^\s*(\d+)\s*$/.exec(readFileSync(this.path, 'utf8'))?.[1] ?? '?';
    return new LockedError(
      this.storageDir,
      null,
      `storage ${this.storageDir} holds the lock file of an older newsnap (${this.path}, pid ${pid}): if no older newsnap uses this storage any more, delete that file once; newsnap now locks it through the kernel`,
    );
  }

  /** Releases the lock (the file stays: the next run locks the same one). */
  release(): void {
    const db = this.db;
    this.db = null;
    db?.close();
  }
}
