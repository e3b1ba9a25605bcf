import type { PageText } from '../extract/article.js';
import type { WarcLocation } from './exchange.js';
import { decodeHtml } from './decode-html.js';
import { FetchError } from './fetch-error.js';
import { requireOk, type HttpClient } from './http-client.js';

/** A fetched article page, decoded to text. */
export interface FetchedPage {
  /** The page's own site URL after redirects (production form). */
  url: string;
  html: PageText;
  /** Set when the page was not UTF-8 or said nothing: what was assumed, for the log. */
  charsetNote?: string;
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

/** Fetches pages over HTTP and decodes them by the charset of the headers or the page. */
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
    const { html, note } = decodeHtml(res.body, type);
    return { url: res.url.href, html, validators: fresh, ...(note ? { charsetNote: note } : {}), ...(res.archived ? { archived: res.archived } : {}) };
  }
}
