import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';

/**
 * Where requests go on their way to the site. `http.proxy` in config wins; otherwise
 * `http_proxy`/`HTTP_PROXY`, `https_proxy`/`HTTPS_PROXY` and `no_proxy`/`NO_PROXY` as curl reads
 * them (lower case first). Credentials may sit in the proxy URL; they are sent to the proxy
 * and never printed: every form meant for people goes through `redactUrl`.
 */
export interface ProxySettings {
  /** Proxy for http:// targets, or null for none. */
  http: string | null;
  /** Proxy for https:// targets, or null for none. */
  https: string | null;
  /** Hosts reached directly (curl's NO_PROXY syntax); '' for none, '*' for all. */
  noProxy: string;
  /** Where the proxy came from, for logs: `http.proxy` or the environment variable's name. */
  source: string | null;
}

const PROXY_SCHEMES = new Set(['http:', 'https:', 'socks5:', 'socks:']);

/** The proxy URL is unusable; names it without credentials. */
export class ProxyConfigError extends Error {
  override readonly name = 'ProxyConfigError';
}

export function proxySettings(config: { proxy: string; noProxy: string }, env: NodeJS.ProcessEnv = process.env): ProxySettings {
  const pick = (...names: string[]): { value: string; name: string } | null => {
    for (const name of names) {
      const value = env[name]?.trim();
      if (value) return { value, name };
    }
    return null;
  };
  const noProxy = config.noProxy.trim() || (pick('no_proxy', 'NO_PROXY')?.value ?? '');
  if (config.proxy.trim()) {
    const proxy = checkProxyUrl(config.proxy.trim(), 'http.proxy');
    return { http: proxy, https: proxy, noProxy, source: 'http.proxy' };
  }
  const http = pick('http_proxy', 'HTTP_PROXY');
  const https = pick('https_proxy', 'HTTPS_PROXY');
  return {
    http: http ? checkProxyUrl(http.value, http.name) : null,
    https: https ? checkProxyUrl(https.value, https.name) : null,
    noProxy,
    source: [http?.name, https?.name].filter(Boolean).join(', ') || null,
  };
}

function checkProxyUrl(raw: string, where: string): string {
  // curl takes `host:port` without a scheme as an http proxy.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ProxyConfigError(`${where} is not a proxy URL such as http://proxy.example:3128 (got ${redactUrl(raw)})`);
  }
  if (!PROXY_SCHEMES.has(url.protocol) || !url.hostname) {
    throw new ProxyConfigError(`${where} must be an http://, https:// or socks5:// proxy URL (got ${redactUrl(raw)})`);
  }
  return url.href;
}

/** A URL with any user name and password replaced by `***`, for logs, `config` and `/status`. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (!url.username && !url.password) return url.href;
    url.username = '***';
    url.password = '';
    return url.href;
  } catch {
    // Not a URL: blank anything that looks like `user:password@`.
    return raw.replace(/\/\/[^/@\s]*@/, '//***@');
  }
}

/** The proxy in use as logs and `/status` show it (credentials never included), or null for none. */
export function describeProxy(p: ProxySettings): { http: string | null; https: string | null; noProxy: string | null; from: string | null } | null {
  if (!usesProxy(p)) return null;
  return { http: p.http && redactUrl(p.http), https: p.https && redactUrl(p.https), noProxy: p.noProxy || null, from: p.source };
}

/** True when any request may go through a proxy. */
export function usesProxy(p: ProxySettings): boolean {
  return (p.http !== null || p.https !== null) && p.noProxy !== '*';
}

/**
 * undici's own agents: EnvHttpProxyAgent with the settings above (absolute-form requests for
 * http:// targets, CONNECT tunnels for https://), or a plain Agent when no proxy is set.
 */
export function createDispatcher(p: ProxySettings, options: Agent.Options): Dispatcher {
  if (!usesProxy(p)) return new Agent(options);
  return new EnvHttpProxyAgent({
    ...options,
    // undici reads the environment itself when these are undefined; an empty string means none.
    httpProxy: p.http ?? '',
    httpsProxy: p.https ?? '',
    noProxy: p.noProxy,
    proxyTunnel: false,
  });
}

/** The proxy a request to `target` would use (for naming it in an error), or null. */
export function proxyAddressOf(p: ProxySettings, target: URL): URL | null {
  const proxy = target.protocol === 'https:' ? p.https : p.http;
  return proxy && usesProxy(p) ? new URL(proxy) : null;
}

/**
 * Chromium's proxy for an origin, in Playwright's form: the server without credentials (they
 * travel separately), and NO_PROXY as a bypass list. `<-loopback>` removes Chromium's implicit
 * bypass of localhost, so a proxy applies to 127.0.0.1 exactly as it does for undici and curl.
 */
export function browserProxy(p: ProxySettings, origin: URL): { server: string; bypass: string; username?: string; password?: string } | undefined {
  const proxy = proxyAddressOf(p, origin);
  if (!proxy) return undefined;
  // Playwright turns `.domain` into Chromium's `*.domain`; curl's bare `domain` covers its subdomains too.
  const entries = p.noProxy
    .split(/[,\s]+/)
    .map((e) => e.trim())
    .filter(Boolean)
    .flatMap((e) => (e.startsWith('.') || e.startsWith('*.') ? [e] : [e, `.${e}`]));
  const out: { server: string; bypass: string; username?: string; password?: string } = {
    server: `${proxy.protocol}//${proxy.host}`,
    bypass: ['<-loopback>', ...entries].join(','),
  };
  if (proxy.username) out.username = decodeURIComponent(proxy.username);
  if (proxy.password) out.password = decodeURIComponent(proxy.password);
  return out;
}
