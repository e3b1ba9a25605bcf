/** A write to storage failed: names the path and the system's reason (ENOSPC, EACCES, …). */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** A failure of newsnap's own storage (SQLite, or the disk under it), not of the site. */
  static isStorageFailure(err: unknown): boolean {
    if (err instanceof StorageError) return true;
    const code = (err as { code?: unknown } | null)?.code;
    return typeof code === 'string' && (code.startsWith('SQLITE_') || code === 'ENOSPC' || code === 'EDQUOT' || code === 'EROFS');
  }

  static from(err: unknown, path: string, doing: string): StorageError {
    if (err instanceof StorageError) return err;
    const code = (err as { code?: string }).code;
    const hint = code === 'ENOSPC' || code === 'SQLITE_FULL' || code === 'EDQUOT' ? ' (disk full: free space and run again)' : code === 'EACCES' || code === 'EPERM' ? ' (permission denied: check the storage folder owner)' : '';
    return new StorageError(path, code, `could not ${doing} ${path}: ${code ?? (err as Error).message}${hint}`, { cause: err });
  }
}
