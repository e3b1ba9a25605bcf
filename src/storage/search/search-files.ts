import { rmSync } from 'node:fs';

/** Removes an index file and the WAL files beside it. */
export function removeIndexFiles(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
}
