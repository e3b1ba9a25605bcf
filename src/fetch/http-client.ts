import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import { request, type Dispatcher } from 'undici';
import type { SiteUrls } from '../site/site-urls.js';
import { FetchError, parseRetryAfter } from './fetch-error.js';
import { createDispatcher, proxyAddressOf, proxySettings, redactUrl, type ProxySettings } from './proxy.js';

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
}

export interface RequestInit {
  headers?: Record<string, string>;
  maxBytes?: number;
  /** Receives the decompressed body as it arrives instead of buffering it. */
  onChunk?: (chunk: Buffer) => void;
  signal?: AbortSignal;
}

/** Observes each request actually sent (for logs and metrics). */
export type RequestObserver = (event: { url: string; status: number | null; ms: number; error?: FetchError }) => void;

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
  private readonly observers = new Set<RequestObserver>();
  /** Where requests go on their way to the site (config, then the environment). */
  readonly proxy: ProxySettings;

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

  /** Calls `observer` after every request; returns the function that stops it. */
  observe(observer: RequestObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  private notify(event: Parameters<RequestObserver>[0]): void {
    for (const observer of this.observers) observer(event);
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

  private async once(siteUrl: URL, init: RequestInit): Promise<HttpResponse> {
    const started = performance.now();
    const target = this.urls.toOrigin(siteUrl);
    const maxBytes = init.maxBytes ?? this.options.maxBytes;
    const signal = init.signal
      ? AbortSignal.any([init.signal, AbortSignal.timeout(this.options.totalTimeoutMs)])
      : AbortSignal.timeout(this.options.totalTimeoutMs);
    let status: number | null = null;
    try {
      const res = await request(target, {
        method: 'GET',
        dispatcher: this.dispatcher,
        signal,
        headers: {
          'user-agent': this.options.userAgent,
          'accept-encoding': 'gzip, deflate, br',
          accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
          ...init.headers,
        },
      });
      status = res.statusCode;
      const headers = flattenHeaders(res.headers);
      const declared = Number(headers['content-length']);
      if (headers['content-encoding'] === undefined && declared > maxBytes) {
        discard(res.body);
        throw new FetchError('too-large', siteUrl.href, `${siteUrl.href} is ${declared} bytes, over the ${maxBytes}-byte cap`, { status });
      }
      let body = EMPTY;
      if (status >= 300 && status < 400) discard(res.body);
      else body = await readBody(res.body, headers, maxBytes, siteUrl.href, init.onChunk);
      this.notify({ url: siteUrl.href, status, ms: performance.now() - started });
      return { url: siteUrl, status, headers, body };
    } catch (err) {
      const error = init.signal?.aborted
        ? new FetchError('aborted', siteUrl.href, `${siteUrl.href}: request aborted, the run is stopping`, { cause: err })
        : (proxyError(err, proxyAddressOf(this.proxy, target), siteUrl.href) ?? toFetchError(err, siteUrl.href, signal, status));
      this.notify({ url: siteUrl.href, status, ms: performance.now() - started, error });
      throw error;
    }
  }
}

/** Throws FetchError('http-status') unless the response is a 2xx. */
export function requireOk(res: HttpResponse): HttpResponse {
  if (res.status >= 200 && res.status < 300) return res;
  throw new FetchError('http-status', res.url.href, `${res.url.href} answered HTTP ${res.status}`, {
    status: res.status,
    retryAfterMs: res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers['retry-after'], res.headers.date) : undefined,
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
    if (onChunk) onChunk(chunk);
    else chunks.push(chunk);
  }
  return Buffer.concat(chunks, onChunk ? 0 : total);
}

function toFetchError(err: unknown, url: string, signal: AbortSignal, status: number | null): FetchError {
  if (err instanceof FetchError) return err;
  const extra = { cause: err, ...(status === null ? {} : { status }) };
  const code = errorCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (signal.aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') {
    return new FetchError('timeout', url, `${url} timed out (${code ?? 'deadline'})`, extra);
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new FetchError('dns', url, `${url}: host not found (${code})`, extra);
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new FetchError('connect', url, `${url}: connection failed (${code})`, extra);
  }
  if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return new FetchError('truncated', url, `${url}: body shorter than its Content-Length`, extra);
  if (code?.startsWith('Z_') || code === 'ERR__ERROR_FORMAT_PADDING_1' || /incorrect header|unexpected end of file|Decompression failed/i.test(detail)) {
    return new FetchError('decode', url, `${url}: body could not be decompressed (${detail})`, extra);
  }
  if (status !== null) return new FetchError('truncated', url, `${url}: body cut off (${code ?? detail})`, extra);
  return new FetchError('reset', url, `${url}: connection failed (${code ?? detail})`, extra);
}

/**
 * A failure of the proxy rather than the site, named by the proxy's address without its
 * credentials: the proxy refused or could not be resolved (retried like any network error), it
 * asked for credentials (407, not retried), or it could not reach the site.
 */
function proxyError(err: unknown, proxy: URL | null, url: string): FetchError | null {
  if (!proxy || err instanceof FetchError) return null;
  const name = redactUrl(proxy.href);
  const chain: Array<{ message?: string; code?: string; port?: number; hostname?: string; address?: string }> = [];
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) chain.push(e as never);
  const said = chain.map((e) => e.message ?? '').join(' ');
  const answered = /Proxy response \((\d{3})\)|Proxy Authentication Required \((\d{3})\)/.exec(said);
  if (answered) {
    const status = Number(answered[1] ?? answered[2]);
    if (status === 407) {
      return new FetchError('proxy', url, `proxy ${name} refused the request: HTTP 407 Proxy Authentication Required (check the user and password in the proxy URL)`, { status, cause: err });
    }
    return new FetchError('proxy', url, `${url}: proxy ${name} could not reach the site (HTTP ${status})`, { status, cause: err });
  }
  const port = Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80));
  const host = proxy.hostname.replace(/^\[|\]$/g, '');
  // A proxy named by host name shows up by its resolved address; its port, or its name in a DNS failure, tell it.
  const atProxy = chain.find((e) => e.port === port || e.hostname === host);
  if (!atProxy) return null;
  const code = atProxy.code ?? 'error';
  const extra = { cause: err };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new FetchError('dns', url, `${url}: proxy ${name} could not be resolved (${code})`, extra);
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return new FetchError('connect', url, `${url}: proxy ${name} refused the connection (${code})`, extra);
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return new FetchError('timeout', url, `${url}: proxy ${name} did not answer (${code})`, extra);
  return new FetchError('reset', url, `${url}: connection to proxy ${name} failed (${code})`, extra);
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
