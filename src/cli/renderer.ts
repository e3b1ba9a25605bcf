import type { Renderer } from '../crawl/article-pipeline.js';
import { BrowserPageFetcher, browserUnavailable } from '../fetch/browser-fetcher.js';
import { browserProxy, type ProxySettings } from '../fetch/proxy.js';
import type { Context } from './context.js';

/**
 * The browser renderer of a run, per the render policy. Chromium starts only when a page first
 * needs it; when it is missing, one warning now, and the pages that need it fail with the reason.
 */
export function createRenderer(ctx: Context, proxy: ProxySettings): { renderer?: Renderer; close: () => Promise<void>; kill: () => void } {
  const { render, http, site } = ctx.config;
  if (render.policy === 'never') return { close: async () => undefined, kill: () => undefined };
  const unavailable = browserUnavailable(render.chromiumPath);
  if (unavailable) {
    ctx.log.warn({ chromiumPath: render.chromiumPath, policy: render.policy }, `${unavailable}: pages that need a browser render will fail`);
    return { renderer: { unavailable }, close: async () => undefined, kill: () => undefined };
  }
  const forBrowser = browserProxy(proxy, ctx.urls.origin);
  const fetcher = new BrowserPageFetcher(ctx.urls, {
    chromiumPath: render.chromiumPath,
    timeoutMs: render.timeoutMs,
    pages: render.pages,
    userAgent: http.userAgent,
    readySelector: `${site.selectors.body} > ${site.selectors.block}`,
    ...(forBrowser ? { proxy: forBrowser } : {}),
  });
  return { renderer: { fetcher }, close: () => fetcher.close(), kill: () => fetcher.killNow() };
}
