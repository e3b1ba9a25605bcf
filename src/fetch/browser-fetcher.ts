import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Route } from 'playwright';
import type { SiteUrls } from '../site/site-urls.js';
import { FetchError, parseRetryAfter } from './fetch-error.js';
import type { FetchedPage, PageFetcher } from './page-fetcher.js';

export interface BrowserOptions {
  chromiumPath: string;
  timeoutMs: number;
  /** Pages rendered at once. */
  pages: number;
  userAgent: string;
  /** CSS selector that is present once the article body has been built. */
  readySelector: string;
}

/** Chromium's flags: no background traffic of its own, no sandbox (we run as root in CI). */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-gpu', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'];

/** Resource types a render may load from the site; everything else is aborted. */
const ALLOWED_TYPES = new Set(['document', 'script', 'xhr', 'fetch']);

/** Why rendering cannot work on this machine, or null when Chromium is there. */
export function browserUnavailable(chromiumPath: string): string | null {
  return existsSync(chromiumPath) ? null : `Chromium not found at ${chromiumPath} (install Debian's chromium, or set render.chromiumPath / NEWSNAP_RENDER_CHROMIUM_PATH)`;
}

/**
 * Renders pages in Debian's Chromium through Playwright, behind the same interface as the HTTP
 * fetcher. One browser per process, launched on first use and again if it dies; a small pool of
 * contexts (cookies cleared between pages) and a fresh page per render; only the site's own
 * origin is reachable from inside, and no images, media, fonts or stylesheets are loaded.
 */
export class BrowserPageFetcher implements PageFetcher {
  private browser: Promise<Browser> | null = null;
  /** Idle contexts, kept between renders: making one costs ~200 ms, a page ~20 ms. */
  private readonly idle: BrowserContext[] = [];
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(
    private readonly urls: SiteUrls,
    private readonly options: BrowserOptions,
  ) {}

  async fetchPage(siteUrl: string, signal?: AbortSignal): Promise<FetchedPage> {
    await this.slot();
    const slotAt = performance.now();
    let context: BrowserContext | null = null;
    let reusable = false;
    try {
      context = await this.context();
      const page = await context.newPage();
      const abort = () => void page.close().catch(() => undefined);
      signal?.addEventListener('abort', abort, { once: true });
      const started = Date.now();
      const target = this.urls.toOrigin(siteUrl).href;
      let response;
      try {
        response = await page.goto(target, { waitUntil: 'domcontentloaded', timeout: this.options.timeoutMs });
      } catch (err) {
        const message = (err as Error).message.split('\n')[0] ?? '';
        if (/Timeout/i.test(message)) throw new FetchError('timeout', siteUrl, `${siteUrl}: browser render timed out after ${this.options.timeoutMs} ms`, { cause: err });
        throw new FetchError('reset', siteUrl, `${siteUrl}: browser navigation failed (${message})`, { cause: err });
      } finally {
        signal?.removeEventListener('abort', abort);
      }
      if (response && response.status() >= 400) {
        const status = response.status();
        throw new FetchError('http-status', siteUrl, `${siteUrl} answered HTTP ${status} to the browser`, {
          status,
          retryAfterMs: status === 429 || status === 503 ? parseRetryAfter(response.headers()['retry-after']) : undefined,
        });
      }
      // Ready when the body has blocks; a page that never gets them is extracted as it stands.
      const left = Math.max(0, this.options.timeoutMs - (Date.now() - started));
      await page.waitForSelector(this.options.readySelector, { state: 'attached', timeout: left }).catch(() => undefined);
      const html = await page.content();
      const finalUrl = this.urls.fromContacted(new URL(page.url()))?.href ?? siteUrl;
      await page.close();
      reusable = true;
      return { url: finalUrl, html, elapsedMs: Math.round(performance.now() - slotAt) };
    } finally {
      if (context && reusable && context.browser()?.isConnected()) {
        await context.clearCookies().catch(() => undefined);
        this.idle.push(context);
      } else {
        await context?.close().catch(() => undefined);
      }
      this.release();
    }
  }

  private async context(): Promise<BrowserContext> {
    const browser = await this.launch();
    for (let c = this.idle.pop(); c; c = this.idle.pop()) if (c.browser() === browser && browser.isConnected()) return c;
    const context = await browser.newContext({ userAgent: this.options.userAgent, serviceWorkers: 'block', javaScriptEnabled: true });
    await context.route('**/*', (route) => this.filter(route));
    await context.routeWebSocket(/.*/, (ws) => void ws.close());
    return context;
  }

  async close(): Promise<void> {
    this.idle.length = 0;
    const browser = this.browser;
    this.browser = null;
    if (browser) await (await browser.catch(() => null))?.close().catch(() => undefined);
  }

  private launch(): Promise<Browser> {
    if (!this.browser) {
      const reason = browserUnavailable(this.options.chromiumPath);
      if (reason) return Promise.reject(new Error(reason));
      // Playwright is loaded on the first render only: an idle service or a crawl that never
      // renders does not pay for it.
      const launching = import('playwright')
        .then(({ chromium }) => chromium.launch({ executablePath: this.options.chromiumPath, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 }))
        .then((browser) => {
          // A crashed browser is replaced on the next render.
          browser.on('disconnected', () => {
            if (this.browser === launching) this.browser = null;
          });
          return browser;
        })
        .catch((err: Error) => {
          this.browser = null;
          throw new Error(`Chromium at ${this.options.chromiumPath} could not start: ${err.message.split('\n')[0]}`);
        });
      this.browser = launching;
    }
    return this.browser;
  }

  /** Only the site's own origin (or its mirror) is reachable, and only for what builds the page. */
  private filter(route: Route): Promise<void> {
    const request = route.request();
    let url: URL | null = null;
    try {
      url = new URL(request.url());
    } catch {
      // An unparsable URL is not the site.
    }
    const own = url !== null && this.urls.fromContacted(url) !== null && isContactedOrigin(url, this.urls);
    if (own && ALLOWED_TYPES.has(request.resourceType())) return route.continue();
    return route.abort('blockedbyclient');
  }

  private async slot(): Promise<void> {
    if (this.active < this.options.pages) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.active++;
  }

  private release(): void {
    this.active--;
    this.waiters.shift()?.();
  }
}

/** The browser talks to the configured origin only: the production host or the mirror, never an alias or another port. */
function isContactedOrigin(url: URL, urls: SiteUrls): boolean {
  return url.protocol === urls.origin.protocol && url.host === urls.origin.host;
}
