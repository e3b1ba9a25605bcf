import { nowMs } from '../clock/clock.js';

/** What went wrong with one request, in words a log reader can act on. */
export type FetchErrorKind =
  | 'bad-url'
  | 'dns'
  | 'connect'
  | 'timeout'
  | 'reset'
  /** The TLS handshake failed (certificate, protocol). */
  | 'tls'
  | 'truncated'
  | 'decode'
  | 'http-status'
  | 'too-large'
  | 'not-html'
  | 'redirect'
  /** The proxy answered instead of the site (407, or it could not reach the site). */
  | 'proxy'
  /** The run is stopping (SIGTERM, SIGINT): not a failure of the site. */
  | 'aborted'
  /** A request middleware kept it from being sent (robots.txt, the drift veto): nothing went out. */
  | 'vetoed'
  /**
   * The browser failed a page's request for a reason it does not say (net::ERR_FAILED,
   * ERR_EMPTY_RESPONSE, a blocked resource…): says nothing of whether the site is up.
   */
  | 'failed'
  /** A rendered page asked for more than render.maxSubrequests: the rest never went out. */
  | 'capped';

const RETRYABLE: ReadonlySet<FetchErrorKind> = new Set(['dns', 'connect', 'timeout', 'reset', 'truncated']);
/** No answer at all because of the way to the host, not the page: they say nothing of one article. */
const HOST_LEVEL: ReadonlySet<FetchErrorKind> = new Set(['dns', 'connect', 'tls']);

/** The address a request actually went to, which a person must check when nothing answers. */
export interface Contacted {
  /** `host:port` (a host name alone when it could not be resolved). */
  address: string;
  /** The site itself, a mirror given by `--origin`, or the proxy in between. */
  role: 'site' | 'origin' | 'proxy';
}

export class FetchError extends Error {
  override readonly name = 'FetchError';
  readonly kind: FetchErrorKind;
  readonly url: string;
  readonly status: number | undefined;
  /** From `Retry-After` on a 429 or 503, in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /** Where the request went, when no answer came back. */
  readonly contacted: Contacted | undefined;
  /** The system's or undici's error code (ECONNREFUSED, ENOTFOUND, UND_ERR_CONNECT_TIMEOUT, …). */
  readonly code: string | undefined;

  constructor(
    kind: FetchErrorKind,
    url: string,
    message: string,
    extra: { status?: number; retryAfterMs?: number; cause?: unknown; contacted?: Contacted; code?: string } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.kind = kind;
    this.url = url;
    this.status = extra.status;
    this.retryAfterMs = extra.retryAfterMs;
    this.contacted = extra.contacted;
    this.code = extra.code;
  }

  /** No answer came from the site: the network, the host or the proxy failed, not a page. */
  get network(): boolean {
    return this.hostLevel || (this.status === undefined && (this.kind === 'timeout' || this.kind === 'reset'));
  }

  /**
   * The way to the host failed (DNS, connection, TLS, the proxy): never about one article. A
   * timeout or a reset may be about one page; whether it is depends on whether the rest of the
   * site answered meanwhile.
   */
  get hostLevel(): boolean {
    return this.kind === 'proxy' || (this.status === undefined && HOST_LEVEL.has(this.kind));
  }

  /** A later attempt may succeed: network trouble, 408, 425, 429 and 5xx. */
  get retryable(): boolean {
    if (this.kind === 'http-status' || this.kind === 'proxy') {
      const s = this.status ?? 0;
      return s === 408 || s === 425 || s === 429 || s >= 500;
    }
    return RETRYABLE.has(this.kind);
  }
}

/**
 * `Retry-After` in milliseconds (delta-seconds or HTTP-date), or undefined when absent or invalid.
 * An HTTP-date is read against the response's own `Date` header when there is one: both come
 * from the server's clock, whatever ours says.
 */
/** Statuses whose `Retry-After` asks every client to hold off (RFC 9110 §10.2.3). */
const HOLD_OFF: ReadonlySet<number> = new Set([429, 503]);

/** The hold-off (ms) an answer asks for: a 429 or 503's `Retry-After`, read against its `Date`; undefined for any other. */
export function retryAfterOf(status: number, headers: Record<string, string | undefined>): number | undefined {
  return HOLD_OFF.has(status) ? parseRetryAfter(headers['retry-after'], headers.date) : undefined;
}

export function parseRetryAfter(value: string | undefined, responseDate?: string): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  const sent = responseDate ? Date.parse(responseDate) : Number.NaN;
  return Math.max(0, at - (Number.isNaN(sent) ? nowMs() : sent));
}
