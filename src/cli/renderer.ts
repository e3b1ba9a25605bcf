import type { Renderer } from '../engine/pipeline/article-pipeline.js';
import { BrowserPageFetcher, browserUnavailable } from '../fetch/browser-fetcher.js';
import type { ExchangeRecorder } from '../fetch/exchange.js';
import { browserProxy, type ProxySettings } from '../fetch/proxy.js';
import type { SiteRequests } from '../fetch/site-requests.js';
import type { Context } from './context.js';

/**
 * The browser renderer of a run, per the render policy. Chromium starts only when a page first
 * needs it; when it is missing, one warning now, and the pages that need it fail with the reason.
 */
export interface RendererHandle {
  renderer?: Renderer;
  close: () => Promise<void>;
  kill: () => void;
  /** Where renders are archived (the WARC writer), or null. */
  record: (recorder: ExchangeRecorder | null) => void;
}

export function createRenderer(ctx: Context, proxy: ProxySettings, requests: SiteRequests): RendererHandle {
  const { render, http, site } = ctx.config;
  if (render.policy === 'never') return { close: async () => undefined, kill: () => undefined, record: () => undefined };
  const unavailable = browserUnavailable(render.chromiumPath);
  if (unavailable) {
    ctx.log.warn({ chromiumPath: render.chromiumPath, policy: render.policy }, `${unavailable}: pages that need a browser render will fail`);
    return { renderer: { unavailable }, close: async () => undefined, kill: () => undefined, record: () => undefined };
  }
  const forBrowser = browserProxy(proxy, ctx.urls.origin);
  const fetcher = new BrowserPageFetcher(ctx.urls, {
    chromiumPath: render.chromiumPath,
    timeoutMs: render.timeoutMs,
    pages: render.pages,
    userAgent: http.userAgent,
    // Every body selector of a list, each followed by a block: `a, b` must not become `a, b > block`.
    readySelector: site.selectors.body
      .split(',')
      .map((body) => `${body.trim()} > ${site.selectors.block}`)
      .join(', '),
    settleMs: render.settleMs,
    ...(forBrowser ? { proxy: forBrowser } : {}),
  });
  fetcher.requests = requests;
  return {
    renderer: { fetcher },
    close: () => fetcher.close(),
    kill: () => fetcher.killNow(),
    record: (recorder) => {
      fetcher.recorder = recorder;
    },
  };
}
