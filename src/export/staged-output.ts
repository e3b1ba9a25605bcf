import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Makes an export's file or folder beside where it goes, then moves it there: `out` is whole or
 * not there at all, and nothing half made is ever left at it. The staging folder
 * (`.newsnap-export-…`, in `out`'s folder, so the move is a rename on one file system) holds
 * the export's scratch files too, and goes when the export ends, failed or not. `out`'s folder
 * is made when it is missing. A folder (Parquet) is moved in file by file: an existing folder
 * keeps what else it holds, and each file is replaced whole.
 */
export async function stagedOutput<T>(out: string, kind: 'file' | 'folder', make: (path: string, scratch: string) => Promise<T>): Promise<T> {
  const parent = dirname(resolve(out));
  await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(join(parent, '.newsnap-export-'));
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
    await rm(staging, { recursive: true, force: true });
  }
}
