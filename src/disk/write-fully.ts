import type { FileHandle } from 'node:fs/promises';

/**
 * Writes every byte of `data`, at `position` (or the handle's own position), looping over short
 * writes: `FileHandle.write` may write less than asked (a disk filling up), and a record whose
 * tail is missing would tear the file and put every later offset wrong. Throws when a write
 * fails or writes nothing; the caller then cuts the file back to where it stood.
 */
export async function writeFully(handle: FileHandle, data: Buffer, position?: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position === undefined ? null : position + done);
    if (bytesWritten <= 0) throw Object.assign(new Error(`wrote ${done} of ${data.length} bytes, then nothing`), { code: 'ENOSPC' });
    done += bytesWritten;
  }
}
