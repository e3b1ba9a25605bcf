import { describeUnreachable } from '../../fetch/unreachable.js';
import type { Logger } from '../../log/logger.js';
import type { LaneRun } from '../lane.js';
import { describeFinding, DRIFT_REMEDY, type DriftMonitor } from '../policies/drift.js';
import { processed } from '../progress.js';
import type { SourceResult } from '../../discover/discovery.js';
import type { LaneName } from '../lane.js';
import type { DriftFinding, ExtractionStats } from '../policies/drift.js';
import type { ProgressCounts } from '../progress.js';
import type { CrawlWindow } from './crawl-plan.js';

export type CrawlStatus = 'done' | 'partial' | 'failed' | 'interrupted';

export interface CrawlSummary {
  runId: number;
  kind: 'incremental' | 'backfill';
  /** The lane that ran it (the CLI's crawl, serve's schedule or backfill). */
  lane: LaneName;
  status: CrawlStatus;
  window: CrawlWindow;
  counts: ProgressCounts;
  /** Work listed by a dry run. */
  listed: number;
  durationMs: number;
  pagesPerSecond: number;
  /** This run's requests by HTTP status, or by error kind when there was no response (other lanes' not counted). */
  requests: Record<string, number>;
  sources: SourceResult[];
  /** What extraction gave this run: the drift alarm's measure (and a later run's baseline). */
  extraction: ExtractionStats;
  /** The drift alarm: what dropped, against the baseline of earlier runs. Absent when all is well. */
  drift?: DriftFinding[];
  /** Blocked pages in a row paused the queue this many times, set off by this run's pages. */
  blockedPauses: number;
  /** The run stopped because nothing answered: the address contacted and why. */
  unreachable?: { address: string; message: string };
  /** Articles that failed all their runs, after this one (retried only on the slow schedule). */
  needsAttention: number;
  message?: string;
}

/** What a crawl's summary is made from when it ends: its own fields, the run's accounts, the drift measure. */
export type SummaryParts = Pick<CrawlSummary, 'runId' | 'lane' | 'status' | 'window' | 'counts' | 'listed' | 'durationMs' | 'sources' | 'needsAttention' | 'message'> & {
  /** The run's accounts (a crawl's own lane run and its revisits' together). */
  run: Pick<LaneRun, 'requests' | 'blockedPauses' | 'unreachable'>;
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
