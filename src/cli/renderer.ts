import type { Renderer } from '../crawl/article-pipeline.js';
import type { HttpClient } from '../fetch/http-client.js';
import type { Context } from './context.js';

/** The browser renderer of a run, per the render policy. (Browser rendering arrives with issue #4.) */
export async function createRenderer(ctx: Context, _http: HttpClient): Promise<{ renderer?: Renderer; close: () => Promise<void> }> {
  if (ctx.config.render.policy === 'never') return { close: async () => undefined };
  return { renderer: { unavailable: 'no browser renderer is built in yet' }, close: async () => undefined };
}
