import type { FetchError } from './fetch-error.js';
import type { HttpClient } from './http-client.js';

/**
 * Whether the site answers at all, as every request of a process sees it: the site's outage is a
 * run's failure, never an article's. A failure that is about the way to the host (DNS,
 * connection, TLS, proxy) is never an article's; a timeout or a reset is one only when the site
 * answered other requests meanwhile (`answeredSince`). Several requests in a row without any
 * answer mean the site is unreachable: the run stops (`onUnreachable`).
 */
export class SiteHealth {
  private answered = 0;
  private failedInARow = 0;
  private lastFailure: FetchError | null = null;
  private readonly listeners = new Set<(failure: FetchError) => void>();

  constructor(
    http: HttpClient,
    /** Requests in a row that get no answer before the site counts as unreachable. */
    private readonly threshold: number,
  ) {
    http.observe(({ status, error }) => {
      if (error?.kind === 'aborted') return;
      if (error?.network) this.failed(error);
      else if (status !== null) this.answer();
    });
  }

  /** A token for `answeredSince`: take it before an article's first request. */
  mark(): number {
    return this.answered;
  }

  /** True when the site answered some request after `mark` was taken. */
  answeredSince(mark: number): boolean {
    return this.answered > mark;
  }

  /** The last failure, while no answer has come since; null once the site answers. */
  get failure(): FetchError | null {
    return this.lastFailure;
  }

  get unreachable(): boolean {
    return this.failedInARow >= this.threshold;
  }

  /** Calls `listener` on every failure once the site counts as unreachable; returns the function that stops it. */
  onUnreachable(listener: (failure: FetchError) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether a failed article's error says the site, not the article, failed. */
  isOutage(error: FetchError, mark: number): boolean {
    if (!error.network) return false;
    return error.hostLevel || !this.answeredSince(mark);
  }

  private answer(): void {
    this.answered++;
    this.failedInARow = 0;
    this.lastFailure = null;
  }

  private failed(error: FetchError): void {
    this.failedInARow++;
    this.lastFailure = error;
    if (this.failedInARow >= this.threshold) for (const listener of this.listeners) listener(error);
  }
}

/**
 * What a person reads when nothing answers: the address actually contacted (the origin or the
 * proxy, not only the site), the cause, and what to check. A robots.txt that answers 5xx is not
 * this: the site answered, and RFC 9309 decides.
 */
export function describeUnreachable(error: FetchError): string {
  const to = error.contacted;
  const address = to?.address ?? new URL(error.url).host;
  const host = address.replace(/:\d+$/, '');
  const code = error.code ?? '';
  if (to?.role === 'proxy') {
    if (error.kind === 'dns') return `cannot resolve proxy ${host} (host not found): check http.proxy or HTTPS_PROXY, and the DNS`;
    if (error.status === 407) return `proxy ${address} refused the request (HTTP 407 Proxy Authentication Required): check the user and password in http.proxy or HTTPS_PROXY`;
    if (error.status !== undefined) return `proxy ${address} could not reach the site (HTTP ${error.status}): check the proxy's own network, or NO_PROXY`;
    return `cannot reach proxy ${address} (${cause(error.kind, code)}): is the proxy running? check http.proxy or HTTPS_PROXY`;
  }
  if (error.kind === 'dns') return `cannot resolve ${host} (host not found): check the network, DNS or HTTPS_PROXY`;
  const remedy =
    error.kind === 'tls'
      ? "check the system's CA certificates and clock, or a proxy that intercepts TLS"
      : to?.role === 'origin'
        ? 'is the origin running?'
        : 'check the network, or set HTTPS_PROXY if it must go through a proxy';
  return `cannot reach ${address} (${cause(error.kind, code)}): ${remedy}`;
}

function cause(kind: FetchError['kind'], code: string): string {
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'EHOSTUNREACH') return 'no route to host';
  if (code === 'ENETUNREACH') return 'network unreachable';
  if (code === 'ECONNRESET') return 'connection reset';
  if (kind === 'timeout') return `no answer in time${code ? `: ${code}` : ''}`;
  if (kind === 'tls') return `TLS handshake failed: ${code}`;
  return code || kind;
}
