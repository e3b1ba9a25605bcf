import { FetchError, type Contacted } from './fetch-error.js';
import { StorageError } from '../disk/storage-error.js';
import { redactUrl } from './proxy.js';

/** What went wrong with a request, as a FetchError whose message a log reader can act on. */
export function toFetchError(err: unknown, url: string, signal: AbortSignal, status: number | null, contacted: Contacted): FetchError {
  if (err instanceof FetchError) return err;
  // A reader of the body (a sitemap streamed into state) that failed on our storage: not the site's fault.
  if (err instanceof StorageError || /^SQLITE_/.test(errorCode(err) ?? '')) throw err;
  const code = errorCode(err);
  const extra = { cause: err, ...(status === null ? {} : { status }), contacted, ...(code ? { code } : {}) };
  const detail = err instanceof Error ? err.message : String(err);
  if (signal.aborted || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') {
    return new FetchError('timeout', url, `${url} timed out (${code ?? 'deadline'})`, extra);
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new FetchError('dns', url, `${url}: host not found (${code})`, extra);
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new FetchError('connect', url, `${url}: connection failed (${code})`, extra);
  }
  if (code && TLS_CODES.test(code)) return new FetchError('tls', url, `${url}: TLS handshake failed (${code})`, extra);
  if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return new FetchError('truncated', url, `${url}: body shorter than its Content-Length`, extra);
  if (code?.startsWith('Z_') || code === 'ERR__ERROR_FORMAT_PADDING_1' || /incorrect header|unexpected end of file|Decompression failed/i.test(detail)) {
    return new FetchError('decode', url, `${url}: body could not be decompressed (${detail})`, extra);
  }
  if (status !== null) return new FetchError('truncated', url, `${url}: body cut off (${code ?? detail})`, extra);
  return new FetchError('reset', url, `${url}: connection failed (${code ?? detail})`, extra);
}

/** Node's and OpenSSL's codes for a TLS handshake that failed. */
const TLS_CODES = /CERT|SSL|TLS|EPROTO|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;

/**
 * A failure of the proxy rather than the site, named by the proxy's address without its
 * credentials: the proxy refused or could not be resolved (retried like any network error), it
 * asked for credentials (407, not retried), or it could not reach the site.
 */
export function proxyError(err: unknown, proxy: URL | null, url: string): FetchError | null {
  if (!proxy || err instanceof FetchError) return null;
  const name = redactUrl(proxy.href);
  const contacted: Contacted = { address: `${proxy.hostname.replace(/^\[|\]$/g, '')}:${proxy.port || (proxy.protocol === 'https:' ? 443 : 80)}`, role: 'proxy' };
  const chain: Array<{ message?: string; code?: string; port?: number; hostname?: string; address?: string }> = [];
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) chain.push(e as never);
  const said = chain.map((e) => e.message ?? '').join(' ');
  const answered = /Proxy response \((\d{3})\)|Proxy Authentication Required \((\d{3})\)/.exec(said);
  if (answered) {
    const status = Number(answered[1] ?? answered[2]);
    if (status === 407) {
      return new FetchError('proxy', url, `proxy ${name} refused the request: HTTP 407 Proxy Authentication Required (check the user and password in the proxy URL)`, { status, cause: err, contacted });
    }
    return new FetchError('proxy', url, `${url}: proxy ${name} could not reach the site (HTTP ${status})`, { status, cause: err, contacted });
  }
  const port = Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80));
  const host = proxy.hostname.replace(/^\[|\]$/g, '');
  // A proxy named by host name shows up by its resolved address; its port, or its name in a DNS failure, tell it.
  const atProxy = chain.find((e) => e.port === port || e.hostname === host);
  if (!atProxy) return null;
  const code = atProxy.code ?? 'error';
  const extra = { cause: err, contacted, code };
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
