import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ExitCode, STOP_SIGNALS } from '../exit-codes.js';

const PREFIX = '.newsnap-export-';
/** A staging folder's name: PREFIX, then the pid of the process that made it. */
const STAGING_NAME = /^\.newsnap-export-(\d+)-/;
const SIGNALS = STOP_SIGNALS;
const INTERRUPTED = ExitCode.INTERRUPTED;

/**
 * Makes an export's file or folder beside where it goes, then moves it there: `out` is whole or
 * not there at all, and nothing half made is ever left at it. The staging folder
 * (`.newsnap-export-<pid>-…`, in `out`'s folder, so the move is a rename on one file system)
 * holds the export's scratch files too, and goes when the export ends, failed or not, and on
 * SIGINT, SIGTERM or SIGHUP (the process then exits 130). One left by a process that was killed
 * outright (kill -9) is removed by the next export into that folder, once its pid is gone.
 * `out`'s folder is made when it is missing. A folder (Parquet) is moved in file by file: an
 * existing folder keeps what else it holds, and each file is replaced whole.
 */
export async function stagedOutput<T>(out: string, kind: 'file' | 'folder', make: (path: string, scratch: string) => Promise<T>): Promise<T> {
  const parent = dirname(resolve(out));
  await mkdir(parent, { recursive: true });
  await sweepDead(parent);
  const staging = await mkdtemp(join(parent, `${PREFIX}${process.pid}-`));
  // Synchronous: the process exits right after, and nothing else of the export is waited for.
  const onSignal = () => {
    rmSync(staging, { recursive: true, force: true });
    process.exit(INTERRUPTED);
  };
  for (const sig of SIGNALS) process.on(sig, onSignal);
  try {
    const scratch = join(staging, 'scratch');
    await mkdir(scratch);
    const made = join(staging, `out-${basename(out)}`);
    const result = await make(made, scratch);
    if (kind === 'file') await rename(made, out);
    else {
      await mkdir(out, { recursive: true });
      for (const name of (await readdir(made)).sort()) await rename(join(made, name), join(out, name));
    }
    return result;
  } finally {
    for (const sig of SIGNALS) process.off(sig, onSignal);
    await rm(staging, { recursive: true, force: true });
  }
}

/** Removes the staging folders in `parent` of export processes that are gone (killed outright). */
async function sweepDead(parent: string): Promise<void> {
  for (const name of await readdir(parent)) {
    const pid = STAGING_NAME.exec(name)?.[1];
    if (pid !== undefined && !alive(Number(pid))) await rm(join(parent, name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: a process of another user's has that pid: alive, and not ours to judge.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
