import type { SourceResult } from '../../discover/discovery.js';
import { describeUnreachable } from '../../fetch/unreachable.js';
import type { Logger } from '../../log/logger.js';
import type { LaneName, LaneRun } from '../lane.js';
import { describeFinding, DRIFT_REMEDY, type DriftMonitor } from '../policies/drift.js';
import { processed, type ProgressCounts } from '../progress.js';
import type { CrawlWindow } from './crawl-plan.js';
import type { CrawlStatus, CrawlSummary } from './crawl-run.js';

/** What a crawl's summary is made from when it ends. */
export interface SummaryParts {
  runId: number;
  lane: LaneName;
  status: CrawlStatus;
  window: CrawlWindow;
  counts: ProgressCounts;
  listed: number;
  durationMs: number;
  run: LaneRun;
  sources: SourceResult[];
  monitor: DriftMonitor;
  needsAttention: number;
  message?: string;
  log: Logger;
}

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
