import { delay } from '../../clock/delay.js';
import { linkedSignal } from '../../clock/abort.js';
import { nowIso, nowMs } from '../../clock/clock.js';
import { runCrawl, type CrawlDeps, type CrawlSummary } from './crawl-run.js';
import { parseDay } from './crawl-plan.js';
import { processed, type ProgressCounts } from '../progress.js';
import type { MetaStore } from '../../storage/state/state-store.js';
import type { Logger } from '../../log/logger.js';
import { siteToday } from '../../site/calendar.js';

/** A backfill `serve` works through: days `since`..`until` (YYYYMMDD). */
export interface BackfillRange {
  since: string;
  until: string;
  /**
   * Asked without an end ("until" empty: up to today): `until` is the day it was asked. The same
   * open-ended backfill asked again on a later day (a restart with the same configuration) is the
   * same backfill, not a new one.
   */
  openEnded?: boolean;
}

/** What /status and the status page show of the backfill. */
export interface BackfillStatus extends BackfillRange {
  requestedAt: string;
  /** discovering: reading the range's sitemaps; fetching: working through its articles; waiting: the site failed, tried again later; done. */
  phase: 'discovering' | 'fetching' | 'waiting' | 'done';
  runId: number | null;
  /** Articles of this run of the backfill done, and to do (0 while discovering). */
  done: number;
  total: number;
  counts: ProgressCounts | null;
  /** Articles an hour at the pace so far, and when the rest should be done at it. */
  perHour: number | null;
  etaAt: string | null;
  completedAt: string | null;
  /** Set while its runs fail (the site, our storage): how many in a row, the last cause, and when it tries again. */
  failing: { runsInARow: number; error: string; retryAt: string | null } | null;
}

interface Stored extends BackfillRange {
  requestedAt: string;
  completedAt?: string;
}

/** The meta key the backfill lives under: it survives restarts. */
const META_KEY = 'serve.backfill';
/** After a backfill run that failed (the site unreachable, a full disk), the next try waits this long, doubling up to the longest. */
const FIRST_RETRY_MS = 30_000;
const LONGEST_RETRY_MS = 15 * 60_000;

export class BackfillConflict extends Error {
  override readonly name = 'BackfillConflict';
}

/**
 * A backfill inside `serve`, beside its schedule: a crawl of the range with a plan of its own —
 * the range's new articles, one at a time, no due checks (the revisit lane has those, of every
 * age) — in the backfill lane, the last in the queue's order: it takes what the other lanes leave
 * of the rate limit. It is kept in state, so a restart resumes it; while it is under way, the
 * range's new work is its own (scheduled crawls leave those days to it). A run that fails backs
 * off and shows as failing; it holds no other lane back.
 */
export class BackfillLane {
  private stored: Stored | null;
  private running: { controller: AbortController; done: Promise<void>; live?: { runId: number; counts: ProgressCounts; total: () => number }; startedMs: number } | null = null;
  private waitingUntil: number | null = null;
  /** Runs in a row that did not finish, and why the last did not: what /status shows while it backs off. */
  private failing: { runsInARow: number; error: string } | null = null;
  private readonly stopping = new AbortController();

  constructor(
    private readonly meta: MetaStore,
    private readonly crawlDeps: () => CrawlDeps,
    private readonly log: Logger,
  ) {
    const raw = meta.get(META_KEY);
    this.stored = raw ? (JSON.parse(raw) as Stored) : null;
  }

  /** Whether a backfill is under way. */
  get active(): boolean {
    return this.stored !== null && !this.stored.completedAt;
  }

  /** The days whose new work is the backfill's while it is under way (scheduled crawls leave them to it), or undefined. */
  get ownDays(): { since: string; until: string } | undefined {
    return this.active && this.stored ? { since: this.stored.since, until: this.stored.until } : undefined;
  }

  /**
   * Asks for a backfill of `range`: the one configured (`serve.backfill`) or posted. The same range
   * again changes nothing (a finished one is not redone); another while one is under way is a
   * conflict. Returns its status.
   */
  request(range: BackfillRange): BackfillStatus {
    if (this.stored && sameBackfill(this.stored, range)) {
      this.resume();
      return this.status() as BackfillStatus;
    }
    if (this.active) throw new BackfillConflict(`a backfill of ${this.stored!.since}..${this.stored!.until} is under way; ask again when it is done`);
    this.stored = { since: range.since, until: range.until, ...(range.openEnded ? { openEnded: true } : {}), requestedAt: nowIso() };
    this.meta.set(META_KEY, JSON.stringify(this.stored));
    this.log.info(range, 'backfill requested');
    this.resume();
    return this.status() as BackfillStatus;
  }

  /** Starts (or resumes after a restart) the backfill in state, unless it is done. */
  resume(): void {
    if (!this.active || this.running || this.stopping.signal.aborted) return;
    const controller = new AbortController();
    const running: NonNullable<BackfillLane['running']> = { controller, done: Promise.resolve(), startedMs: nowMs() };
    this.running = running;
    running.done = this.work(running)
      .catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'backfill lane failed; it resumes at the next request or restart'))
      .finally(() => {
        if (this.running === running) this.running = null;
      });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.running?.controller.abort();
    await this.running?.done;
  }

  status(): BackfillStatus | null {
    const s = this.stored;
    if (!s) return null;
    const live = this.running?.live;
    const done = live ? processed(live.counts) : 0;
    const total = live?.total() ?? 0;
    const hours = this.running ? (nowMs() - this.running.startedMs) / 3_600_000 : 0;
    const perHour = live && done > 0 && hours > 0 ? done / hours : null;
    const phase = s.completedAt ? 'done' : this.waitingUntil !== null ? 'waiting' : total > 0 ? 'fetching' : 'discovering';
    return {
      since: s.since,
      until: s.until,
      requestedAt: s.requestedAt,
      phase,
      runId: live?.runId ?? null,
      done,
      total,
      counts: live ? { ...live.counts } : null,
      perHour: perHour === null ? null : Math.round(perHour),
      etaAt: perHour && total > done ? new Date(nowMs() + ((total - done) / perHour) * 3_600_000).toISOString() : null,
      completedAt: s.completedAt ?? null,
      failing: this.failing ? { ...this.failing, retryAt: this.waitingUntil === null ? null : new Date(this.waitingUntil).toISOString() } : null,
    };
  }

  private async work(running: NonNullable<BackfillLane['running']>): Promise<void> {
    const range = this.stored as Stored;
    const link = linkedSignal([running.controller.signal, this.stopping.signal]);
    try {
      await this.workWithin(range, running, link.signal);
    } finally {
      link.dispose();
    }
  }

  /** Records the backfill done; false when state could not take it (then the lane tries again later, and the next run of the range is quick). */
  private complete(range: Stored, summary: CrawlSummary): boolean {
    const completed = { ...range, completedAt: nowIso() };
    try {
      this.meta.set(META_KEY, JSON.stringify(completed));
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'backfill finished, but state could not record it: it is recorded at the next try');
      return false;
    }
    this.stored = completed;
    this.log.info({ since: range.since, until: range.until, counts: summary.counts, status: summary.status }, 'backfill finished');
    return true;
  }

  private async workWithin(range: Stored, running: NonNullable<BackfillLane['running']>, signal: AbortSignal): Promise<void> {
    for (let failures = 0; !signal.aborted; failures++) {
      this.waitingUntil = null;
      let summary: CrawlSummary | null = null;
      let error = '';
      try {
        // The backfill's plan: its range's new articles, one at a time; due checks are the revisit lane's.
        summary = await runCrawl({ ...this.crawlDeps(), onStart: (live) => (running.live = live) }, { since: range.since, until: range.until, revisits: false, inFlight: 1 }, signal);
        error = summary.message ?? `the run ended ${summary.status}`;
      } catch (err) {
        // This run of the lane failed (a full disk, a locked database): the backfill tries again.
        error = (err as Error).message;
        this.log.error({ err: error }, 'backfill run failed');
      }
      if (signal.aborted || summary?.status === 'interrupted') return;
      if (summary && (summary.status === 'done' || summary.status === 'partial') && this.complete(range, summary)) {
        this.failing = null;
        return;
      }
      this.failing = { runsInARow: failures + 1, error };
      const wait = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** failures);
      this.waitingUntil = nowMs() + wait;
      this.log.warn({ since: range.since, until: range.until, status: summary?.status ?? 'error', retryInMs: wait }, 'backfill run did not finish: trying again later');
      await delay(wait, signal);
    }
  }
}

/** The same backfill: the same first day, and the same last one (or both open-ended). */
function sameBackfill(stored: Stored, asked: BackfillRange): boolean {
  if (stored.since !== asked.since) return false;
  return stored.openEnded || asked.openEnded ? Boolean(stored.openEnded) === Boolean(asked.openEnded) : stored.until === asked.until;
}

/** A backfill range from a config value or a request: both days, since ≤ until ≤ today; a string says what is wrong. */
export function parseBackfillRange(input: { since?: unknown; until?: unknown }): BackfillRange | string {
  const since = typeof input.since === 'string' ? parseDay(input.since) : null;
  if (!since) return `"since" must be a day, YYYY-MM-DD; got ${JSON.stringify(input.since)}`;
  const today = siteToday(nowMs());
  const openEnded = input.until === undefined || input.until === '';
  const until = openEnded ? today : typeof input.until === 'string' ? parseDay(input.until) : null;
  if (!until) return `"until" must be a day, YYYY-MM-DD; got ${JSON.stringify(input.until)}`;
  if (since > until) return `"since" (${input.since as string}) is after "until" (${until})`;
  return { since, until: until > today ? today : until, ...(openEnded ? { openEnded: true } : {}) };
}
