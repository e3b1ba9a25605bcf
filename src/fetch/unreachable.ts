import type { FetchError } from './fetch-error.js';

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
