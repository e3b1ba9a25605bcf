import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright';
import { nowIso } from '../clock/clock.js';
import { linkedSignal } from '../clock/abort.js';
import type { ExchangeRecorder } from './exchange.js';
import { archiveRender, documentOf } from './browser-pages.js';
import { PageRequests } from './browser-requests.js';
import type { SiteUrls } from '../site/site-urls.js';
import { FetchError, retryAfterOf } from './fetch-error.js';
import type { FetchedPage, PageFetcher } from './page-fetcher.js';
import { killOwnedBrowsers, killOwnedBrowsersSync, ownerEnvironment, waitOwnedBrowsersGone } from './browser-processes.js';
import { delay } from '../clock/delay.js';
import { UNCHAINED, type SiteRequests } from './site-requests.js';

export interface BrowserOptions {
  chromiumPath: string;
  timeoutMs: number;
  /** Pages rendered at once. */
  pages: number;
  userAgent: string;
  /** CSS selector that is present once the article body has been built. */
  readySelector: string;
  /** A page whose body never appears is taken as it stands this long after its load event. */
  settleMs: number;
  /** The proxy the browser's requests take, as the HTTP client's (see `browserProxy`). */
  proxy?: { server: string; bypass: string; username?: string; password?: string };
}

/** Chromium's flags: no background traffic of its own, no sandbox (we run as root in CI). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-gpu',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

/** How long a polite `browser.close()` may take before the browser's process group is killed. */
const CLOSE_GRACE_MS = 2000;

/** Why rendering cannot work on this machine, or null when Chromium is there. */
export function browserUnavailable(chromiumPath: string): string | null {
  return existsSync(chromiumPath) ? null : `Chromium not found at ${chromiumPath} (install Debian's chromium, or set render.chromiumPath / NEWSNAP_RENDER_CHROMIUM_PATH)`;
}

function abortedError(siteUrl: string, cause?: unknown): FetchError {
  return new FetchError('aborted', siteUrl, `${siteUrl}: render aborted, the run is stopping`, cause === undefined ? {} : { cause });
}

/**
 * Renders pages in Debian's Chromium through Playwright, behind the same interface as the HTTP
 * fetcher. One browser per process, launched on first use and again if it dies; a small pool of
 * contexts (cookies cleared between pages) and a fresh page per render; only the site's own
 * origin is reachable from inside, and no images, media, fonts or stylesheets are loaded.
 *
 * Stopping: a render ends as soon as its signal aborts, whatever stage it is in; `close()` aborts
 * every render, closes the browser (killing its process group when it does not close in time) and
 * refuses renders from then on, so no browser is ever launched behind a closed fetcher.
 */
export class BrowserPageFetcher implements PageFetcher {
  private browser: Promise<Browser> | null = null;
  /** Idle contexts, kept between renders: making one costs ~200 ms, a page ~20 ms. */
  private readonly idle: BrowserContext[] = [];
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  private readonly closing = new AbortController();
  private closed: Promise<void> | null = null;
  /** Keeps the document the browser received and the DOM it built (the WARC archive), when set. */
  recorder: ExchangeRecorder | null = null;
  /**
   * The request chain the page's own requests to the site pass (its document and sub-requests:
   * counted, seen by the breaker, sharing the render's rate slot); none by default. They are
   * not archived: the rendered DOM is.
   */
  requests: SiteRequests = UNCHAINED;
  private readonly pageRequests: PageRequests;

  constructor(
    private readonly urls: SiteUrls,
    private readonly options: BrowserOptions,
  ) {
    this.pageRequests = new PageRequests(urls, () => this.requests);
  }

  async fetchPage(siteUrl: string, signal?: AbortSignal): Promise<FetchedPage> {
    const link = linkedSignal([signal, this.closing.signal]);
    try {
      return await this.render(siteUrl, link.signal);
    } finally {
      link.dispose();
    }
  }

  private async render(siteUrl: string, stop: AbortSignal): Promise<FetchedPage> {
    if (stop.aborted) throw abortedError(siteUrl);
    const scope = this.requests.scope();
    await this.slot(stop, siteUrl);
    const slotAt = performance.now();
    let context: BrowserContext | null = null;
    let page: Page | null = null;
    let reusable = false;
    const abort = () => void page?.close().catch(() => undefined);
    stop.addEventListener('abort', abort, { once: true });
    try {
      context = await this.context();
      if (stop.aborted) throw abortedError(siteUrl);
      page = await context.newPage();
      this.pageRequests.adopt(page, scope);
      if (stop.aborted) throw abortedError(siteUrl);
      const started = performance.now();
      const target = this.urls.toOrigin(siteUrl).href;
      let response;
      try {
        response = await page.goto(target, { waitUntil: 'domcontentloaded', timeout: this.options.timeoutMs });
      } catch (err) {
        if (stop.aborted) throw abortedError(siteUrl, err);
        const veto = this.pageRequests.vetoOf(page);
        if (veto) throw veto;
        const message = (err as Error).message.split('\n')[0] ?? '';
        if (/Timeout/i.test(message)) throw new FetchError('timeout', siteUrl, `${siteUrl}: browser render timed out after ${this.options.timeoutMs} ms`, { cause: err });
        throw new FetchError('reset', siteUrl, `${siteUrl}: browser navigation failed (${message})`, { cause: err });
      }
      // A redirect hop robots.txt disallows closed the page: the render is that veto, whatever goto said.
      const vetoed = this.pageRequests.vetoOf(page);
      if (vetoed) throw vetoed;
      if (response && response.status() >= 400) {
        const status = response.status();
        throw new FetchError('http-status', siteUrl, `${siteUrl} answered HTTP ${status} to the browser`, {
          status,
          retryAfterMs: retryAfterOf(status, response.headers()),
        });
      }
      // Ready when the body has blocks, or a short settle after the load event: a page that never
      // gets them (a redesign renamed the container) costs a second, not the whole timeout.
      const left = Math.max(0, this.options.timeoutMs - (performance.now() - started));
      const settled = new AbortController();
      await Promise.race([
        page.waitForSelector(this.options.readySelector, { state: 'attached', timeout: left }).catch(() => undefined),
        page
          .waitForLoadState('load', { timeout: left })
          .then(() => delay(this.options.settleMs, settled.signal))
          .catch(() => undefined),
      ]);
      settled.abort();
      if (stop.aborted) throw abortedError(siteUrl);
      const html = await page.content().catch((err: Error) => {
        throw stop.aborted ? abortedError(siteUrl, err) : new FetchError('reset', siteUrl, `${siteUrl}: the rendered page could not be read (${err.message.split('\n')[0]})`, { cause: err });
      });
      const finalUrl = this.urls.fromContacted(new URL(page.url()))?.href ?? siteUrl;
      // What the archive keeps is read before the page closes; the writing itself goes on after.
      const document = this.recorder && response ? await documentOf(siteUrl, response) : null;
      const archived = this.recorder ? archiveRender(this.recorder, document, { url: finalUrl, at: nowIso(), html }) : undefined;
      await page.close();
      reusable = !stop.aborted;
      return { url: finalUrl, source: { html }, elapsedMs: Math.round(performance.now() - slotAt), ...(archived ? { archived } : {}) };
    } catch (err) {
      const failure = stop.aborted && !(err instanceof FetchError && err.kind === 'aborted') ? abortedError(siteUrl, err) : err;
      // Before the page closes: closing it would fail its document as aborted, which says nothing.
      this.pageRequests.fail(page, failure);
      throw failure;
    } finally {
      stop.removeEventListener('abort', abort);
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
    const context = await browser.newContext({
      userAgent: this.options.userAgent,
      serviceWorkers: 'block',
      javaScriptEnabled: true,
      ...(this.options.proxy ? { proxy: this.options.proxy } : {}),
    });
    await this.pageRequests.attach(context);
    await context.routeWebSocket(/.*/, (ws) => void ws.close());
    return context;
  }

  /**
   * Aborts every render, closes the browser and refuses renders from now on. A browser that
   * does not close within a short grace is killed with its whole process group; resolves once
   * none of its processes is alive.
   */
  close(): Promise<void> {
    this.closed ??= this.shutDown();
    return this.closed;
  }

  private async shutDown(): Promise<void> {
    this.closing.abort();
    for (const wake of this.waiters.splice(0)) wake();
    this.idle.length = 0;
    const launching = this.browser;
    this.browser = null;
    const browser = launching ? await launching.catch(() => null) : null;
    if (browser) {
      const grace = new AbortController();
      const closed = await Promise.race([browser.close().then(() => true, () => false), delay(CLOSE_GRACE_MS, grace.signal).then(() => false)]);
      // The grace timer must not hold the process open once the browser has closed.
      grace.abort();
      if (!closed) killOwnedBrowsers();
    }
    // Crashpad handlers end a moment after their browser; none may outlive newsnap.
    if (!(await waitOwnedBrowsersGone(CLOSE_GRACE_MS))) {
      killOwnedBrowsers();
      await waitOwnedBrowsersGone(CLOSE_GRACE_MS);
    }
  }

  /** SIGKILLs the browser's processes at once: the last resort of a shutdown past its deadline. */
  killNow(): void {
    killOwnedBrowsersSync(CLOSE_GRACE_MS / 2);
  }

  private launch(): Promise<Browser> {
    if (this.closing.signal.aborted) return Promise.reject(new Error('the browser is closed: the run is stopping'));
    if (!this.browser) {
      const reason = browserUnavailable(this.options.chromiumPath);
      if (reason) return Promise.reject(new Error(reason));
      // Playwright is loaded on the first render only: an idle service or a crawl that never
      // renders does not pay for it. Its own signal handlers are off: newsnap's shutdown closes
      // the browser in its own order (renders aborted first, state saved, lock released last).
      const launching = import('playwright')
        .then(({ chromium }) =>
          chromium.launch({
            executablePath: this.options.chromiumPath,
            headless: true,
            args: [...CHROMIUM_ARGS, this.hostResolverRules()],
            timeout: 30_000,
            handleSIGINT: false,
            handleSIGTERM: false,
            handleSIGHUP: false,
            env: ownerEnvironment(),
          }),
        )
        .then(async (browser) => {
          if (this.closing.signal.aborted) {
            await browser.close().catch(() => undefined);
            throw new Error('the browser is closed: the run is stopping');
          }
          // A crashed browser is replaced on the next render.
          browser.on('disconnected', () => {
            if (this.browser === launching) this.browser = null;
          });
          return browser;
        })
        .catch((err: Error) => {
          if (this.browser === launching) this.browser = null;
          throw new Error(`Chromium at ${this.options.chromiumPath} could not start: ${err.message.split('\n')[0]}`);
        });
      this.browser = launching;
    }
    return this.browser;
  }

  /**
   * Chromium contacts hosts of its own (update and account services) despite
   * --disable-background-networking. Every host name but the origin's (and the proxy's) resolves
   * to nothing, so that traffic never leaves the machine. The proxy is set per context, for the
   * pages only: with a browser-wide proxy, that background traffic would go through it.
   */
  private hostResolverRules(): string {
    const keep = [this.urls.origin.hostname];
    if (this.options.proxy) keep.push(new URL(this.options.proxy.server).hostname);
    return `--host-resolver-rules=MAP * ~NOTFOUND, ${keep.map((h) => `EXCLUDE ${h}`).join(', ')}`;
  }

  private async slot(stop: AbortSignal, siteUrl: string): Promise<void> {
    while (this.active >= this.options.pages) {
      if (stop.aborted) throw abortedError(siteUrl);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        stop.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    if (stop.aborted) throw abortedError(siteUrl);
    this.active++;
  }

  private release(): void {
    this.active--;
    this.waiters.shift()?.();
  }
}

