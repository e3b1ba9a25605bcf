import type { Storage } from '../storage/storage.js';
import { cpuPlan } from '../threads/cpu-plan.js';
import { ArticlePipeline } from '../engine/pipeline/article-pipeline.js';
import { Engine } from '../engine/engine.js';
import { localExtractor, threadedExtractor } from '../engine/pipeline/extractor.js';
import { HttpClient } from '../fetch/http-client.js';
import { HttpPageFetcher } from '../fetch/page-fetcher.js';
import { describeProxy } from '../fetch/proxy.js';
import { requestPolicies } from '../engine/policies/chain-order.js';
import type { RequestMiddleware } from '../engine/policies/policy.js';
import { RequestScheduler } from '../engine/request-scheduler.js';
import { revisitPolicy } from '../engine/revisit-policy.js';
import type { Context } from './context.js';
import { createRenderer } from './renderer.js';
import type { Shutdown } from './shutdown.js';

/** What a command needs to move articles: the engine (one HTTP client, one request queue, one pipeline, the policies). */
export interface Runtime {
  engine: Engine;
  http: HttpClient;
  scheduler: RequestScheduler;
  /**
   * Stops everything in flight: queued and running requests are aborted and the browser is
   * closed (its renders with it). Resolves when no browser process is left.
   */
  stop(): Promise<void>;
  /** Closes the browser and the connections; the storage, if any, is the caller's to close after. */
  close(): Promise<void>;
}

/**
 * The runtime of one command. The shutdown's first signal stops it (requests and renders in
 * flight abort), a forced exit kills the browser; with a storage folder, every exchange and
 * render goes to its WARC writer (when it has one).
 */
export interface RuntimeOptions {
  extractionThreads?: boolean;
  /** Changes the request chain's list (a test adds a middleware of its own); see `policies/chain-order.ts`. */
  middlewares?: (list: RequestMiddleware[]) => RequestMiddleware[];
}

export function createRuntime(ctx: Context, shutdown: Shutdown, storage: Storage | null, options: RuntimeOptions = {}): Runtime {
  const http = new HttpClient(ctx.urls, ctx.config.http);
  const c = ctx.config.crawl;
  const policies = requestPolicies(ctx.config, { log: ctx.log, storage, ...(options.middlewares ? { extend: options.middlewares } : {}) });
  const { breaker } = policies;
  const scheduler = new RequestScheduler(
    {
      rate: c.rate,
      concurrency: c.concurrency,
      retries: c.retries,
      backoffBaseMs: c.backoffBaseMs,
      backoffMaxMs: c.backoffMaxMs,
      maxRetryAfterMs: c.maxRetryAfterMs,
      revisitShare: c.revisitShare,
    },
    policies,
  );
  // Every request to the site passes the chain: HTTP's, and a rendered page's own.
  http.requests = policies.chain;
  const proxy = describeProxy(http.proxy);
  if (proxy) ctx.log.info({ proxy }, 'requests go through a proxy');
  scheduler.onRetryScheduled(({ label, attempt, delayMs, error }) => ctx.log.info({ label, attempt, delayMs, err: error.message }, 'retry scheduled'));
  const renderer = createRenderer(ctx, http.proxy, policies.chain);
  // A crawl extracts on the other cores while this thread fetches and writes; a fetch of a page
  // or two is not worth a thread's start.
  const extractor = options.extractionThreads ? threadedExtractor(ctx.config.site, cpuPlan().extractionThreads) : localExtractor(ctx.config.site);
  const pipeline = new ArticlePipeline({
    extractor,
    profile: ctx.config.site,
    pages: new HttpPageFetcher(http),
    scheduler,
    health: breaker,
    drift: policies.drift,
    log: ctx.log,
    renderPolicy: ctx.config.render.policy,
    revisit: revisitPolicy(ctx.config.revisit, c.maxFailedRuns),
    ...(renderer.renderer ? { renderer: renderer.renderer } : {}),
  });
  if (storage) {
    http.recorder = storage.warc;
    renderer.record(storage.warc);
  }
  const engine = new Engine({ config: ctx.config, log: ctx.log, urls: ctx.urls, http, scheduler, policies, breaker, pipeline, storage });
  shutdown.onForce(renderer.kill);
  const stop = () => {
    engine.stop();
    return renderer.close();
  };
  const stopping = () => void stop();
  shutdown.signal.addEventListener('abort', stopping, { once: true });
  return {
    engine,
    http,
    scheduler,
    stop,
    async close() {
      shutdown.signal.removeEventListener('abort', stopping);
      await renderer.close();
      await http.close();
      await extractor.close();
    },
  };
}
