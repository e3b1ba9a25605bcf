import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { logRecords, OPERATOR_UA, runCli } from './helpers/cli.js';
import { startServe } from './helpers/serve.js';
import { ForwardProxy } from './helpers/forward-proxy.js';
import { compareWithMirror } from './helpers/mirror.js';
import { REFERENCE_CASES } from './helpers/paths.js';
import { tempDir } from './helpers/storage.js';

const NOW = '2025-12-15T12:00:00Z';
const USER = 'newsnap';
const PASSWORD = 'pr0xy-s3cret';
const JS_CASE = REFERENCE_CASES.find((c) => c.id === '1100000002')!;
const SEED_CASE = REFERENCE_CASES[0]!;
/** Proxy variables of the machine running the tests must not leak into the children. */
const env = { NEWSNAP_NOW: NOW, NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_BACKOFF_BASE_MS: '50', HTTP_PROXY: '', HTTPS_PROXY: '', NO_PROXY: '', http_proxy: '', https_proxy: '', no_proxy: '' };

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function mirrorOf(options: Partial<ConstructorParameters<typeof MirrorServer>[0]> = {}) {
  const mirror = new MirrorServer({ articles: 20, days: 2, lastDay: '20251215', crawlDelay: 0, ...options });
  mirror.addPage(new URL(SEED_CASE.url).pathname, readFileSync(SEED_CASE.page, 'utf8'));
  mirror.addPage(new URL(JS_CASE.url).pathname, readFileSync(JS_CASE.page, 'utf8'));
  await mirror.listen();
  cleanup.push(() => mirror.close());
  return { mirror, port: new URL(mirror.baseUrl).port };
}

async function proxyFor(hosts: Record<string, string>, credentials = true) {
  const proxy = new ForwardProxy({ hosts, ...(credentials ? { user: USER, password: PASSWORD } : {}) });
  await proxy.listen();
  cleanup.push(() => proxy.close());
  return proxy;
}

function secretFree(...outputs: Array<string | Buffer>): void {
  for (const out of outputs) {
    expect(out.toString()).not.toContain(PASSWORD);
    expect(out.toString()).not.toContain(encodeURIComponent(PASSWORD));
  }
}

describe('proxies', () => {
  it('a crawl and a fetch send every request through HTTP_PROXY (absolute-form, with credentials), to an origin only the proxy can resolve', async () => {
    const { mirror, port } = await mirrorOf();
    const proxy = await proxyFor({ 'mirror.test': '127.0.0.1' });
    const origin = `http://mirror.test:${port}`;
    const storage = await tempDir();
    const proxied = { ...env, HTTP_PROXY: proxy.url() };
    const crawl = await runCli(['crawl', '--since', mirror.all()[0]!.day, '--origin', origin, '--storage', storage, '--rate', '0'], { env: proxied });
    expect(crawl.code, crawl.stderr.slice(-2000)).toBe(0);
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
    const fetched = await runCli(['fetch', SEED_CASE.url, '--stdout', '--origin', origin], { env: proxied });
    expect(fetched.code, fetched.stderr.slice(-2000)).toBe(0);
    expect(fetched.stdout.equals(readFileSync(SEED_CASE.expected))).toBe(true);

    // Every request the mirror saw came through the proxy, and the proxy forwarded nothing else.
    expect(mirror.log.length).toBeGreaterThan(20);
    expect(proxy.log.map((r) => new URL(r.target).pathname + new URL(r.target).search).sort()).toEqual(mirror.log.map((r) => r.path).sort());
    expect(proxy.log.every((r) => r.method === 'GET' && r.authorized && r.target.startsWith(`${origin}/`))).toBe(true);
    expect(logRecords(crawl.stderr).find((r) => r.msg === 'requests go through a proxy')).toMatchObject({ proxy: { http: `http://***@127.0.0.1:${new URL(proxy.url()).port}/`, from: 'HTTP_PROXY' } });
    secretFree(crawl.stdout, crawl.stderr, fetched.stderr);
  });

  it('https through HTTPS_PROXY is a CONNECT tunnel; http.proxy in config wins over the environment', async () => {
    const certs = await tempDir('newsnap-tls-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(certs, 'key.pem'), '-out', join(certs, 'cert.pem'), '-days', '2', '-subj', '/CN=mirror.test', '-addext', 'subjectAltName=DNS:mirror.test'], { stdio: 'ignore' });
    const { mirror, port } = await mirrorOf({ tls: { key: readFileSync(join(certs, 'key.pem'), 'utf8'), cert: readFileSync(join(certs, 'cert.pem'), 'utf8') } });
    const proxy = await proxyFor({ 'mirror.test': '127.0.0.1' });
    const origin = `https://mirror.test:${port}`;
    const tls = { ...env, NODE_EXTRA_CA_CERTS: join(certs, 'cert.pem') };
    const res = await runCli(['fetch', SEED_CASE.url, '--stdout', '--origin', origin], { env: { ...tls, HTTPS_PROXY: proxy.url() } });
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    expect(res.stdout.equals(readFileSync(SEED_CASE.expected))).toBe(true);
    expect(proxy.log).toEqual([{ method: 'CONNECT', target: `mirror.test:${port}`, userAgent: '', authorized: true }]);
    expect(mirror.log.map((r) => r.path)).toEqual([new URL(SEED_CASE.url).pathname]);

    // A dead HTTPS_PROXY in the environment; the config key names the working one and wins.
    const viaConfig = await runCli(['fetch', SEED_CASE.url, '--stdout', '--origin', origin], { env: { ...tls, HTTPS_PROXY: 'http://127.0.0.1:1', NEWSNAP_HTTP_PROXY: proxy.url() } });
    expect(viaConfig.code, viaConfig.stderr.slice(-2000)).toBe(0);
    expect(proxy.log).toHaveLength(2);
    secretFree(res.stderr, viaConfig.stderr);
  });

  it('the browser render goes through the same proxy, credentials included', async () => {
    const { mirror, port } = await mirrorOf();
    const proxy = await proxyFor({ 'mirror.test': '127.0.0.1' });
    const origin = `http://mirror.test:${port}`;
    const res = await runCli(['fetch', JS_CASE.url, '--stdout', '--render', 'always', '--origin', origin], { env: { ...env, HTTP_PROXY: proxy.url() } });
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    expect(res.stdout.equals(readFileSync(JS_CASE.expected))).toBe(true);
    // Only the browser fetched the page (render always), and everything it asked for went through the proxy.
    const through = proxy.log.filter((r) => r.authorized);
    expect(through.every((r) => r.method === 'GET' && r.target.startsWith(`${origin}/`) && r.userAgent.startsWith('newsnap/'))).toBe(true);
    expect(through.map((r) => new URL(r.target).pathname + new URL(r.target).search).sort()).toEqual(mirror.log.map((r) => r.path).sort());
    expect(mirror.log.filter((r) => r.path === new URL(JS_CASE.url).pathname)).toHaveLength(1);
    secretFree(res.stdout, res.stderr);
  });

  it('NO_PROXY is honoured by the HTTP client and the browser alike', async () => {
    const { mirror } = await mirrorOf();
    const proxy = await proxyFor({}, false);
    const noProxy = { ...env, HTTP_PROXY: proxy.url(), no_proxy: 'localhost,127.0.0.1' };
    const plain = await runCli(['fetch', SEED_CASE.url, '--stdout', '--origin', mirror.baseUrl], { env: noProxy });
    expect(plain.code, plain.stderr.slice(-2000)).toBe(0);
    const rendered = await runCli(['fetch', JS_CASE.url, '--stdout', '--render', 'always', '--origin', mirror.baseUrl], { env: noProxy });
    expect(rendered.code, rendered.stderr.slice(-2000)).toBe(0);
    expect(rendered.stdout.equals(readFileSync(JS_CASE.expected))).toBe(true);
    expect(proxy.log).toEqual([]);
    expect(mirror.log.map((r) => r.path).filter((p) => p.endsWith('.html'))).toEqual([new URL(SEED_CASE.url).pathname, new URL(JS_CASE.url).pathname]);
  });

  it('a proxy that refuses is a clear error naming it without credentials, retried like a network error; wrong credentials are a 407', async () => {
    const { mirror } = await mirrorOf();
    const closed = `http://${USER}:${PASSWORD}@127.0.0.1:1`;
    const refused = await runCli(['fetch', SEED_CASE.url, '--origin', mirror.baseUrl, '--storage', await tempDir()], { env: { ...env, HTTP_PROXY: closed, NEWSNAP_CRAWL_RETRIES: '3' } });
    expect(refused.code).toBe(3);
    // The site cannot be reached at all: the article is not charged; the address named is the proxy's.
    expect(refused.stdout.toString()).toBe(`unreachable ${SEED_CASE.url}: cannot reach proxy 127.0.0.1:1 (connection refused): is the proxy running? check http.proxy or HTTPS_PROXY\n`);
    expect(logRecords(refused.stderr).filter((r) => r.msg === 'retry scheduled')).toHaveLength(2);
    expect(mirror.log).toEqual([]);

    const proxy = await proxyFor({ 'mirror.test': '127.0.0.1' });
    const wrong = proxy.url().replace(PASSWORD, 'wrong');
    const denied = await runCli(['fetch', SEED_CASE.url, '--origin', `http://mirror.test:${new URL(mirror.baseUrl).port}`, '--storage', await tempDir()], { env: { ...env, HTTP_PROXY: wrong } });
    expect(denied.code).toBe(3);
    expect(denied.stdout.toString()).toBe(`unreachable ${SEED_CASE.url}: proxy 127.0.0.1:${new URL(proxy.url()).port} refused the request (HTTP 407 Proxy Authentication Required): check the user and password in http.proxy or HTTPS_PROXY\n`);
    secretFree(refused.stdout, refused.stderr, denied.stdout, denied.stderr);
  });

  it('config output and /status show the proxy without its credentials', async () => {
    const shown = await runCli(['config'], { env: { ...env, NEWSNAP_HTTP_PROXY: `http://${USER}:${PASSWORD}@proxy.example:3128`, NEWSNAP_SERVE_TOKEN: 'tok3n' } });
    expect(shown.code).toBe(0);
    expect(shown.stdout.toString()).toMatch(/^http\.proxy\s+"http:\/\/\*\*\*@proxy\.example:3128\/"/m);
    expect(shown.stdout.toString()).toMatch(/^serve\.token\s+"\*\*\*"/m);
    expect(shown.stdout.toString()).not.toContain('tok3n');

    const { child, api, done, kill } = await startServe(['--storage', await tempDir(), '--schedule', '0 0 1 1 *'], { env: { ...env, NEWSNAP_HTTP_USER_AGENT: OPERATOR_UA, HTTPS_PROXY: `http://${USER}:${PASSWORD}@proxy.example:3128`, NO_PROXY: '.internal' } });
    cleanup.push(kill);
    const status = (await (await fetch(`${api}/status`)).json()) as { proxy: unknown };
    child.kill('SIGTERM');
    const served = await done;
    expect(served.code).toBe(0);
    expect(status.proxy).toEqual({ http: null, https: 'http://***@proxy.example:3128/', noProxy: '.internal', from: 'HTTPS_PROXY' });
    secretFree(shown.stdout, shown.stderr, JSON.stringify(status), served.stderr);
  });
});
