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
    return typeof code === 'string' && (code.startsWith('SQLITE_') || STORAGE_CODES.has(code));
  }

  /**
   * The state database itself is damaged: no retry will help, and a process that went on would
   * only fail every write. `serve` exits (code 6) so that the orchestrator's restart policy acts.
   */
  get fatal(): boolean {
    return this.code !== undefined && FATAL_CODES.has(primary(this.code));
  }

  static from(err: unknown, path: string, doing: string): StorageError {
    if (err instanceof StorageError) return err;
    const code = (err as { code?: string }).code;
    const hint = code ? (HINTS[code] ?? HINTS[primary(code)] ?? '') : '';
    const message = (err as Error).message ?? String(err);
    // A code with a hint says enough; another is followed by the system's own words.
    const what = !code ? message : hint || message.startsWith(code) ? code : `${code}: ${message}`;
    return new StorageError(path, code, `could not ${doing} ${path}: ${what}${hint}`, { cause: err });
  }
}

/** System codes that are the storage's failure, not the site's (SQLite's own all are). */
const STORAGE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO']);
/** SQLite's codes for a database that cannot be used any more. */
const FATAL_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB']);

/** SQLite's primary code of an extended one: SQLITE_IOERR_WRITE → SQLITE_IOERR. */
function primary(code: string): string {
  return code.startsWith('SQLITE_') ? code.split('_').slice(0, 2).join('_') : code;
}

const DISK_FULL = ' (disk full: free space and run again)';
const HINTS: Record<string, string> = {
  ENOSPC: DISK_FULL,
  EDQUOT: DISK_FULL,
  SQLITE_FULL: DISK_FULL,
  EACCES: ' (permission denied: check the storage folder owner)',
  EPERM: ' (permission denied: check the storage folder owner)',
  EROFS: ' (read-only filesystem: mount the storage read-write)',
  EIO: ' (I/O error: check the disk)',
  SQLITE_IOERR: ' (I/O error: check the disk)',
  SQLITE_BUSY: ' (another process holds the state database: newsnap tries again at its next write)',
  SQLITE_CORRUPT: ' (the state database is damaged: stop newsnap, move state.sqlite aside and run newsnap crawl --dry-run to rebuild it from the manifest)',
  SQLITE_NOTADB: ' (not a database: stop newsnap, move state.sqlite aside and run newsnap crawl --dry-run to rebuild it from the manifest)',
};
