import { requireOperatorContact } from '../config/index.js';
import { createApi, listen } from '../service/http-api.js';
import { CrawlService } from '../engine/lanes/crawl-service.js';
import { ServiceMetrics } from '../service/metrics.js';
import type { Context } from './context.js';
import { changeFeed, startDeliverer } from './delivery.js';
import { openStorage } from './open-storage.js';
import { storageProblem } from '../storage/storage-access.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { createRuntime } from './runtime.js';
import { Shutdown } from './shutdown.js';
import { searchReaderHolder } from './search-reader-holder.js';

/**
 * Service mode: crawls on the configured schedule and serves the HTTP API until SIGTERM, SIGINT
 * or SIGHUP, then stops within the shutdown deadline and exits 0.
 */
export async function serveCommand(ctx: Context): Promise<ExitCodeValue> {
  requireOperatorContact(ctx.config);
  const shutdown = new Shutdown(ctx.log, { exitCode: ExitCode.OK, message: 'stopping: no new crawls; requests and renders in flight aborted, writes finishing, state saved' });
  try {
    const storage = await openStorage(ctx, shutdown);
    const runtime = createRuntime(ctx, shutdown, storage, { extractionThreads: true });
    // The metrics read the same status the pages and /status show; the service is made just below.
    const metrics: ServiceMetrics = new ServiceMetrics(runtime.http, runtime.scheduler, {
      alarms: (): { drift: boolean; blocked: boolean } => {
        const { drift, blocked } = service.status().alarms;
        return { drift: drift !== null, blocked: blocked !== null };
      },
      needsAttention: () => storage.state.reports.countNeedingAttention(ctx.config.crawl.maxFailedRuns),
      unreachableRuns: () => service.status().alarms.unreachable?.runsInARow ?? 0,
      storageProblem: () => storageProblem(ctx.config.storage),
      lastSuccessMs: () => {
        const at = storage.state.runs.lastSuccess()?.finishedAt;
        return at ? Date.parse(at) : null;
      },
      scheduleIntervalSeconds: () => service.scheduleIntervalSeconds(),
      webhookBacklog: () => storage.state.outbox.backlog(),
    });
    const deliverer = startDeliverer(ctx, storage, shutdown, (o) => metrics.webhook(o));
    let stateOpen = true;
    const search = searchReaderHolder(ctx);
    const service: CrawlService = new CrawlService({ config: ctx.config, log: ctx.log, urls: ctx.urls, http: runtime.http, scheduler: runtime.scheduler, pipeline: runtime.pipeline, health: runtime.health, storage, metrics, maxQueuedFetches: ctx.config.serve.maxQueuedFetches });
    const server = createApi({
      service,
      metrics,
      urls: ctx.urls,
      log: ctx.log,
      storage: ctx.config.storage,
      token: ctx.config.serve.token,
      protectPages: ctx.config.serve.protectPages,
      isStateOpen: () => stateOpen && !shutdown.signal.aborted,
      changes: { feed: changeFeed(storage), onLine: (listener) => storage.onLine(listener) },
      feeds: { state: storage.state, root: storage.root, storageId: storage.id, siteName: ctx.config.site.name, siteHost: ctx.urls.base.hostname },
      stopping: shutdown.signal,
      search: search.get,
    });
    const { host, port } = ctx.config.serve;
    try {
      const url = await listen(server, port, host);
      ctx.log.info({ url, storage: ctx.config.storage, origin: ctx.config.origin || ctx.config.site.baseUrl }, 'newsnap serve listening');
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
    await runtime.close();
    stateOpen = false;
    search.close();
    await storage.close();
    ctx.log.info({ signal: shutdown.by }, 'stopped');
    return ExitCode.OK;
  } finally {
    shutdown.dispose();
  }
}
