import type { BrowserContext, Page, Request, Route } from 'playwright';
import { failureOf, pageOf } from './browser-pages.js';
import { FetchError } from './fetch-error.js';
import type { SiteUrls } from '../site/site-urls.js';
import { RequestVeto, type RequestScope, type SiteRequests, type WireAnswer, type WireTicket } from './site-requests.js';

/** Resource types a render may load from the site; everything else is aborted. */
const ALLOWED_TYPES = new Set(['document', 'script', 'xhr', 'fetch']);

/**
 * The requests of the browser's pages, as the request chain sees them: each of a page's requests
 * to the site passes the chain within the attempt its page renders for (its scope), or is aborted
 * when the page renders for none (a popup, a service worker). Apart from the rendering itself.
 *
 * Playwright calls its listeners in the async context captured when the browser started, so the
 * scope is always given explicitly, never read from the async context.
 */
export class PageRequests {
  /** The attempt each open page renders for. */
  private readonly scopes = new WeakMap<Page, RequestScope>();
  /** The chain's ticket of each request let through, until its answer comes (a hop's is opened while it is in flight). */
  private readonly tickets = new WeakMap<Request, Promise<WireTicket | null>>();
  /** Each page's latest main-frame document request: the one a failed render ends. */
  private readonly documents = new WeakMap<Page, Request>();
  /** A redirect hop of the page's document that the chain vetoed: the render fails with it. */
  private readonly vetoes = new WeakMap<Page, RequestVeto>();

  constructor(
    private readonly urls: SiteUrls,
    private readonly chain: () => SiteRequests,
  ) {}

  /** Hooks a new context's requests to the chain. */
  async attach(context: BrowserContext): Promise<void> {
    await context.route('**/*', (route) => this.filter(route));
    // Playwright's route handler is not called for redirect hops: they are heard as requests.
    context.on('request', (request) => {
      if (request.redirectedFrom()) this.hop(request);
    });
    context.on('response', (response) => this.answered(response.request(), { status: response.status(), headers: response.headers(), error: null }));
    context.on('requestfailed', (request) => this.answered(request, { status: null, headers: {}, error: failureOf(request) }));
    // A popup renders for no attempt: its requests would be aborted anyway; it is closed at once.
    context.on('page', (page) => {
      void page
        .opener()
        .then((opener) => (opener ? page.close() : undefined))
        .catch(() => undefined);
    });
  }

  /** The page renders for this attempt from now on (none: every request of it is aborted). */
  adopt(page: Page, scope: RequestScope | null): void {
    if (scope) this.scopes.set(page, scope);
  }

  /** The veto a redirect hop of the page's document met, if any. */
  vetoOf(page: Page): RequestVeto | undefined {
    return this.vetoes.get(page);
  }

  /**
   * The render failed (a goto timeout): its document, still in flight, ends with the render's
   * error before the page closes, so the chain hears a timeout, not the abort the close causes.
   */
  fail(page: Page | null, error: unknown): void {
    const document = page ? this.documents.get(page) : undefined;
    if (!document || !(error instanceof FetchError)) return;
    const ticket = this.tickets.get(document);
    if (!ticket) return;
    this.tickets.delete(document);
    void ticket.then((t) => t?.end({ status: null, headers: {}, error }));
  }

  /** Only the site's own origin (or its mirror) is reachable, and only for what builds the page. */
  private filter(route: Route): Promise<void> {
    const request = route.request();
    const site = this.siteUrl(request);
    const page = pageOf(request);
    const scope = page ? this.scopes.get(page) : undefined;
    if (!site || !scope || !page || !ALLOWED_TYPES.has(request.resourceType())) return route.abort('blockedbyclient').catch(() => undefined);
    return this.send(route, request, page, scope, site);
  }

  /** A request of the page to the site, through the chain: within its render's attempt, vetoed or let go. */
  private async send(route: Route, request: Request, page: Page, scope: RequestScope, siteUrl: string): Promise<void> {
    const document = request.isNavigationRequest() && request.frame() === page.mainFrame();
    const opened = this.chain().open(siteUrl, { kind: document ? 'render' : 'subrequest', scope });
    // Known at once, so a render that fails before the chain answers still ends it.
    const ticket = opened.catch(() => null);
    this.tickets.set(request, ticket);
    if (document) this.documents.set(page, request);
    if ((await ticket) === null) {
      this.tickets.delete(request);
      // A veto (robots, the sub-request cap) or a middleware's failure, which the chain logged.
      return route.abort('blockedbyclient').catch(() => undefined);
    }
    const headers = (await ticket)?.headers ?? {};
    const changed = Object.keys(headers).length > 0;
    return route.continue(changed ? { headers: { ...request.headers(), ...headers } } : undefined).catch(() => undefined);
  }

  /**
   * A redirect hop: counted and judged as the HTTP client's hops are. The browser sent it already
   * (no route sees it); a hop of the document that the chain vetoes (robots.txt) closes the page.
   */
  private hop(request: Request): void {
    const page = pageOf(request);
    const scope = page ? this.scopes.get(page) : undefined;
    const site = this.siteUrl(request);
    if (!page || !scope || !site) return;
    const document = request.isNavigationRequest() && request.frame() === page.mainFrame();
    if (document) this.documents.set(page, request);
    const ticket = this.chain()
      .open(site, { kind: document ? 'render' : 'subrequest', scope })
      .catch((err: unknown) => {
        if (document && err instanceof RequestVeto) {
          this.vetoes.set(page, err);
          void page.close().catch(() => undefined);
        }
        return null;
      });
    this.tickets.set(request, ticket);
  }

  private answered(request: Request, answer: WireAnswer): void {
    const ticket = this.tickets.get(request);
    if (!ticket) return;
    this.tickets.delete(request);
    void ticket.then((t) => t?.end(answer));
  }

  /** The site URL a page's request is for, or null when it is not the configured origin. */
  private siteUrl(request: Request): string | null {
    let url: URL;
    try {
      url = new URL(request.url());
    } catch {
      // An unparsable URL is not the site.
      return null;
    }
    // The browser talks to the configured origin only: the production host or the mirror, never an alias or another port.
    if (url.protocol !== this.urls.origin.protocol || url.host !== this.urls.origin.host) return null;
    return this.urls.fromContacted(url)?.href ?? null;
  }
}
