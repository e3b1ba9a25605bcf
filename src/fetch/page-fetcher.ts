import { StringDecoder } from 'node:string_decoder';
import type { PageText } from '../extract/article.js';
import type { WarcLocation } from './exchange.js';
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

const META_CHARSET = /<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)/i;

/** Pieces a large UTF-8 page is decoded into: each a short string, collected young. */
const PIECE_BYTES = 32 * 1024;

/** Decodes a page: charset from Content-Type, then `<meta>`, then UTF-8 (the site's own). */
export function decodeHtml(body: Buffer, contentType: string | undefined): { html: PageText; note?: string } {
  const fromHeader = /charset\s*=\s*["']?([^"';\s]+)/i.exec(contentType ?? '')?.[1];
  const fromMeta = fromHeader ? undefined : META_CHARSET.exec(body.subarray(0, 4096).toString('latin1'))?.[1];
  const label = (fromHeader ?? fromMeta ?? 'utf-8').toLowerCase();
  // Buffer's decoder is V8's fast path; like TextDecoder it turns invalid bytes into U+FFFD.
  if (label === 'utf-8' || label === 'utf8') return { html: decodeUtf8(body) };
  try {
    const html = new TextDecoder(label).decode(body);
    return { html, note: `page declares charset ${label}, not the site's UTF-8; decoded as ${label}` };
  } catch {
    return { html: stripBom(body.toString('utf8')), note: `unknown charset ${label}; decoded as UTF-8` };
  }
}

/** UTF-8 in pieces of 32 KiB (a character split across two is held back by the decoder), BOM dropped. */
function decodeUtf8(body: Buffer): PageText {
  if (body.length <= 2 * PIECE_BYTES) return stripBom(body.toString('utf8'));
  const decoder = new StringDecoder('utf8');
  const pieces: string[] = [];
  for (let at = 0; at < body.length; at += PIECE_BYTES) {
    const piece = decoder.write(body.subarray(at, at + PIECE_BYTES));
    if (piece) pieces.push(pieces.length === 0 ? stripBom(piece) : piece);
  }
  const rest = decoder.end();
  if (rest) pieces.push(rest);
  return pieces;
}

function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}
