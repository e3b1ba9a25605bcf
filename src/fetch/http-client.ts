import { STATUS_CODES } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import { request, type Dispatcher } from 'undici';
import type { SiteUrls } from '../site/site-urls.js';
import { nowIso } from '../clock/clock.js';
import { deadline } from '../clock/deadline.js';
import type { WarcLocation, ExchangeRecorder, HttpExchange } from './exchange.js';
import { FetchError, retryAfterOf, type Contacted } from './fetch-error.js';
import { proxyError, toFetchError } from './http-failures.js';
import { createDispatcher, proxyAddressOf, proxySettings, type ProxySettings } from './proxy.js';
import { UNCHAINED, type SiteRequests } from './site-requests.js';

export interface HttpOptions {
  userAgent: string;
  connectTimeoutMs: number;
  /** Longest wait for response headers, and between two body chunks. */
  readTimeoutMs: number;
  /** Longest a whole request may take, however slowly its bytes drip. */
  totalTimeoutMs: number;
  /** Largest body accepted, counted after decompression. */
  maxBytes: number;
  maxRedirects: number;
  /** Proxy for every request (wins over HTTP_PROXY/HTTPS_PROXY); '' = from the environment, or none. */
  proxy: string;
  /** Hosts reached without the proxy (wins over NO_PROXY); '' = from the environment. */
  noProxy: string;
}

export interface HttpResponse {
  /** The site URL finally answered, after redirects (production form). */
  url: URL;
  status: number;
  headers: Record<string, string>;
  /** The decompressed body; empty when `onChunk` consumed it. */
  body: Buffer;
  /** Where the exchange was archived, when a recorder keeps them. */
  archived?: Promise<WarcLocation | null>;
}

export interface RequestInit {
  headers?: Record<string, string>;
  maxBytes?: number;
  /** Receives the decompressed body as it arrives instead of buffering it. */
  onChunk?: (chunk: Buffer) => void;
  signal?: AbortSignal;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const EMPTY: Buffer = Buffer.alloc(0);

/** Drops a response body we will not read; the stream's abort error is expected, not a crash. */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

/**
 * HTTP for everything newsnap sends: undici, a real User-Agent, timeouts, a size cap,
 * gzip/deflate/br, and redirects followed only within the site's own hosts.
 */
export class HttpClient {
  private readonly dispatcher: Dispatcher;
  /** The request chain every request passes (each redirect hop is a request of its own); none by default. */
  requests: SiteRequests = UNCHAINED;
  /** Where requests go on their way to the site (config, then the environment). */
  readonly proxy: ProxySettings;
  /** Keeps every exchange that got an answer (the WARC archive), when set. */
  recorder: ExchangeRecorder | null = null;

  constructor(
    private readonly urls: SiteUrls,
    readonly options: HttpOptions,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.proxy = proxySettings(options, env);
    this.dispatcher = createDispatcher(this.proxy, {
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.readTimeoutMs,
      bodyTimeout: options.readTimeoutMs,
      connections: 64,
    });
  }

  /**
   * GETs a site URL through the configured origin. Any final status is returned (the caller
   * decides what a 304 or 404 means); transport failures and refused redirects throw FetchError.
   */
  async get(siteUrl: URL | string, init: RequestInit = {}): Promise<HttpResponse> {
    let current = typeof siteUrl === 'string' ? new URL(siteUrl) : siteUrl;
    for (let hop = 0; ; hop++) {
      const res = await this.once(current, init);
      if (!REDIRECTS.has(res.status)) return res;
      const location = res.headers.location;
      if (!location) return res;
      const contacted = this.urls.toOrigin(current);
      let target: URL;
      try {
        target = new URL(location, contacted);
      } catch {
        throw new FetchError('redirect', current.href, `redirect from ${current.href} to an invalid URL: ${location}`);
      }
      const next = this.urls.fromContacted(target);
      if (!next) {
        throw new FetchError(
          'redirect',
          current.href,
          `redirect from ${current.href} to ${target.host || target.protocol} refused: not a host of the site`,
        );
      }
      if (hop + 1 > this.options.maxRedirects) {
        throw new FetchError('redirect', current.href, `more than ${this.options.maxRedirects} redirects from ${siteUrl.toString()}`);
      }
      current = next;
    }
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /** The address a request for `target` goes to (without a proxy in between). */
  private contacted(target: URL): Contacted {
    const port = target.port || (target.protocol === 'https:' ? '443' : '80');
    const host = target.hostname.replace(/^\[|\]$/g, '');
    return { address: `${host}:${port}`, role: this.urls.origin.href === this.urls.base.href ? 'site' : 'origin' };
  }

  private async once(siteUrl: URL, init: RequestInit): Promise<HttpResponse> {
    const ticket = await this.requests.open(siteUrl.href, init.signal ? { signal: init.signal } : {});
    const target = this.urls.toOrigin(siteUrl);
    const maxBytes = init.maxBytes ?? this.options.maxBytes;
    const total = deadline(this.options.totalTimeoutMs, init.signal);
    const signal = total.signal;
    let status: number | null = null;
    const sent = nowIso();
    const requestHeaders: Record<string, string> = {
      'user-agent': this.options.userAgent,
      'accept-encoding': 'gzip, deflate, br',
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      ...init.headers,
      ...ticket.headers,
    };
    let got: { status: number; headers: Record<string, string>; raw: Parameters<typeof exchangeOf>[4]; body: Buffer };
    try {
      const res = await request(target, { method: 'GET', dispatcher: this.dispatcher, signal, headers: requestHeaders });
      status = res.statusCode;
      const headers = flattenHeaders(res.headers);
      const declared = Number(headers['content-length']);
      if (headers['content-encoding'] === undefined && declared > maxBytes) {
        discard(res.body);
        throw new FetchError('too-large', siteUrl.href, `${siteUrl.href} is ${declared} bytes, over the ${maxBytes}-byte cap`, { status });
      }
      let body = EMPTY;
      if (status >= 300 && status < 400) discard(res.body);
      // A recorder keeps the body even when the caller streams it (sitemaps, feeds).
      else body = await readBody(res.body, headers, maxBytes, siteUrl.href, init.onChunk, this.recorder !== null);
      got = { status, headers, raw: res.headers, body };
    } catch (err) {
      const error = init.signal?.aborted
        ? new FetchError('aborted', siteUrl.href, `${siteUrl.href}: request aborted, the run is stopping`, { cause: err })
        : (proxyError(err, proxyAddressOf(this.proxy, target), siteUrl.href) ?? toFetchError(err, siteUrl.href, signal, status, this.contacted(target)));
      ticket.end({ status, headers: {}, error });
      throw error;
    } finally {
      total.clear();
    }
    // Outside the try: nothing the chain's hooks do with a good answer may turn it into a failed (retried) fetch.
    ticket.end({ status: got.status, headers: got.headers, error: null });
    const archived = this.recorder?.recordExchange(exchangeOf(siteUrl, sent, requestHeaders, got.status, got.raw, got.body));
    return { url: siteUrl, status: got.status, headers: got.headers, body: init.onChunk ? EMPTY : got.body, ...(archived ? { archived } : {}) };
  }
}

/** Throws FetchError('http-status') unless the response is a 2xx. */
export function requireOk(res: HttpResponse): HttpResponse {
  if (res.status >= 200 && res.status < 300) return res;
  throw new FetchError('http-status', res.url.href, `${res.url.href} answered HTTP ${res.status}`, {
    status: res.status,
    retryAfterMs: retryAfterOf(res.status, res.headers),
  });
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

async function readBody(
  raw: Readable,
  headers: Record<string, string>,
  maxBytes: number,
  url: string,
  onChunk?: (chunk: Buffer) => void,
  keep = false,
): Promise<Buffer> {
  const encoding = (headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip()
      : encoding === 'br'
        ? zlib.createBrotliDecompress()
        : encoding === 'deflate'
          ? zlib.createInflate()
          : null;
  if (encoding && encoding !== 'identity' && !decoder) {
    discard(raw);
    throw new FetchError('decode', url, `${url} came with an unsupported content-encoding "${encoding}"`);
  }
  const stream: Readable = decoder ? pipeline(raw, decoder, () => {}) : raw;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      discard(stream);
      discard(raw);
      throw new FetchError('too-large', url, `${url} is over the ${maxBytes}-byte cap (decompressed)`);
    }
    onChunk?.(chunk);
    if (!onChunk || keep) chunks.push(chunk);
  }
  return onChunk && !keep ? EMPTY : Buffer.concat(chunks, total);
}

/** The exchange as a record keeps it: the site URL it stood for, the decoded body, its real headers. */
function exchangeOf(
  siteUrl: URL,
  at: string,
  sent: Record<string, string>,
  status: number,
  received: Record<string, string | string[] | undefined>,
  body: Buffer,
): HttpExchange {
  const responseHeaders: Array<[string, string]> = [];
  let decodedFrom: string | undefined;
  for (const [name, value] of Object.entries(received)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    if (key === 'content-encoding' && String(value).toLowerCase() !== 'identity') {
      decodedFrom = String(value);
      continue;
    }
    if (key === 'content-length' || key === 'transfer-encoding') continue;
    for (const v of Array.isArray(value) ? value : [value]) responseHeaders.push([name, v]);
  }
  responseHeaders.push(['content-length', String(body.length)]);
  return {
    url: siteUrl.href,
    at,
    requestLine: `GET ${siteUrl.pathname}${siteUrl.search} HTTP/1.1`,
    requestHeaders: [['host', siteUrl.host], ...Object.entries(sent)],
    status,
    statusText: STATUS_CODES[status] ?? '',
    responseHeaders,
    body,
    ...(decodedFrom ? { decodedFrom } : {}),
  };
}
