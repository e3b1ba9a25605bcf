import { requireOperatorContact } from '../config/index.js';
import { RETRY_FAILED_HINT, runCrawl, type CrawlRequest, type CrawlSummary } from '../engine/lanes/crawl-run.js';
import { describeFinding, DRIFT_REMEDY } from '../engine/policies/drift.js';
import { processed } from '../engine/progress.js';
import { OUTCOMES } from '../storage/state/article-states.js';
import type { Context } from './context.js';
import { finishDeliveries, startDeliverer } from './delivery.js';
import { openStorage } from './open-storage.js';
import { crawlExitCode, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { createRuntime } from './runtime.js';
import { Shutdown } from './shutdown.js';
import { dayRangeFlags } from './command-flags.js';
import { UsageError } from './usage-error.js';

export interface CrawlFlags {
  since?: string;
  until?: string;
  max?: string;
  dryRun?: boolean;
  retryFailed?: boolean;
}

/** Validates crawl flags into a request; throws UsageError naming the flag. */
export function crawlRequest(flags: CrawlFlags): CrawlRequest {
  if (flags.until !== undefined && flags.since === undefined) usage('--until needs --since');
  const { since, until } = dayRangeFlags(flags);
  const max = flags.max === undefined ? undefined : Number(flags.max);
  if (max !== undefined && !(Number.isInteger(max) && max > 0)) usage(`--max ${flags.max} must be a whole number above 0`);
  return { ...(since ? { since } : {}), ...(until ? { until } : {}), ...(max ? { max } : {}), dryRun: flags.dryRun === true, retryFailed: flags.retryFailed === true };
}

export async function crawlCommand(ctx: Context, flags: CrawlFlags): Promise<ExitCodeValue> {
  requireOperatorContact(ctx.config);
  const request = crawlRequest(flags);
  const shutdown = new Shutdown(ctx.log, { exitCode: ExitCode.INTERRUPTED });
  try {
    const storage = await openStorage(ctx, shutdown);
    const runtime = createRuntime(ctx, shutdown, storage, { extractionThreads: true });
    const deliverer = startDeliverer(ctx, storage, shutdown);
    let summary: CrawlSummary;
    try {
      summary = await runCrawl({ engine: runtime.engine, lane: 'crawl', out: process.stdout, tty: process.stderr.isTTY === true }, request, shutdown.signal);
    } finally {
      // The browser and the connections close first, deliveries get their moment; the lock is released last.
      await runtime.close();
      await finishDeliveries(ctx, storage, deliverer).catch((err: Error) => ctx.log.error({ err: err.message }, 'webhook deliveries stopped'));
      await storage.close();
    }
    ctx.log.info({ summary }, 'crawl finished');
    (flags.dryRun ? process.stderr : process.stdout).write(`${describeSummary(summary)}\n`);
    return crawlExitCode(summary);
  } finally {
    shutdown.dispose();
  }
}

function usage(message: string): never {
  throw new UsageError(message);
}

export function describeSummary(s: CrawlSummary): string {
  const c = s.counts;
  const byStatus = Object.entries(s.requests)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  const total = Object.values(s.requests).reduce((a, b) => a + b, 0);
  const what = s.listed > 0 || processed(c) === 0 ? `${s.listed} listed, ` : '';
  const word = (kind: keyof typeof OUTCOMES) => OUTCOMES[kind].word;
  // Outcomes that are rare are named only when they happened.
  const rare = [
    c.restored > 0 ? `${c.restored} ${word('restored')}` : '',
    c.missing > 0 ? `${c.missing} ${word('missing')}` : '',
    c.blocked > 0 ? `${c.blocked} ${word('blocked')}` : '',
    c.unreachable > 0 ? `${c.unreachable} ${word('unreachable')}` : '',
    c.postponed > 0 ? `${c.postponed} ${word('postponed')}` : '',
  ].filter(Boolean);
  return [
    `crawl ${s.status} (${s.kind} ${s.window.since}–${s.window.until}) in ${(s.durationMs / 1000).toFixed(1)} s: ${what}${c.discovered} discovered, ${c.written} ${word('written')}, ${c.updated} ${word('updated')}, ${c.unchanged} ${word('unchanged')}, ${c.gone} ${word('gone')}, ${rare.map((r) => `${r}, `).join('')}${c.notArticle} ${word('not-article')}, ${c.failed} ${word('failed')}, ${c.skipped} ${word('disallowed')}`,
    ...(c.revisits + c.deferred > 0 ? [`revisits: ${c.revisits} checked, ${c.deferred} due but left for later runs (revisit.maxPerRun)`] : []),
    ...(s.drift ? [`EXTRACTION DRIFT: ${s.drift.map(describeFinding).join('; ')}. Remedy: ${DRIFT_REMEDY}`] : []),
    ...(s.blockedPauses > 0 ? [`BLOCKED: the site answered with block pages ${c.blocked} times; the run paused ${s.blockedPauses} time(s)`] : []),
    ...(s.unreachable ? [`UNREACHABLE: ${s.unreachable.message}`] : []),
    ...(s.needsAttention > 0 ? [`NEEDS ATTENTION: ${s.needsAttention} article(s) failed all their runs (crawl.maxFailedRuns) and are retried only on revisit.givenUpSchedule; ${RETRY_FAILED_HINT}`] : []),
    `requests: ${total}${byStatus ? ` (${byStatus})` : ''}; ${s.pagesPerSecond} pages/s${s.message && s.message !== s.unreachable?.message ? `\n${s.message}` : ''}`,
  ].join('\n');
}
