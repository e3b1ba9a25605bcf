import * as cheerio from 'cheerio/slim';
import { FetchError } from '../fetch/fetch-error.js';
import { RequestVeto } from '../fetch/site-requests.js';
import { requireOk, type HttpClient, type HttpResponse } from '../fetch/http-client.js';
import type { RequestRunner } from '../fetch/request-runner.js';
import type { DiscoveredRef, State } from '../storage/state/state-store.js';
import { describeUnreachable } from '../fetch/unreachable.js';
import type { Logger } from '../log/logger.js';
import { daysInMonth } from '../site/calendar.js';
import type { ArticleRef, SiteUrls } from '../site/site-urls.js';
import { ALLOW_ALL, DISALLOW_ALL, parseRobots, type RobotsRules } from './robots.js';
import { StorageError } from '../disk/storage-error.js';
import { checkListing, forgetHold, ShortListing } from './short-listing.js';
import { XmlLocStream } from './xml-locs.js';

/** Why robots.txt stops a run before anything else is asked. */
export interface RobotsStop {
  message: string;
  /** Set when nothing answered at all: the site is unreachable (not a policy of the site). */
  unreachable?: FetchError;
}

/** What one discovery source gave in this run. */
export interface SourceResult {
  source: string;
  outcome: 'changed' | 'unchanged' | 'failed' | 'disallowed';
  urls: number;
  added: number;
  /** A month sitemap: captured articles it listed before and no longer does (due at once). */
  unlisted?: number;
  /** A read that records only known articles (the sweep): the URLs it listed that state does not know. */
  unknown?: number;
  error?: string;
  /** A failed read held as short (see checkListing): its list came whole, so no day listing is read instead. */
  short?: boolean;
  /** How long the source asks not to be read again: its `Cache-Control: max-age`, or a failure's `Retry-After` (ms). */
  holdMs?: number;
}

export interface DiscoveryOptions {
  http: HttpClient;
  scheduler: RequestRunner;
  state: Pick<State, 'frontier' | 'sources'>;
  urls: SiteUrls;
  log: Logger;
  /** The product token robots.txt groups are matched against. */
  productToken: string;
  /** Largest sitemap or feed accepted. */
  maxDocumentBytes?: number;
  signal?: AbortSignal;
  /** Queue priority of its requests (a background backfill's are lower). */
  priority?: number;
}

const BATCH = 500;
const MAX_LISTING_PAGES = 100;

/**
 * Finds article URLs: robots.txt, RSS, month sitemaps and day listings. Feeds and sitemaps are
 * fetched conditionally (an unchanged one costs one 304) and streamed into the state store in
 * batches, so memory does not grow with the archive.
 */
export class Discovery {
  robots: RobotsRules = ALLOW_ALL;
  readonly results: SourceResult[] = [];

  constructor(private readonly o: DiscoveryOptions) {}

  /**
   * Reads robots.txt (RFC 9309): 2xx rules apply; 4xx means no rules; 5xx (or 429) means
   * everything is disallowed, unless a copy from an earlier run is cached. No answer at all is
   * no policy of the site: the site is unreachable, and the run stops whatever is cached.
   * Returns null when the run may go on, else why it stops.
   */
  async loadRobots(): Promise<RobotsStop | null> {
    const url = new URL('/robots.txt', this.o.urls.base);
    const cached = this.o.state.sources.get(url.href);
    try {
      const res = await this.o.scheduler.run(
        'robots.txt',
        async (signal) => {
          const r = await this.o.http.get(url, { headers: conditionalHeaders(cached), maxBytes: 512_000, ...(signal ? { signal } : {}) });
          if (r.status >= 500 || r.status === 429) requireOk(r);
          return r;
        },
        this.o.signal,
        this.o.priority,
        { url: url.href, kind: 'robots' },
      );
      if (res.status === 304 && cached?.body != null) {
        this.robots = parseRobots(cached.body, this.o.productToken);
        this.record({ source: url.href, outcome: 'unchanged', urls: 0, added: 0 });
      } else if (res.status >= 200 && res.status < 300) {
        const body = res.body.toString('utf8');
        this.robots = parseRobots(body, this.o.productToken);
        this.o.state.sources.save(url.href, { ...validatorsOf(res), body });
        this.record({ source: url.href, outcome: 'changed', urls: 0, added: 0 });
      } else {
        this.robots = ALLOW_ALL;
        this.o.state.sources.save(url.href, { etag: null, lastModified: null, body: '' });
        this.record({ source: url.href, outcome: 'changed', urls: 0, added: 0 });
        this.o.log.info({ status: res.status }, 'robots.txt unavailable (4xx): no rules apply');
      }
      return null;
    } catch (err) {
      // Our own storage failing is not the site's robots.txt: the run ends with that cause.
      if (StorageError.isStorageFailure(err)) throw err;
      const message = (err as Error).message;
      this.record({ source: url.href, outcome: 'failed', urls: 0, added: 0, error: message });
      if (err instanceof FetchError && err.network) {
        this.robots = DISALLOW_ALL;
        return { message: describeUnreachable(err), unreachable: err };
      }
      if (cached?.body != null) {
        this.robots = parseRobots(cached.body, this.o.productToken);
        this.o.log.warn({ err: message }, 'robots.txt did not answer with its rules: using the copy from the last run');
        return null;
      }
      this.robots = DISALLOW_ALL;
      this.o.log.error({ err: message }, 'robots.txt answered with an error and was never seen: the site may not be crawled (RFC 9309)');
      return { message: `robots.txt could not be read (${message}) and no earlier copy exists: RFC 9309 says the site may not be crawled now; the next run tries again` };
    }
  }

  /** The RSS feed of the latest articles. */
  async rss(path: string): Promise<SourceResult> {
    return this.xmlSource(new URL(path, this.o.urls.base), ['rss', 'feed']);
  }

  /**
   * A month's sitemap; `month` is YYYYMM. A captured article's `<lastmod>` that moved makes it
   * due (see FrontierStore.addDiscovered), and a captured article the month no longer lists is
   * due at once.
   */
  async monthSitemap(template: string, month: string, o: { knownOnly?: boolean } = {}): Promise<SourceResult> {
    return this.xmlSource(monthSitemapUrl(template, month, this.o.urls.base), ['urlset'], { month, ...(o.knownOnly ? { knownOnly: true } : {}) });
  }

  /**
   * The row of `sources` a read keeps its validators in. A read that records only known articles
   * keeps its own (`sweep:<url>`): had it stored them in the URL's row, a full read after it (a
   * backfill) would get a 304 and never see the articles it left out. Its body is how many URLs
   * the read listed that state did not know.
   */
  private sourceKey(url: URL, knownOnly: boolean | undefined): string {
    return knownOnly ? sweepSourceKey(url.href) : url.href;
  }

  /**
   * The sitemap index, read conditionally: the months (YYYYMM) it has a sitemap of, newest first.
   * An unchanged index (a 304) gives the months of its last read, kept with its validators; null
   * when it could not be read and was never read.
   */
  async sitemapIndex(path: string): Promise<{ result: SourceResult; months: string[] | null }> {
    const url = new URL(path, this.o.urls.base);
    const cached = this.o.state.sources.get(url.href);
    const known = cached?.body ? cached.body.split(',') : null;
    try {
      const res = await this.o.scheduler.run(
        `discover ${url.pathname}`,
        async (signal) => requireNotModifiedOrOk(await this.o.http.get(url, { headers: conditionalHeaders(cached), maxBytes: 4 * 1024 * 1024, ...(signal ? { signal } : {}) })),
        this.o.signal,
        this.o.priority,
        { url: url.href, kind: 'discovery' },
      );
      if (res.status === 304 && known) {
        this.o.state.sources.touch(url.href);
        return { result: this.record({ source: url.href, outcome: 'unchanged', urls: known.length, added: 0 }), months: known };
      }
      const months = indexMonths(res.body);
      if (typeof months === 'string') throw new FetchError('decode', url.href, `${url.href}: ${months}`);
      this.o.state.sources.save(url.href, { ...validatorsOf(res), body: months.join(',') });
      return { result: this.record({ source: url.href, outcome: 'changed', urls: months.length, added: 0 }), months };
    } catch (err) {
      if (StorageError.isStorageFailure(err)) throw err;
      if (vetoedByRobots(err)) return { result: this.record({ source: url.href, outcome: 'disallowed', urls: 0, added: 0 }), months: null };
      return { result: this.record({ source: url.href, outcome: 'failed', urls: 0, added: 0, error: (err as Error).message }), months: known };
    }
  }

  /**
   * The sitemap of some days of one month (`since`..`until`, YYYYMMDD): the endpoint takes any
   * range, and today's holds a day's articles, not a busy month's thousands. As a month's read
   * does, it makes due what it no longer lists, among those days.
   */
  async rangeSitemap(template: string, since: string, until: string): Promise<SourceResult> {
    const path = template.replace('{start}', since).replace('{end}', until);
    return this.xmlSource(new URL(path, this.o.urls.base), ['urlset'], { month: since.slice(0, 6), since, until });
  }

  /** A day listing (the site's "day archive" page), following its `list__more` pages where robots.txt allows them. */
  async dayListing(template: string, day: string): Promise<SourceResult> {
    let next: URL | null = new URL(template.replace('{day}', day), this.o.urls.base);
    const first = next.href;
    let urls = 0;
    let added = 0;
    try {
      for (let page = 0; next && page < MAX_LISTING_PAGES; page++) {
        const target: URL = next;
        let res: HttpResponse;
        try {
          res = await this.o.scheduler.run(`day listing ${day}`, (signal) => this.o.http.get(target, signal ? { signal } : {}), this.o.signal, this.o.priority, { url: target.href, kind: 'discovery' });
        } catch (err) {
          if (!vetoedByRobots(err)) throw err;
          if (page === 0) return this.record({ source: first, outcome: 'disallowed', urls, added });
          this.o.log.debug({ url: target.href }, 'day listing paging disallowed by robots.txt');
          break;
        }
        if (res.status === 404 && page === 0) break;
        requireOk(res);
        const $ = cheerio.load(res.body.toString('utf8'));
        const refs: ArticleRef[] = [];
        $('div.list__item a.list__title').each((_, el) => {
          const ref = this.o.urls.parseArticle($(el).attr('href') ?? '', target.href);
          if (ref) refs.push(ref);
        });
        urls += refs.length;
        added += this.o.state.frontier.addDiscovered(refs);
        const more = $('div.list__more').attr('data-url') ?? $('[data-next-url]').attr('data-next-url');
        next = more ? this.o.urls.parseSiteUrl(more, target.href) : null;
      }
      return this.record({ source: first, outcome: 'changed', urls, added });
    } catch (err) {
      // Our own storage failing (a full disk) is no failure of the source: it stops the run.
      if (StorageError.isStorageFailure(err)) throw err;
      return this.record({ source: first, outcome: 'failed', urls, added, error: (err as Error).message });
    }
  }

  private async xmlSource(url: URL, roots: readonly string[], days?: { month: string; since?: string; until?: string; knownOnly?: boolean }): Promise<SourceResult> {
    const key = this.sourceKey(url, days?.knownOnly);
    const cached = this.o.state.sources.get(key);
    const listing = days ? { ...days, generation: this.o.state.frontier.nextGeneration() } : undefined;
    let urls = 0;
    let added = 0;
    try {
      const { res, problem } = await this.o.scheduler.run(
        `discover ${url.pathname}`,
        async (signal) => {
          // A fresh parser per attempt: a retry starts the document again.
          let batch: DiscoveredRef[] = [];
          const flush = () => {
            added += this.o.state.frontier.addDiscovered(batch, listing);
            batch = [];
          };
          const parser = new XmlLocStream((loc, _kind, lastmod) => {
            urls++;
            const ref = this.o.urls.parseArticle(loc);
            const moved = lastmod ? Date.parse(lastmod) : Number.NaN;
            if (ref) batch.push(Number.isNaN(moved) ? ref : { ...ref, lastmod: new Date(moved).toISOString() });
            if (batch.length >= BATCH) flush();
          });
          const r = requireNotModifiedOrOk(
            await this.o.http.get(url, {
              headers: conditionalHeaders(cached),
              maxBytes: this.o.maxDocumentBytes ?? 64 * 1024 * 1024,
              onChunk: (chunk) => parser.write(chunk),
              ...(signal ? { signal } : {}),
            }),
          );
          if (r.status === 304) return { res: r, problem: null };
          parser.end();
          flush();
          return { res: r, problem: parser.problem(roots) };
        },
        this.o.signal,
        this.o.priority,
        { url: url.href, kind: 'discovery' },
      );
      const hold = maxAgeMs(res);
      if (res.status === 304) {
        this.o.state.sources.touch(key);
        if (listing) forgetHold(this.o.state.sources, key);
        return this.record({ source: url.href, outcome: 'unchanged', urls: 0, added: 0, ...hold });
      }
      if (problem) throw new FetchError('decode', url.href, `${url.href}: ${problem}`);
      const drop = listing ? this.o.state.frontier.listingDrop(listing) : null;
      if (drop) checkListing(this.o.state.sources, key, url.href, drop);
      // Only a document read whole says what left it.
      if (listing) this.o.state.frontier.markUnlisted(listing);
      const unlisted = drop?.unlisted;
      // A known-only read adds nothing: what addDiscovered counted are the URLs it left out.
      const counts = days?.knownOnly ? { added: 0, unknown: added } : { added };
      this.o.state.sources.save(key, { ...validatorsOf(res), body: days?.knownOnly ? String(added) : null });
      return this.record({ source: url.href, outcome: 'changed', urls, ...counts, ...(unlisted === undefined ? {} : { unlisted }), ...hold });
    } catch (err) {
      // Our own storage failing (a full disk) is no failure of the source: it stops the run.
      if (StorageError.isStorageFailure(err)) throw err;
      if (vetoedByRobots(err)) return this.record({ source: url.href, outcome: 'disallowed', urls: 0, added: 0 });
      const retryAfter = err instanceof FetchError ? err.retryAfterMs : undefined;
      const held = err instanceof ShortListing ? { short: true } : {};
      return this.record({ source: url.href, outcome: 'failed', urls, added: days?.knownOnly ? 0 : added, error: (err as Error).message, ...held, ...(retryAfter ? { holdMs: retryAfter } : {}) });
    }
  }

  private record(result: SourceResult): SourceResult {
    this.results.push(result);
    const level = result.outcome === 'failed' ? 'warn' : 'info';
    this.o.log[level](result, `discovery ${result.outcome}`);
    return result;
  }
}

/**
 * robots.txt's rules are the request chain's (its robots entry, the one judge for every lane): a
 * source it keeps from going out is disallowed, not failed.
 */
function vetoedByRobots(err: unknown): boolean {
  return err instanceof RequestVeto && err.by === 'robots';
}

/** The `sources` row a known-only read (the sweep) of a sitemap keeps its own validators in. */
export function sweepSourceKey(url: string): string {
  return `sweep:${url}`;
}

/** The URL of a whole month's sitemap (a range from its first day to its last). */
export function monthSitemapUrl(template: string, month: string, base: string | URL): URL {
  const end = `${month}${String(daysInMonth(month)).padStart(2, '0')}`;
  return new URL(template.replace('{start}', `${month}01`).replace('{end}', end), base);
}

/** The months of a sitemap index's child sitemaps (their `date_start`), newest first; a string says what is wrong. */
function indexMonths(body: Buffer): string[] | string {
  const months = new Set<string>();
  const parser = new XmlLocStream((loc, kind) => {
    const start = kind === 'sitemap' ? /[?&]date_start=(\d{6})\d{2}/.exec(loc)?.[1] : undefined;
    if (start) months.add(start);
  });
  parser.write(body);
  parser.end();
  return parser.problem(['sitemapindex']) ?? [...months].sort().reverse();
}

function requireNotModifiedOrOk(res: HttpResponse): HttpResponse {
  return res.status === 304 ? res : requireOk(res);
}

function conditionalHeaders(v: { etag: string | null; lastModified: string | null } | undefined): Record<string, string> {
  const h: Record<string, string> = {};
  if (v?.etag) h['if-none-match'] = v.etag;
  if (v?.lastModified) h['if-modified-since'] = v.lastModified;
  return h;
}

/** `Cache-Control: max-age` of a response, in ms, when it gives one. */
function maxAgeMs(res: HttpResponse): { holdMs?: number } {
  const seconds = /(?:^|,)\s*max-age\s*=\s*"?(\d+)/i.exec(res.headers['cache-control'] ?? '')?.[1];
  return seconds ? { holdMs: Number(seconds) * 1000 } : {};
}

function validatorsOf(res: HttpResponse): { etag: string | null; lastModified: string | null } {
  return { etag: res.headers.etag ?? null, lastModified: res.headers['last-modified'] ?? null };
}
