import { requireOperatorContact } from '../config/index.js';
import { createApi, isLoopback, listen } from '../service/http-api.js';
import { Waiters } from '../service/events-api.js';
import { CrawlService } from '../service/crawl-service.js';
import { ExportBuilds } from '../service/export-builds.js';
import { exportSite } from '../export/exporters.js';
import { join } from 'node:path';
import { ServiceMetrics } from '../service/metrics.js';
import type { Context } from './context.js';
import { changeFeed, startDeliverer } from './delivery.js';
import { openStorage } from './open-storage.js';
import { storageProblem } from '../storage/storage-access.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { createRuntime } from './runtime.js';
import { Shutdown } from './shutdown.js';
import { HeavyReads } from '../service/reads/heavy-reads.js';
import { LoopDelayMonitor } from '../service/loop-delay.js';
import { registerReadMetrics } from '../service/read-metrics.js';
import { cpuPlan } from '../threads/cpu-plan.js';
import type { RequestScheduler } from '../engine/request-scheduler.js';
import type { Storage } from '../storage/storage.js';

/**
 * Service mode: crawls on the configured schedule and serves the HTTP API until SIGTERM, SIGINT
 * or SIGHUP, then stops within the shutdown deadline and exits 0.
 */
export async function serveCommand(ctx: Context): Promise<ExitCodeValue> {
  requireOperatorContact(ctx.config);
  const shutdown = new Shutdown(ctx.log, { exitCode: ExitCode.OK, message: 'stopping: no new crawls; requests and renders in flight aborted, writes finishing, state saved' });
  // Every lane guards its own failures; one that escapes is a bug: said loudly, and the service goes on.
  const onRejection = (err: unknown) => ctx.log.error({ err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'unhandled rejection: a bug in newsnap (the service goes on); please report it');
  process.on('unhandledRejection', onRejection);
  try {
    const storage = await openStorage(ctx, shutdown);
    // The state database itself damaged: nothing can go on; exit for the orchestrator to restart us.
    storage.health.onFatal((err) => shutdown.exitNow(ExitCode.STORAGE, err.message));
    const runtime = createRuntime(ctx, shutdown, storage, { extractionThreads: true });
    // The metrics read the same alarms the pages and /status show (once a scrape); the service is made just below.
    const metrics = serviceMetrics(ctx, runtime.scheduler, storage, () => service);
    const deliverer = startDeliverer(ctx, storage, shutdown, (o) => metrics.webhook(o));
    let stateOpen = true;
    const service: CrawlService = new CrawlService({ config: ctx.config, engine: runtime.engine, storage, metrics });
    const exports = await ExportBuilds.open({ root: ctx.config.storage, staging: join(ctx.config.storage, 'exports'), maxQueued: ctx.config.serve.maxQueuedExports, data: exportSite(ctx.config), log: ctx.log });
    const reads = new HeavyReads({
      data: { root: ctx.config.storage, searchIndex: ctx.config.search.index, siteName: ctx.config.site.name, siteHost: ctx.urls.base.hostname, storageId: storage.id },
      max: ctx.config.serve.maxHeavyReads,
      timeoutMs: ctx.config.serve.readTimeoutMs,
      nice: cpuPlan().readerNice,
      log: ctx.log,
    });
    // Reads and exports in flight are abandoned at the first signal: nothing of theirs needs saving.
    let readersClosed: Promise<unknown> | null = null;
    const closeReaders = () => (readersClosed ??= Promise.all([reads.close(), exports.close()]));
    shutdown.signal.addEventListener('abort', () => void closeReaders(), { once: true });
    shutdown.onForce(() => {
      reads.killAll();
      exports.killAll();
    });
    const loopDelay = new LoopDelayMonitor();
    const status = () => ({
      ...service.status(),
      reads: { ...reads.status(), exports: exports.status(), eventLoopDelay: loopDelay.now() },
      index: storage.indexLag(),
    });
    registerReadMetrics(metrics.registry, { loopDelay: () => loopDelay.now(), reads: () => reads.status(), indexBehind: () => storage.indexLag().behind });
    const server = createApi({
      service,
      metrics,
      urls: ctx.urls,
      log: ctx.log,
      storage: ctx.config.storage,
      token: ctx.config.serve.token,
      protectPages: ctx.config.serve.protectPages,
      isStateOpen: () => stateOpen && !shutdown.signal.aborted,
      storageHealth: storage.health,
      changes: { feed: changeFeed(storage), onLine: (listener) => storage.onLine(listener), lastSeq: () => storage.lastSeq, storageId: storage.id },
      waiters: new Waiters(),
      stopping: shutdown.signal,
      reads,
      exports,
      status,
    });
    const { host, port } = ctx.config.serve;
    try {
      const url = await listen(server, port, host);
      ctx.log.info({ url, storage: ctx.config.storage, origin: ctx.config.origin || ctx.config.site.baseUrl }, 'newsnap serve listening');
      if (!ctx.config.serve.token && !isLoopbackHost(host)) {
        ctx.log.warn({ host }, `serve listens on ${host} without serve.token: POST /fetch and /backfill, the searches and the exports are refused (403) from other machines until serve.token (NEWSNAP_SERVE_TOKEN) is set`);
      }
      service.start();
    } catch (err) {
      server.close();
      await runtime.close();
      await storage.close();
      throw err;
    }
    if (!shutdown.signal.aborted) await new Promise((resolve) => shutdown.signal.addEventListener('abort', resolve, { once: true }));
    // Order: stop taking work and abort what is in flight (the browser closes with its renders),
    // let writes finish and the crawl's summary be saved, close the API, then the state; the
    // lock is released last.
    const browserClosed = runtime.stop();
    await service.stop();
    await browserClosed;
    await deliverer.stop();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      // A response being flushed gets a moment; then every connection goes.
      setTimeout(() => server.closeAllConnections(), 1000).unref();
    });
    await closeReaders();
    loopDelay.stop();
    await runtime.close();
    stateOpen = false;
    await storage.close();
    ctx.log.info({ signal: shutdown.by }, 'stopped');
    return ExitCode.OK;
  } finally {
    process.off('unhandledRejection', onRejection);
    shutdown.dispose();
  }
}

/** serve's metrics, reading storage, state and the service's alarms (`service` exists by the first scrape). */
function serviceMetrics(ctx: Context, scheduler: RequestScheduler, storage: Storage, service: () => CrawlService): ServiceMetrics {
  const alarms = memoized(500, () => service().alarmsNow());
  return new ServiceMetrics(scheduler, {
    alarms: (): { drift: boolean; blocked: boolean } => {
      const { drift, blocked } = alarms();
      return { drift: drift !== null, blocked: blocked !== null };
    },
    needsAttention: () => storage.state.reports.countNeedingAttention(ctx.config.crawl.maxFailedRuns),
    unreachableRuns: () => alarms().unreachable?.runsInARow ?? 0,
    storageProblem: () => storageProblem(ctx.config.storage),
    lastSuccessMs: () => {
      const at = storage.state.runs.lastSuccess()?.finishedAt;
      return at ? Date.parse(at) : null;
    },
    scheduleIntervalSeconds: () => service().scheduleIntervalSeconds(),
    sweepOldestReadAgeSeconds: () => service().sweepOldestReadAgeSeconds(),
    webhookBacklog: () => storage.state.outbox.backlog(),
    storageErrors: () => storage.health.errors,
    storageFailing: () => storage.health.current().map((p) => p.op),
  });
}

/** Whether a listen address reaches only this machine. */
function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopback(host);
}

/** `read`, computed at most once every `ms`: a metrics scrape reads the alarms for several gauges. */
function memoized<T>(ms: number, read: () => T): () => T {
  let at = Number.NEGATIVE_INFINITY;
  let value: T;
  return () => {
    if (performance.now() - at > ms) {
      value = read();
      at = performance.now();
    }
    return value;
  };
}
