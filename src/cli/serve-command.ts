import { Archive } from '../crawl/archive.js';
import { createApi, listen } from '../service/http-api.js';
import { CrawlService } from '../service/crawl-service.js';
import { ServiceMetrics } from '../service/metrics.js';
import type { Context } from './context.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { createRuntime } from './runtime.js';

/**
 * Service mode: crawls on the configured schedule and serves the HTTP API until SIGTERM or
 * SIGINT, then stops scheduling, lets a running crawl reach a safe point, and exits 0.
 */
export async function serveCommand(ctx: Context): Promise<ExitCodeValue> {
  const archive = await Archive.open(ctx.config.storage);
  const runtime = createRuntime(ctx);
  const metrics = new ServiceMetrics(runtime.http, runtime.scheduler);
  let stateOpen = true;
  const service = new CrawlService({ config: ctx.config, log: ctx.log, urls: ctx.urls, http: runtime.http, scheduler: runtime.scheduler, pipeline: runtime.pipeline, archive, metrics, maxQueuedFetches: ctx.config.serve.maxQueuedFetches });
  const server = createApi({ service, metrics, urls: ctx.urls, log: ctx.log, storage: ctx.config.storage, token: ctx.config.serve.token, isStateOpen: () => stateOpen });
  const { host, port } = ctx.config.serve;
  try {
    const url = await listen(server, port, host);
    ctx.log.info({ url, storage: ctx.config.storage, origin: ctx.config.origin || ctx.config.site.baseUrl }, 'newsnap serve listening');
    service.start();
  } catch (err) {
    server.close();
    await archive.close();
    await runtime.close();
    throw err;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  ctx.log.info({ signal }, 'stopping: no new crawls; a running crawl finishes its in-flight work');
  await service.stop();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  stateOpen = false;
  await archive.close();
  await runtime.close();
  ctx.log.info('stopped');
  return ExitCode.OK;
}
