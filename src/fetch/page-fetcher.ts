import type { PageText } from '../extract/article.js';
import type { WarcLocation } from './exchange.js';
import { FetchError } from './fetch-error.js';
import { requireOk, type HttpClient } from './http-client.js';

/**
 * A page's markup as a fetcher got it: the bytes of a response, with the Content-Type that names
 * their charset (decoded where it is extracted: a crawl does that on another thread), or the
 * text of a rendered DOM.
 */
export type PageSource = { body: Buffer; contentType?: string } | { html: PageText };

/** A fetched article page. */
export interface FetchedPage {
  /** The page's own site URL after redirects (production form). */
  url: string;
  source: PageSource;
  /** Time the fetcher itself spent, excluding any wait for a free slot. */
  elapsedMs?: number;
  /** The page's validators, for a conditional request next time. */
  validators?: PageValidators;
  /** Where the page extraction reads was archived (the response, or the rendered DOM). */
  archived?: Promise<WarcLocation | null>;
  notModified?: false;
}

/** The page did not change since the validators were given (HTTP 304). */
export interface NotModified {
  notModified: true;
  validators?: PageValidators;
}

export interface PageValidators {
  etag: string | null;
  lastModified: string | null;
}

/** Anything that turns an article URL into page HTML: plain HTTP, or a browser render. */
export interface PageFetcher {
  /** With `validators`, a page that did not change may answer `NotModified` instead. */
  fetchPage(siteUrl: string, signal?: AbortSignal, validators?: PageValidators): Promise<FetchedPage | NotModified>;
}

const HTML_TYPES = /^(text\/html|application\/xhtml\+xml)\b/i;

/** Fetches pages over HTTP: HTML only, its charset decoded where it is extracted. */
export class HttpPageFetcher implements PageFetcher {
  constructor(private readonly http: HttpClient) {}

  async fetchPage(siteUrl: string, signal?: AbortSignal, validators?: PageValidators): Promise<FetchedPage | NotModified> {
    const headers: Record<string, string> = {};
    if (validators?.etag) headers['if-none-match'] = validators.etag;
    if (validators?.lastModified) headers['if-modified-since'] = validators.lastModified;
    const answer = await this.http.get(siteUrl, { headers, ...(signal ? { signal } : {}) });
    const fresh: PageValidators = { etag: answer.headers.etag ?? null, lastModified: answer.headers['last-modified'] ?? null };
    if (answer.status === 304 && validators) return { notModified: true, validators: fresh };
    const res = requireOk(answer);
    const type = res.headers['content-type'];
    if (type !== undefined && !HTML_TYPES.test(type.trim())) {
      throw new FetchError('not-html', res.url.href, `${res.url.href} is not HTML (content-type ${type})`, { status: res.status });
    }
    return { url: res.url.href, source: { body: res.body, ...(type ? { contentType: type } : {}) }, validators: fresh, ...(res.archived ? { archived: res.archived } : {}) };
  }
}
