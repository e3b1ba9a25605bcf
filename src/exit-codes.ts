/** Exit codes of every newsnap command; `--help` and the README list them. */
export const ExitCode = {
  /** Everything asked for succeeded. */
  OK: 0,
  /** Some items succeeded, some failed (see the summary). */
  PARTIAL: 1,
  /** Bad arguments or configuration: nothing was attempted. */
  USAGE: 2,
  /** Nothing could be done: every item failed, or the site could not be reached. */
  FAILED: 3,
  /** Another newsnap run holds the storage folder. */
  LOCKED: 4,
  /** `extract`, `fetch`: the page is not an article (every URL given to fetch). */
  NOT_ARTICLE: 5,
  /** Storage could not be written (disk full, permissions). */
  STORAGE: 6,
  /** `crawl`: the drift alarm went off: extraction stopped matching the site's markup. */
  DRIFT: 7,
  /** The site answered with challenge or block pages (HTTP 403/451, or a page without its markup). */
  BLOCKED: 8,
  /** `verify`: the storage folder is not whole; each problem is listed with its fix. */
  DAMAGED: 9,
  /** Stopped by SIGINT/SIGTERM before the work was done; state is saved, the next run resumes. */
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The signals that stop a command (it then exits ExitCode.INTERRUPTED). */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0    all done
  1    partial failure: some items failed (each is reported)
  2    usage or configuration error: nothing was attempted
  3    total failure: nothing succeeded, or the site could not be reached (the message names the address and the cause)
  4    locked: another newsnap run is using the storage folder
  5    extract, fetch: the page is not an article (for fetch: every URL given)
  6    storage error: the storage folder cannot be written (permissions, disk full)
  7    crawl: extraction drift (the site's markup changed): fix site.selectors, then newsnap reextract
  8    crawl, fetch: blocked: the site answered with challenge or block pages (HTTP 403/451); check the network or proxy newsnap uses
  9    verify: the storage folder is not whole (each problem is listed with its fix)
  130  interrupted (SIGINT/SIGTERM/SIGHUP); state saved, run again to resume`;

/** The code `crawl` ends with for a run that ended so (the status page shows it for every run). */
export function crawlExitCode(run: { status: 'done' | 'partial' | 'failed' | 'interrupted'; drift?: unknown[]; blockedPauses?: number }): ExitCodeValue {
  if (run.status === 'interrupted') return ExitCode.INTERRUPTED;
  if (run.drift && run.drift.length > 0) return ExitCode.DRIFT;
  if ((run.blockedPauses ?? 0) > 0) return ExitCode.BLOCKED;
  return { done: ExitCode.OK, partial: ExitCode.PARTIAL, failed: ExitCode.FAILED }[run.status];
}
