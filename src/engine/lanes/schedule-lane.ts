import { Cron } from 'croner';
import { nowIso } from '../../clock/clock.js';
import type { Logger } from '../../log/logger.js';
import type { ProgressCounts } from '../progress.js';
import { runCrawl, type CrawlDeps, type CrawlRequest, type CrawlSummary } from './crawl-run.js';

/** The running crawl of the schedule, as the status page shows it. */
export interface ScheduledRun {
  startedAt: string;
  live?: { runId: number; counts: ProgressCounts; total: () => number };
}

/** The lane's last run that failed outright (an error, not a summary): what /status shows until a run succeeds. */
export interface LaneFailure {
  at: string;
  error: string;
}

/**
 * The lane of `serve`'s schedule: a crawl on each cron tick, never two at once (a tick that finds
 * one running is skipped and logged). A run that fails ends with its error logged and shown;
 * the next tick runs as usual: nothing of the engine is stopped. A store that never crawled is
 * crawled at once, not at the first tick.
 */
export class ScheduleLane {
  private cron: Cron | null = null;
  private current: (ScheduledRun & { controller: AbortController; done: Promise<CrawlSummary | null> }) | null = null;
  private stopped = false;
  /** Set while the last run failed outright; cleared by the next that ends. */
  lastFailure: LaneFailure | null = null;

  constructor(
    private readonly o: {
      schedule: string;
      jitterSeconds: number;
      log: Logger;
      deps: () => CrawlDeps;
      request: () => CrawlRequest;
      onSkipped: () => void;
      /** Whether the storage has never crawled: then the first crawl starts at once. */
      neverCrawled: () => boolean;
    },
  ) {}

  start(): void {
    const { schedule, jitterSeconds } = this.o;
    this.cron = new Cron(schedule, { protect: true }, () => {
      const delayMs = jitterSeconds > 0 ? Math.random() * jitterSeconds * 1000 : 0;
      setTimeout(() => void this.tick(), delayMs).unref();
    });
    this.o.log.info({ schedule, next: this.nextRun() }, 'schedule started');
    if (this.o.neverCrawled()) {
      this.o.log.info('this storage has never crawled: the first crawl starts now');
      void this.tick();
    }
  }

  nextRun(): string | null {
    return this.cron?.nextRun()?.toISOString() ?? null;
  }

  get running(): ScheduledRun | null {
    return this.current;
  }

  /** Runs a crawl now unless one is running (then the tick is skipped and logged). */
  tick(): Promise<CrawlSummary | null> {
    if (this.stopped) return Promise.resolve(null);
    if (this.current) {
      this.o.log.info({ runningSince: this.current.startedAt }, 'scheduled crawl skipped: the previous one is still running');
      this.o.onSkipped();
      return Promise.resolve(null);
    }
    const controller = new AbortController();
    // Recorded before the run starts: it reports its live counts at once, synchronously.
    const current: NonNullable<ScheduleLane['current']> = { controller, done: Promise.resolve(null), startedAt: nowIso() };
    this.current = current;
    current.done = this.run(current);
    return current.done;
  }

  private async run(current: NonNullable<ScheduleLane['current']>): Promise<CrawlSummary | null> {
    try {
      const summary = await runCrawl({ ...this.o.deps(), onStart: (live) => (current.live = live) }, this.o.request(), current.controller.signal);
      this.o.log.info({ summary }, 'crawl finished');
      this.lastFailure = null;
      return summary;
    } catch (err) {
      // This run failed (a full disk, a locked database); the next tick tries again.
      this.lastFailure = { at: nowIso(), error: (err as Error).message };
      this.o.log.error({ err: (err as Error).message }, 'crawl failed');
      return null;
    } finally {
      if (this.current === current) this.current = null;
    }
  }

  /** Seconds between two ticks. */
  intervalSeconds(): number {
    const [a, b] = new Cron(this.o.schedule, { paused: true }).nextRuns(2);
    return a && b ? (b.getTime() - a.getTime()) / 1000 : 0;
  }

  /** No more ticks; the running crawl is aborted and waited for. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cron?.stop();
    this.current?.controller.abort();
    await this.current?.done;
  }
}
