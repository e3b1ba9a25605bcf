import { ArticlePipeline } from '../crawl/article-pipeline.js';
import type { HttpClient } from '../fetch/http-client.js';
import { HttpPageFetcher } from '../fetch/page-fetcher.js';
import type { RequestScheduler } from '../frontier/request-scheduler.js';
import { createHttp, createScheduler, type Context } from './context.js';
import { createRenderer } from './renderer.js';

/** What a command needs to move articles: one HTTP client, one request queue, one pipeline. */
export interface Runtime {
  http: HttpClient;
  scheduler: RequestScheduler;
  pipeline: ArticlePipeline;
  close(): Promise<void>;
}

export function createRuntime(ctx: Context): Runtime {
  const http = createHttp(ctx);
  const scheduler = createScheduler(ctx.config);
  const renderer = createRenderer(ctx);
  const pipeline = new ArticlePipeline({
    profile: ctx.config.site,
    pages: new HttpPageFetcher(http),
    scheduler,
    log: ctx.log,
    renderPolicy: ctx.config.render.policy,
    ...(renderer.renderer ? { renderer: renderer.renderer } : {}),
  });
  return {
    http,
    scheduler,
    pipeline,
    async close() {
      await renderer.close();
      await http.close();
    },
  };
}

