import { describeUnreachable } from '../../fetch/unreachable.js';
import type { Logger } from '../../log/logger.js';
import type { LaneRun } from '../lane.js';
import { describeFinding, DRIFT_REMEDY, type DriftMonitor } from '../policies/drift.js';
import { processed } from '../progress.js';
import type { CrawlSummary } from './crawl-run.js';

/** What a crawl's summary is made from when it ends: its own fields, the run's accounts, the drift measure. */
export type SummaryParts = Pick<CrawlSummary, 'runId' | 'lane' | 'status' | 'window' | 'counts' | 'listed' | 'durationMs' | 'sources' | 'needsAttention' | 'message'> & {
  run: LaneRun;
  monitor: DriftMonitor;
  log: Logger;
};

/** The summary of a crawl, with its alarms (drift, an unreachable site) logged as errors. */
export function summarize(p: SummaryParts): CrawlSummary {
  const done = processed(p.counts) - p.counts.skipped;
  const drift = p.status === 'interrupted' ? [] : p.monitor.findings();
  if (drift.length > 0) p.log.error({ drift: drift.map(describeFinding), findings: drift, remedy: DRIFT_REMEDY }, 'extraction drift');
  const failure = p.run.unreachable;
  const unreachable = failure ? { address: failure.contacted?.address ?? new URL(failure.url).host, message: describeUnreachable(failure) } : null;
  if (unreachable) p.log.error({ address: unreachable.address, err: failure?.message }, unreachable.message);
  return {
    runId: p.runId,
    kind: p.window.backfill ? 'backfill' : 'incremental',
    lane: p.lane,
    status: p.status,
    window: p.window,
    counts: p.counts,
    listed: p.listed,
    durationMs: Math.round(p.durationMs),
    pagesPerSecond: Number((done / Math.max(p.durationMs / 1000, 0.001)).toFixed(2)),
    requests: { ...p.run.requests },
    sources: p.sources,
    extraction: p.monitor.stats,
    blockedPauses: p.run.blockedPauses,
    needsAttention: p.needsAttention,
    ...(drift.length > 0 ? { drift } : {}),
    ...(unreachable ? { unreachable } : {}),
    ...(p.message ? { message: p.message } : {}),
  };
}
