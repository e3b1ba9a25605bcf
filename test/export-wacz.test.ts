import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { chromium, type Frame, type Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer, type MirrorArticle } from '../src/mirror/index.js';
import { articleUrl } from '../src/mirror/site-model.js';
import { OPERATOR_UA, runCli } from './helpers/cli.js';
import { PROJECT } from './helpers/paths.js';
import { until } from './helpers/progress.js';
import { startReplayServer, type ReplayServer } from './helpers/replay-web-page.js';
import { startServe } from './helpers/serve.js';
import { tempDir } from './helpers/storage.js';
import { readZip, type ZipEntry } from './helpers/zip-read.js';

const T0 = '2025-12-15T12:00:00.000Z';
const T1 = '2025-12-15T13:00:00.000Z';
const T2 = '2025-12-15T14:00:00.000Z';
const NEW_TITLE = 'Düzeltildi: Ankara’da yeni açıklama yapıldı';
const env = (now: string) => ({ NEWSNAP_NOW: now, NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_RATE: '0' });
const ARTIFACTS = join(PROJECT, 'test/artifacts');
const ts14 = (iso: string) => iso.replace(/\D/g, '').slice(0, 14);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let mirror: MirrorServer;
let storage: string;
let wacz: string;
let unpacked: string;
let entries: ZipEntry[];
let edited: MirrorArticle;
let unchanged: MirrorArticle;
let oldTitle: string;

interface CdxLine {
  key: string;
  ts: string;
  url: string;
  mime?: string;
  status?: string;
  digest?: string;
  length: string;
  offset: string;
  filename: string;
}

const cdxLines = (text: string): CdxLine[] =>
  text
    .trim()
    .split('\n')
    .map((line) => {
      const [key, ts] = line.split(' ', 2) as [string, string];
      return { key, ts, ...(JSON.parse(line.slice(key.length + ts.length + 2)) as Omit<CdxLine, 'key' | 'ts'>) };
    });
const unpackedText = (name: string) => readFileSync(join(unpacked, name), 'utf8');

beforeAll(async () => {
  // No validators: an unchanged page fetched again is a 200 with the same bytes, archived as a revisit.
  mirror = new MirrorServer({ articles: 24, days: 2, lastDay: '20251215', crawlDelay: 0, articleValidators: false });
  await mirror.listen();
  storage = await tempDir();
  const first = await runCli(['crawl', '--since', '20251214', '--origin', mirror.baseUrl, '--storage', storage], { env: env(T0) });
  expect(first.code, first.stderr.slice(-2000)).toBe(0);
  [edited, unchanged] = mirror.all().filter((a) => !a.gallery) as [MirrorArticle, MirrorArticle];
  oldTitle = edited.title;
  mirror.edit(edited.id, { at: '2025-12-15T12:30:00Z', title: NEW_TITLE });
  const again = await runCli(['fetch', articleUrl(edited), articleUrl(unchanged), '--origin', mirror.baseUrl, '--storage', storage], { env: env(T1) });
  expect(again.code, again.stderr.slice(-2000)).toBe(0);
  wacz = join(await tempDir(), 'x.wacz');
  const exported = await runCli(['export', '--format', 'wacz', '--out', wacz, '--storage', storage], { env: env(T2) });
  expect(exported.code, exported.stderr.slice(-2000)).toBe(0);
  unpacked = await tempDir();
  entries = readZip(wacz, unpacked);
});
afterAll(() => mirror?.close());

describe('newsnap export --format wacz', () => {
  it('is a WACZ 1.1.1: stored WARC files, a sorted CDXJ, pages, and a datapackage whose hashes and sizes are the files', () => {
    const names = entries.map((e) => e.name);
    expect(names.filter((n) => !n.startsWith('archive/')).sort()).toEqual(['datapackage-digest.json', 'datapackage.json', 'indexes/index.cdxj', 'pages/pages.jsonl']);
    const warcs = entries.filter((e) => e.name.startsWith('archive/'));
    expect(warcs.length).toBeGreaterThan(0);
    // Named and dated by the newest capture (T1), not the clock of the export (T2).
    for (const w of warcs) expect(w.name, 'stored, not deflated again').toMatch(/^archive\/newsnap-export-20251215130000000-\d{5}\.warc\.gz$/);
    expect(warcs.every((w) => w.method === 0)).toBe(true);

    const pkg = JSON.parse(unpackedText('datapackage.json')) as { profile: string; wacz_version: string; created: string; resources: Array<{ name: string; path: string; hash: string; bytes: number }> };
    expect(pkg).toMatchObject({ profile: 'data-package', wacz_version: '1.1.1', created: T1 });
    const files = entries.filter((e) => !e.name.startsWith('datapackage'));
    expect(pkg.resources.map((r) => r.path).sort()).toEqual(files.map((e) => e.name).sort());
    for (const r of pkg.resources) {
      const entry = files.find((e) => e.name === r.path)!;
      expect(r, r.path).toEqual({ name: r.path.split('/').at(-1), path: r.path, hash: `sha256:${entry.sha256}`, bytes: entry.size });
    }
    const digest = JSON.parse(unpackedText('datapackage-digest.json')) as { path: string; hash: string };
    expect(digest).toEqual({ path: 'datapackage.json', hash: `sha256:${sha(readFileSync(join(unpacked, 'datapackage.json')))}` });

    const lines = unpackedText('indexes/index.cdxj').trimEnd().split('\n');
    const sorted = [...lines].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(lines).toEqual(sorted);
    const pages = unpackedText('pages/pages.jsonl').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(pages[0]).toEqual({ format: 'json-pages-1.0', id: 'pages', title: 'Sputnik Türkiye articles' });
    expect(pages.filter((p) => p.url === articleUrl(edited))).toEqual([
      { id: `${edited.id}-v1`, url: articleUrl(edited), ts: T0, title: oldTitle },
      { id: `${edited.id}-v2`, url: articleUrl(edited), ts: T1, title: NEW_TITLE },
    ]);
  });

  it('every index line points at its record; every revisit and the original it refers to are in the package', () => {
    const records = new Map<string, Map<string, string>>();
    for (const c of cdxLines(unpackedText('indexes/index.cdxj'))) {
      const file = readFileSync(join(unpacked, 'archive', c.filename));
      const member = file.subarray(Number(c.offset), Number(c.offset) + Number(c.length));
      const text = gunzipSync(member).toString('latin1');
      const headers = new Map(text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n').slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string]));
      expect(headers.get('warc-target-uri'), c.offset).toBe(c.url);
      expect(ts14(headers.get('warc-date')!)).toBe(c.ts);
      expect(headers.get('warc-payload-digest')).toBe(c.digest);
      records.set(headers.get('warc-record-id')!, headers);
    }
    const revisits = [...records.values()].filter((h) => h.get('warc-type') === 'revisit');
    expect(revisits.map((h) => h.get('warc-target-uri'))).toEqual([articleUrl(unchanged)]);
    for (const r of revisits) expect(records.get(r.get('warc-refers-to')!)?.get('warc-type')).toBe('response');
  });

  it("agrees with warcio.js's cdx-index on the same WARC files, apart from order and digest form", async () => {
    const warcs = readdirSync(join(unpacked, 'archive')).map((n) => join(unpacked, 'archive', n));
    const { stdout } = await promisify(execFile)(process.execPath, [join(PROJECT, 'node_modules/warcio/dist/cli.js'), 'cdx-index', '--format', 'cdxj', ...warcs], { maxBuffer: 64 * 1024 * 1024 });
    const norm = (c: CdxLine) => JSON.stringify({ ...c, filename: c.filename.split('/').at(-1), digest: c.digest?.replace(/^sha256:/, '') });
    const ours = cdxLines(unpackedText('indexes/index.cdxj')).map(norm).sort();
    const theirs = cdxLines(stdout).map(norm).sort();
    expect(ours.length).toBeGreaterThan(20);
    expect(ours).toEqual(theirs);
  });

  it('replays in ReplayWeb.page (Chromium): the edit shows at each version, a revisit shows its original, and nothing leaves 127.0.0.1', async () => {
    const server = await startReplayServer(wacz);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    const outside: string[] = [];
    const seen: string[] = [];
    try {
      const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, serviceWorkers: 'allow' });
      // Every request the browser makes, its service worker's included: anything not to 127.0.0.1 is stopped and counted.
      const local = (url: string) => /^(blob|data|about|chrome-extension):/.test(url) || new URL(url).hostname === '127.0.0.1';
      context.on('request', (r) => {
        seen.push(r.url());
        if (!local(r.url())) outside.push(r.url());
      });
      await context.route('**/*', (route) => (local(route.request().url()) ? route.continue() : (outside.push(route.request().url()), route.abort())));
      mkdirSync(ARTIFACTS, { recursive: true });
      const read = new Map<string, Array<[number, number]>>();
      const cases = [
        { name: 'edited-v1', url: articleUrl(edited), ts: T0, title: oldTitle },
        { name: 'edited-v2', url: articleUrl(edited), ts: T1, title: NEW_TITLE },
        { name: 'revisit', url: articleUrl(unchanged), ts: T1, title: unchanged.title },
      ];
      for (const c of cases) {
        const before = server.ranges.length;
        const page = await context.newPage();
        const shown = await replay(page, server, c.url, ts14(c.ts));
        expect(shown, c.name).toBe(c.title);
        await archivedFrame(page)!.locator('h1').first().scrollIntoViewIfNeeded();
        await page.screenshot({ path: join(ARTIFACTS, `wacz-replay-${c.name}.png`) });
        await page.close();
        read.set(c.name, server.ranges.slice(before));
      }
      await context.close();
      // The revisit was what replay read at its time, and the payload came from its original:
      // the service worker asked for both records' bytes.
      const warc = entries.find((e) => e.name.startsWith('archive/'))!;
      const ofUnchanged = cdxLines(unpackedText('indexes/index.cdxj')).filter((l) => l.url === articleUrl(unchanged));
      expect(ofUnchanged.map((l) => [l.ts, l.mime])).toEqual([
        [ts14(T0), 'text/html'],
        [ts14(T1), 'warc/revisit'],
      ]);
      for (const l of ofUnchanged) {
        const [first, last] = [warc.dataOffset + Number(l.offset), warc.dataOffset + Number(l.offset) + Number(l.length) - 1];
        expect(read.get('revisit')!.some(([a, b]) => a <= first && b >= last), `${l.mime} record at ${first}-${last} read: ${JSON.stringify(read.get('revisit'))}`).toBe(true);
      }
    } finally {
      await browser.close();
      await server.close();
    }
    expect(outside).toEqual([]);
    // The watch saw the service worker's own requests too (it alone reads the WACZ).
    expect(seen.filter((u) => u.endsWith('/x.wacz')).length).toBeGreaterThan(0);
  });
});

describe('GET /export.wacz in serve', () => {
  it('needs the token when pages are protected, answers ranges, is the CLI export byte for byte, and is removed when serve stops', async () => {
    // No origin: serve reaches no site (its feed watch is off), so the archive stays as the CLI export read it.
    const tmp = await tempDir();
    const served = await startServe(['--storage', storage, '--schedule', '0 0 1 1 *'], {
      env: { ...env(T2), TMPDIR: tmp, NEWSNAP_SERVE_TOKEN: 's3cret', NEWSNAP_SERVE_PROTECT_PAGES: 'true', NEWSNAP_HTTP_USER_AGENT: OPERATOR_UA },
    });
    try {
      expect((await fetch(`${served.api}/export.wacz`)).status).toBe(401);
      const auth = { authorization: 'Bearer s3cret' };
      expect((await fetch(`${served.api}/export.wacz?since=2025-13-01`, { headers: auth })).status).toBe(400);
      const whole = await fetch(`${served.api}/export.wacz`, { headers: auth });
      expect(whole.status).toBe(200);
      expect(whole.headers.get('accept-ranges')).toBe('bytes');
      const body = Buffer.from(await whole.arrayBuffer());
      expect(sha(body)).toBe(sha(readFileSync(wacz)));
      const tail = await fetch(`${served.api}/export.wacz`, { headers: { ...auth, range: 'bytes=-22' } });
      expect(tail.status).toBe(206);
      expect(tail.headers.get('content-range')).toBe(`bytes ${body.length - 22}-${body.length - 1}/${body.length}`);
      expect(Buffer.from(await tail.arrayBuffer())).toEqual(body.subarray(-22));
      const head = await fetch(`${served.api}/export.wacz`, { method: 'HEAD', headers: auth });
      expect(head.headers.get('content-length')).toBe(String(body.length));
      expect((await fetch(`${served.api}/export.wacz`, { headers: { ...auth, range: `bytes=${body.length}-` } })).status).toBe(416);
      // Built once: every request above was served from one file, in <storage>/exports (not the temporary folder).
      expect(readdirSync(join(storage, 'exports'))).toEqual(['1.wacz']);
      expect(readdirSync(tmp)).toEqual([]);
      served.child.kill('SIGTERM');
      expect((await served.done).code).toBe(0);
      expect(existsSync(join(storage, 'exports'))).toBe(false);
    } finally {
      await served.kill();
    }
  });
});

/**
 * Opens the replay of `url` at `ts` and gives the archived page's headline. The archived page is
 * the innermost frame, under /replay/w/. In a fresh browser the first load can race the service
 * worker's start (the frame then shows what this server has at /replay/…): that page is loaded again.
 */
async function replay(page: Page, server: ReplayServer, url: string, ts: string): Promise<string> {
  await page.goto(`${server.origin}/?url=${encodeURIComponent(url)}&ts=${ts}`);
  return until(
    `the replay of ${url} at ${ts}`,
    async () => {
      // The service worker was not serving yet: a frame under /replay/ shows this server's 404.
      for (const f of page.frames().filter((f) => f.url().startsWith(`${server.origin}/replay/`))) {
        if ((await f.content().catch(() => '')).includes('not here')) {
          await page.reload();
          return undefined;
        }
      }
      const frame = archivedFrame(page);
      if (!frame) return undefined;
      return (await frame.locator('h1').first().textContent({ timeout: 1000 }).catch(() => null))?.trim() || undefined;
    },
    { progress: () => server.requests, pending: () => page.frames().map((f) => f.url()).join(', ') },
  );
}

function archivedFrame(page: Page): Frame | undefined {
  return page.frames().find((f) => /\/replay\/w\/.+\/\d{14}mp_\//.test(f.url()));
}
