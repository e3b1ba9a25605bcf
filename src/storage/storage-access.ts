import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StorageError } from '../disk/storage-error.js';

/** Files and folders newsnap writes inside the storage folder; any that exists must be writable. */
const WRITTEN = ['state.sqlite', 'state.sqlite-wal', 'state.sqlite-shm', 'search.sqlite', 'search.sqlite-wal', 'search.sqlite-shm', 'manifest.jsonl', 'newsnap.lock', 'snapshots', 'history', 'warc'];

/**
 * Why newsnap cannot write its storage folder, in words that name the folder, the user newsnap
 * runs as and the fix; null when it can. A missing folder is created (with its parents). The
 * usual case is a host folder mounted into the container and owned by root, while the image
 * runs as uid 1000.
 */
export async function storageProblem(root: string): Promise<string | null> {
  const dir = resolve(root);
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return notWritable(await nearestExisting(dir), code);
    return `storage folder ${dir} cannot be created (${code ?? (err as Error).message})`;
  }
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) return `storage ${dir} is not a folder`;
  if (!(await writable(dir))) return notWritable(dir, 'EACCES');
  for (const name of WRITTEN) {
    const path = join(dir, name);
    const exists = await stat(path).then(() => true, () => false);
    if (exists && !(await writable(path))) return notWritable(path, 'EACCES');
  }
  return null;
}

/** Throws a StorageError (exit code 6) when the storage folder cannot be written. */
export async function assertStorageWritable(root: string): Promise<void> {
  const problem = await storageProblem(root);
  if (problem) throw new StorageError(resolve(root), 'EACCES', problem);
}

async function writable(path: string): Promise<boolean> {
  return access(path, constants.W_OK | constants.R_OK).then(() => true, () => false);
}

async function nearestExisting(path: string): Promise<string> {
  for (let p = path; ; p = dirname(p)) {
    if (await stat(p).then(() => true, () => false)) return p;
    if (dirname(p) === p) return p;
  }
}

function notWritable(path: string, code: string): string {
  const uid = process.getuid?.() ?? -1;
  const gid = process.getgid?.() ?? -1;
  if (code === 'EROFS') return `storage ${path} is on a read-only filesystem: mount it read-write`;
  return (
    `storage ${path} is not writable by uid ${uid} (gid ${gid}), the user newsnap runs as. ` +
    `Fix: chown -R ${uid}:${gid} ${path} (in a container: the host folder mounted there), or run newsnap as the folder's owner (docker run --user UID:GID, compose "user:")`
  );
}
