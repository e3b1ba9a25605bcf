import { availableParallelism } from 'node:os';
import { runReextract, type ReextractRequest, type ReextractSummary } from '../reextract/reextract.js';
import { revisitPolicy } from '../engine/revisit-policy.js';
import type { Context } from './context.js';
import { openStorage } from './open-storage.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { Shutdown } from './shutdown.js';
import { dayRangeFlags } from './command-flags.js';
import { UsageError } from './usage-error.js';

export interface ReextractFlags {
  since?: string;
  until?: string;
  id?: string[];
  workers?: string;
}

export function reextractRequest(flags: ReextractFlags): ReextractRequest {
  const { since, until } = dayRangeFlags(flags);
  for (const id of flags.id ?? []) if (!/^\d{1,20}$/.test(id)) throw new UsageError(`--id ${id} is not an article id (the number at the end of its URL)`);
  const workers = flags.workers === undefined ? availableParallelism() : Number(flags.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new UsageError(`--workers ${flags.workers} must be a whole number of at least 1`);
  return { ...(since ? { since } : {}), ...(until ? { until } : {}), ...(flags.id?.length ? { ids: flags.id } : {}), workers };
}

/** `newsnap reextract`: rebuild snapshots from the WARC archive with the current configuration. No request is sent. */
export async function reextractCommand(ctx: Context, flags: ReextractFlags): Promise<ExitCodeValue> {
  const request = reextractRequest(flags);
  const shutdown = new Shutdown(ctx.log, { exitCode: ExitCode.INTERRUPTED, message: 'stopping: no new pages; extractions in flight finish and are recorded' });
  try {
    // The lock as for a crawl; no WARC file is opened: reextract reads the archive, it adds nothing to it.
    const storage = await openStorage(ctx, shutdown, { warc: false });
    let summary: ReextractSummary;
    try {
      summary = await runReextract(
        {
          storage,
          profile: ctx.config.site,
          revisit: revisitPolicy(ctx.config.revisit, ctx.config.crawl.maxFailedRuns),
          log: ctx.log,
          tty: process.stderr.isTTY === true,
          progressIntervalMs: ctx.config.crawl.progressIntervalMs,
        },
        request,
        shutdown.signal,
      );
    } finally {
      await storage.close();
    }
    ctx.log.info({ summary }, 'reextract finished');
    process.stdout.write(`${describeReextract(summary)}\n`);
    if (summary.status === 'interrupted') return ExitCode.INTERRUPTED;
    return summary.status === 'partial' ? ExitCode.PARTIAL : ExitCode.OK;
  } finally {
    shutdown.dispose();
  }
}

export function describeReextract(s: ReextractSummary): string {
  return `reextract ${s.status} in ${(s.durationMs / 1000).toFixed(1)} s: ${s.pages} archived pages, ${s.written} written (reextracted), ${s.unchanged} unchanged${s.lostRewritten ? ` (${s.lostRewritten} missing or damaged files written again)` : ''}, ${s.notArticle} not articles, ${s.failed} failed; ${s.pagesPerSecond} pages/s with ${s.workers} worker${s.workers === 1 ? '' : 's'}`;
}
