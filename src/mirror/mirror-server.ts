import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { applyFault, gzipBomb, type Fault } from './faults.js';
import { articlePage, challengePage, dayArchivePage, monthSitemap, moreFragment, rssFeed, sectionPage, sitemapIndex } from './page-templates.js';
import { applyEdit, sitemapTime, type ArticleEdit } from './article-edits.js';
import { handleControl } from './mirror-control.js';
import { siteToday } from '../site/calendar.js';
import { nowMs } from '../clock/clock.js';
import { generateArticle, generateArticles, type MirrorArticle } from './site-model.js';

export interface MirrorOptions {
  articles: number;
  days: number;
  /** Last day of the site (YYYYMMDD); default today in Istanbul. */
  lastDay?: string;
  seed?: number;
  /** Every Nth article builds its body in the browser (0 = none). */
  jsEvery?: number;
  /** The robots.txt served; default the site's own rules. */
  robots?: string;
  /** Items on the first page of a day archive, and on each `more` page. */
  archivePageSize?: number;
  /** `Crawl-delay` of the default robots.txt in seconds (the site says 1); 0 leaves it out. */
  crawlDelay?: number;
  /** Serve HTTPS with this key and certificate (PEM) instead of HTTP. */
  tls?: { key: string; cert: string };
  /**
   * Article pages carry `ETag` and `Last-Modified` and answer a conditional request 304 (the
   * default). Whether the real site does is not known: false serves them without, so every
   * revisit is a 200 with the same bytes.
   */
  articleValidators?: boolean;
  /** `Cache-Control: max-age` of the RSS feed, in seconds (none by default). */
  feedMaxAge?: number;
}

export interface LoggedRequest {
  /** Arrival time, ms since the epoch (fractional). */
  t: number;
  method: string;
  path: string;
  status: number;
  userAgent: string;
  /** Body bytes sent (0 for a 304 or a fault). */
  bytes: number;
}

export const SITE_ROBOTS = `User-agent: *
Disallow: /search/
Disallow: /services/
Disallow: /print/
Disallow: /*?chat_room_id=
Crawl-delay: 1

User-agent: BadBot
Disallow: /

Sitemap: https://anlatilaninotesi.com.tr/sitemap_article_index.xml
Sitemap: https://anlatilaninotesi.com.tr/sitemap_news.xml
`;

const SECTIONS = ['world', 'turkey', 'economy'];

/**
 * The local mirror of the site: serves the model over HTTP on 127.0.0.1 with a request log and
 * fault switches. Control endpoints live under `/__mirror/` and are not logged.
 */
export class MirrorServer {
  /** Requests every mirror of this process has served: a test's sign that work is moving (see test/helpers/progress.ts). */
  static requestsServed = 0;
  readonly log: LoggedRequest[] = [];
  private readonly server: Server;
  private readonly byId = new Map<string, MirrorArticle>();
  private readonly byDay = new Map<string, MirrorArticle[]>();
  private readonly fixed = new Map<string, string>();
  private readonly faults: Fault[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly entries = new WeakMap<ServerResponse, LoggedRequest>();
  private articles: MirrorArticle[];
  private version = 0;
  robots: string;
  baseUrl = '';

  constructor(private readonly options: MirrorOptions) {
    const lastDay = options.lastDay ?? siteToday(nowMs());
    this.articles = generateArticles({ count: options.articles, days: options.days, lastDay, seed: options.seed ?? 1, jsEvery: options.jsEvery ?? 0 });
    for (const a of this.articles) this.index(a);
    const delay = options.crawlDelay;
    this.robots = options.robots ?? (delay === undefined ? SITE_ROBOTS : SITE_ROBOTS.replace('Crawl-delay: 1\n', delay > 0 ? `Crawl-delay: ${delay}\n` : ''));
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    this.server = options.tls ? createHttpsServer({ ...options.tls, keepAlive: true }, handler) : createServer({ keepAlive: true }, handler);
    this.server.keepAliveTimeout = 30_000;
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    this.baseUrl = `${this.options.tls ? 'https' : 'http'}://${host}:${addr.port}`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Every article of the site, oldest first. */
  all(): readonly MirrorArticle[] {
    return this.articles;
  }

  /**
   * Publishes `n` new articles; returns them. They are dated the site's last day, or `at` (an
   * ISO instant) when given.
   */
  publish(n: number, options: { jsBuilt?: boolean; at?: string } = {}): MirrorArticle[] {
    const at = options.at === undefined ? null : sitemapTime(options.at);
    const day = at ? `${at.slice(0, 4)}${at.slice(5, 7)}${at.slice(8, 10)}` : (this.articles.at(-1)?.day ?? siteToday(nowMs()));
    const lastId = Number(this.articles.at(-1)?.id ?? 1_100_000_099);
    const added: MirrorArticle[] = [];
    for (let i = 0; i < n; i++) {
      const a = generateArticle((this.options.seed ?? 1) + 1, String(lastId + 1 + i), day, options.jsBuilt === true, this.articles.length);
      if (at) a.time = `${at.slice(11, 13)}${at.slice(14, 16)}`;
      this.articles.push(a);
      this.index(a);
      added.push(a);
    }
    this.version++;
    return added;
  }

  /** One article of the site by id. */
  article(id: string): MirrorArticle {
    const a = this.byId.get(id);
    if (!a) throw new Error(`the mirror has no article ${id}`);
    return a;
  }

  /** The site edits an article: its page, `modified_time` and sitemap `<lastmod>` change. */
  edit(id: string, edit: ArticleEdit): MirrorArticle {
    const a = this.article(id);
    applyEdit(a, edit);
    this.version++;
    return a;
  }

  /** The sitemap's `<lastmod>` moves with no change to the article. */
  bumpLastmod(id: string, at: string): void {
    this.article(id).lastmod = sitemapTime(at);
    this.version++;
  }

  /** The site removes an article: it answers `status` and leaves the sitemaps, RSS and archives. */
  remove(id: string, status: 404 | 410): void {
    this.article(id).removed = status;
    this.version++;
  }

  /** A removed article comes back, listed again. */
  restore(id: string): void {
    this.article(id).removed = null;
    this.version++;
  }

  /** A redesigned build serves this article: its body container renamed. */
  drift(id: string, drifted = true): void {
    this.article(id).drifted = drifted;
  }

  /** A challenge or block page answers for this article (200, 403 or 451); null lifts it. */
  challenge(id: string, status: number | null = 200): void {
    this.article(id).challenge = status;
  }

  /** Articles the site lists (not removed), oldest first. */
  private listed(): MirrorArticle[] {
    return this.articles.filter((a) => a.removed === null);
  }

  /** Serves `html` at `path` (reference pages); not listed in discovery. */
  addPage(path: string, html: string): void {
    this.fixed.set(path, html);
  }

  addFault(fault: Fault): void {
    // Compressed once, here: compressing on request would block the mirror for everyone else.
    if (fault.kind === 'gzip-bomb') gzipBomb();
    this.faults.push({ ...fault });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  clearLog(): void {
    this.log.length = 0;
  }

  private index(a: MirrorArticle): void {
    this.byId.set(a.id, a);
    const list = this.byDay.get(a.day) ?? [];
    list.push(a);
    this.byDay.set(a.day, list);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const t = performance.timeOrigin + performance.now();
    const path = req.url ?? '/';
    if (path.startsWith('/__mirror/')) {
      handleControl(this, req, res, path);
      return;
    }
    const entry: LoggedRequest = { t, method: req.method ?? 'GET', path, status: 0, userAgent: String(req.headers['user-agent'] ?? ''), bytes: 0 };
    this.log.push(entry);
    MirrorServer.requestsServed++;
    this.entries.set(res, entry);
    res.on('finish', () => (entry.status = res.statusCode));
    res.on('close', () => {
      if (!entry.status) entry.status = res.statusCode || -1;
    });
    const fault = this.faultFor(path);
    if (fault) {
      entry.status = fault.status ?? 0;
      applyFault(fault, req, res, () => this.route(req, res, path));
      return;
    }
    this.route(req, res, path);
  }

  private faultFor(path: string): Fault | undefined {
    const i = this.faults.findIndex((f) => (f.path.endsWith('*') ? path.startsWith(f.path.slice(0, -1)) : f.path === path));
    if (i < 0) return undefined;
    const f = this.faults[i] as Fault;
    if (f.times !== undefined && --f.times <= 0) this.faults.splice(i, 1);
    return f;
  }

  private route(req: IncomingMessage, res: ServerResponse, rawPath: string): void {
    const url = new URL(rawPath, 'http://mirror.invalid');
    const path = url.pathname;
    const fixed = this.fixed.get(path);
    if (fixed !== undefined) return this.send(req, res, 200, 'text/html; charset=utf-8', fixed);
    if (path === '/robots.txt') return this.sendCached(req, res, 'text/plain; charset=utf-8', this.robots);
    if (path === '/sitemap_article_index.xml') return this.sendCached(req, res, 'application/xml; charset=utf-8', sitemapIndex(this.months()));
    if (path === '/sitemap_article.xml') {
      const start = url.searchParams.get('date_start') ?? '';
      const end = url.searchParams.get('date_end') ?? '';
      const items = this.listed().filter((a) => a.day >= start && a.day <= end).reverse();
      return this.sendCached(req, res, 'application/xml; charset=utf-8', monthSitemap(items));
    }
    if (path === '/export/rss2/archive/index.xml') {
      if (this.options.feedMaxAge !== undefined) res.setHeader('cache-control', `max-age=${this.options.feedMaxAge}`);
      return this.sendCached(req, res, 'application/rss+xml; charset=utf-8', rssFeed(this.listed().slice(-100).reverse()));
    }
    const size = this.options.archivePageSize ?? 20;
    let m = /^\/(\d{8})\/$/.exec(path);
    if (m) {
      const items = (this.byDay.get(m[1] as string) ?? []).filter((a) => a.removed === null).reverse();
      if (items.length === 0) return this.send(req, res, 404, 'text/html; charset=utf-8', '<html><body>not found</body></html>');
      const page = items.slice(0, size);
      const more = items.length > size ? `/services/${m[1]}/more.html?id=${page.at(-1)?.id}&date=${m[1]}T000000` : null;
      return this.send(req, res, 200, 'text/html; charset=utf-8', dayArchivePage(m[1] as string, page, more));
    }
    m = /^\/services\/(\d{8})\/more\.html$/.exec(path);
    if (m) {
      const after = url.searchParams.get('id') ?? '';
      const items = (this.byDay.get(m[1] as string) ?? []).filter((a) => a.removed === null && a.id < after).reverse();
      const page = items.slice(0, size);
      const more = items.length > size ? `/services/${m[1]}/more.html?id=${page.at(-1)?.id}&date=${m[1]}T000000` : null;
      return this.send(req, res, 200, 'text/html; charset=utf-8', moreFragment(page, more));
    }
    m = /^\/(?:amp\/)?(\d{8})\/[A-Za-z0-9._~%-]+-(\d{10})\.html$/.exec(path);
    if (m) {
      const a = this.byId.get(m[2] as string);
      if (a && a.day === m[1]) {
        if (a.removed) return this.send(req, res, a.removed, 'text/html; charset=utf-8', `<html><body>${a.removed === 410 ? 'Bu içerik kaldırıldı' : 'Sayfa bulunamadı'}</body></html>`);
        if (a.challenge !== null) return this.send(req, res, a.challenge, 'text/html; charset=utf-8', challengePage(a.challenge));
        if (this.options.articleValidators === false) return this.send(req, res, 200, 'text/html; charset=utf-8', articlePage(a));
        return this.sendCached(req, res, 'text/html; charset=utf-8', articlePage(a));
      }
    }
    m = /^\/([a-z_]+)\/$/.exec(path);
    if (m && SECTIONS.includes(m[1] as string)) {
      return this.send(req, res, 200, 'text/html; charset=utf-8', sectionPage(m[1] as string, this.listed().slice(-20).reverse()));
    }
    this.send(req, res, 404, 'text/html; charset=utf-8', '<html><body>Sayfa bulunamadı</body></html>');
  }

  private months(): string[] {
    const months = new Set(this.articles.map((a) => a.day.slice(0, 6)));
    return [...months].sort().reverse();
  }

  private send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string): void {
    const data = Buffer.from(body, 'utf8');
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) && data.length > 100_000 && process.env.NEWSNAP_MIRROR_GZIP === '1';
    const out = gzip ? gzipSync(data) : data;
    res.writeHead(status, { 'content-type': type, 'content-length': String(out.length), ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
    const entry = this.entries.get(res);
    if (entry) entry.bytes = out.length;
    res.end(out);
  }

  /** Sends a discovery document with validators; a matching `If-None-Match` gets a 304. */
  private sendCached(req: IncomingMessage, res: ServerResponse, type: string, body: string): void {
    const etag = `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag });
      res.end();
      return;
    }
    res.setHeader('etag', etag);
    res.setHeader('last-modified', new Date(Date.UTC(2025, 0, 1) + this.version * 1000).toUTCString());
    this.send(req, res, 200, type, body);
  }
}
