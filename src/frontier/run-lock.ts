import { openSync, readFileSync, unlinkSync, writeSync, closeSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export class LockedError extends Error {
  override readonly name = 'LockedError';
  constructor(readonly path: string, readonly holderPid: number) {
    super(`storage is in use by another newsnap run (pid ${holderPid}, lock ${path}); wait for it to finish, or remove the lock if that process is gone`);
  }
}

/**
 * One writer per storage folder: a lock file holding the owner's pid, created with O_EXCL.
 * A lock whose process is gone (kill -9) is taken over.
 */
export class RunLock {
  private held = false;
  readonly path: string;

  constructor(storageDir: string) {
    mkdirSync(storageDir, { recursive: true });
    this.path = join(storageDir, 'newsnap.lock');
  }

  acquire(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.path, 'wx', 0o644);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        this.held = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = Number.parseInt(readFileSync(this.path, 'utf8').trim(), 10);
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new LockedError(this.path, holder);
      }
      unlinkSync(this.path);
    }
    throw new LockedError(this.path, -1);
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone: nothing to release.
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
