import type { DriftFinding } from '../engine/policies/drift.js';
import type { ProgressCounts } from '../engine/progress.js';
import type { describeProxy } from '../fetch/proxy.js';
import type { ArticleState, RunRecord } from '../storage/state/state-store.js';
import type { StorageProblem } from '../storage/storage-health.js';
import type { LaneFailure } from '../engine/lanes/schedule-lane.js';
import type { BackfillStatus } from '../engine/lanes/backfill-lane.js';
import type { FeedWatchStatus } from '../engine/lanes/feed-watch.js';
import type { SweepStatus } from '../engine/lanes/sweep-lane.js';

export interface Alarms {
  drift: { runId: number; at: string | null; findings: DriftFinding[]; said: string[]; remedy: string } | null;
  blocked: { runId: number; at: string | null; pauses: number } | null;
  /** The last runs stopped because nothing answered: how many in a row, the address and why. */
  unreachable: { runId: number; at: string | null; runsInARow: number; address: string; message: string } | null;
  /** Articles that failed all their runs: retried only on the slow schedule. */
  needsAttention: { articles: number; maxFailedRuns: number; schedule: string; remedy: string } | null;
  /** Webhook deliveries that failed their last attempt, and endpoints a 410 turned off. */
  webhooks: { dead: number; disabled: string[]; remedy: string } | null;
  /** Writes to the storage fail now (a full disk, a locked database): what fails, since when, and why. */
  storage: { problems: StorageProblem[]; said: string; remedy: string } | null;
  /** The schedule's last crawl failed outright (its error); cleared by the next that ends. */
  scheduleFailure: LaneFailure | null;
}

/** A webhook endpoint, as /status and the status page show it (credentials in its URL hidden). */
export interface WebhookStatus {
  url: string;
  events: readonly string[];
  pending: number;
  delivered: number;
  dead: number;
  disabled: { at: string; reason: string } | null;
  lastError: string | null;
}

/** `GET /status`, and what the status page shows of the same. */
export interface StatusDocument {
  site: string;
  storage: string;
  /** When this service started: `outcomes` count from here. */
  startedAt: string;
  alarms: Alarms;
  running: { runId: number | null; startedAt: string; done: number; total: number; counts: ProgressCounts } | null;
  nextRun: string | null;
  lastSuccess: { runId: number; finishedAt: string } | null;
  queue: { waiting: number; running: number; manualFetchesQueued: number };
  proxy: ReturnType<typeof describeProxy>;
  articles: Record<ArticleState, number> & { needsAttention: number };
  outcomes: Record<string, number>;
  recentRuns: RunRecord[];
  webhooks: WebhookStatus[];
  /** The RSS watch between crawls (discovery.feedEvery). */
  feedWatch: FeedWatchStatus;
  /** How soon articles published in the last 24 h were first captured. */
  freshness: Freshness;
  /** The backfill serve works through beside its schedule, if any. */
  backfill: BackfillStatus | null;
  /** The sweep of the history (discovery.sweepEvery): every month's sitemap read again; null when off. */
  sweep: SweepStatus | null;
  /** serve's readers: heavy reads, exports, and how responsive the engine's thread stays. */
  reads?: ReadsStatus;
  /** The search index against the manifest lines state has applied. */
  index?: IndexStatus;
}

/** The heavy reads of serve's API since it started. */
export interface HeavyReadsStatus {
  running: number;
  max: number;
  timeoutMs: number;
  answered: number;
  /** Refused: every place was taken (503 with Retry-After). */
  refused: number;
  /** Stopped at serve.readTimeoutMs (503). */
  timedOut: number;
  /** Their client hung up first: the read was stopped and its place freed. */
  hungUp: number;
  /** The reader failed (a bug, or its process died): 500. */
  failed: number;
}

export interface ReadsStatus extends HeavyReadsStatus {
  /** Export builds: one at a time, the rest queued (serve.maxQueuedExports), refused past the queue. */
  exports: { running: number; queued: number; refused: number };
  /** The engine thread's event-loop delay over the last minute or two (ms). */
  eventLoopDelay: { p50Ms: number; p99Ms: number; maxMs: number };
}

/** How far the search index is behind the manifest; `behind` null when this run keeps none. */
export interface IndexStatus {
  on: boolean;
  indexedSeq: number | null;
  manifestSeq: number;
  behind: number | null;
}

/** The capture lag of articles published in the last 24 h: from article:published_time to the first capture. */
export interface Freshness {
  captured: number;
  medianSeconds: number | null;
  p95Seconds: number | null;
}

/** Median and 95th percentile of lags sorted ascending (nearest rank). */
export function freshness(lags: number[]): Freshness {
  const at = (q: number) => (lags.length === 0 ? null : Math.round(lags[Math.min(lags.length - 1, Math.ceil(q * lags.length) - 1)] as number));
  return { captured: lags.length, medianSeconds: at(0.5), p95Seconds: at(0.95) };
}

/** Dead deliveries and disabled endpoints, when there are any. */
export function webhookAlarm(webhooks: WebhookStatus[]): Alarms['webhooks'] {
  const dead = webhooks.reduce((n, w) => n + w.dead, 0);
  const disabled = webhooks.filter((w) => w.disabled).map((w) => w.url);
  if (dead === 0 && disabled.length === 0) return null;
  return { dead, disabled, remedy: 'fix the receiver, then newsnap deliver --replay [--url URL] sends the dead deliveries again (and enables an endpoint a 410 turned off)' };
}

/** Writes that fail now, when any do. */
export function storageAlarm(problems: StorageProblem[]): Alarms['storage'] {
  if (problems.length === 0) return null;
  return {
    problems,
    said: problems.map((p) => `${p.op} writes fail since ${p.since}: ${p.message}`).join('; '),
    remedy: 'free space on the storage volume (or end what locks state.sqlite); newsnap goes on by itself once it can write, nothing is lost',
  };
}
