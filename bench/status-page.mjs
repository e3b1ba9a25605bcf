// How fast the status pages answer on a storage folder of 100 000 articles.
// Usage: node bench/status-page.mjs [--articles 100000] [--requests 30]
//
// Builds the storage a year of crawling leaves: a manifest of `articles` new versions over the
// last 30 days, 3 % of them updated (history and diffs on disk for the ones opened), 0.3 % gone,
// failures, twenty finished runs; the state follows the manifest as a crawl would have applied
// it. Then starts `newsnap serve` on it and times, server side included (wall time of one
// request from this process, keep-alive), each page against /status, the JSON the service already
// had: median and worst of `requests` requests after one warm-up each.
// --screenshot FILE also saves the overview as Chromium shows it (docs/status-overview.png is
// made with `--articles 20000 --screenshot docs/status-overview.png`).
import { flags } from './flags.mjs';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = flags(args).number;
const articles = flag('articles', 100_000);
const requests = flag('requests', 30);
const screenshotAt = args.indexOf('--screenshot');
const screenshot = screenshotAt >= 0 ? args[screenshotAt + 1] : null;
const NOW = '2026-11-28T12:00:00.000Z';
process.env.NEWSNAP_NOW = NOW;
const { SqliteState } = await import(join(root, 'dist/storage/state/state-store.js'));
const { MANIFEST_OFFSET } = await import(join(root, 'dist/storage/state/state-schema.js'));

const storage = mkdtempSync(join(os.tmpdir(), 'newsnap-status-bench-'));
const seedDir = join(root, '..', 'shared', 'seed');
const seedText = readFileSync(join(seedDir, readdirSync(seedDir).filter((f) => f.endsWith('.txt')).sort()[0]), 'utf8');

const WORDS = 'Türkiye Rusya Ankara Moskova ekonomi enerji doğalgaz seçim İstanbul İzmir ihracat savunma diplomasi görüşme anlaşma zirve ılımlı açıklama Ukrayna Suriye petrol faiz enflasyon bakan cumhurbaşkanı'.split(' ');
let seed = 42;
const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
const pick = (list) => list[Math.floor(random() * list.length)];
const sha = (text) => createHash('sha256').update(text).digest('hex');
const iso = (ms) => new Date(ms).toISOString();
const nowMs = Date.parse(NOW);

const t0 = performance.now();
const lines = [];
const opened = [];
let offset = 0;
const pending = [];
const made = [];
// Made per article, written in capture order, as a crawl appends them.
function emit(record) {
  made.push(record);
}
function write(record) {
  const line = `${JSON.stringify(record)}\n`;
  pending.push({ record, offset });
  lines.push(line);
  offset += Buffer.byteLength(line);
}
const current = new Map();
for (let i = 0; i < articles; i++) {
  const capturedMs = nowMs - 30 * 86_400_000 + Math.floor((i / articles) * 30 * 86_400_000);
  const publishedMs = capturedMs - 600_000;
  const istanbul = new Date(publishedMs + 3 * 3_600_000).toISOString();
  const date = istanbul.slice(0, 10);
  const id = String(1_090_000_000 + i * 7);
  const title = Array.from({ length: 6 }, () => pick(WORDS)).join(' ');
  const url = `https://anlatilaninotesi.com.tr/${date.replaceAll('-', '')}/haber-${id}.html`;
  const text = seedText.replace(/^(.*)$/m, title);
  const record = { event: 'new', id, url, date, path: `snapshots/${date}/${id}.txt`, sha256: sha(text), bytes: Buffer.byteLength(text), capturedAt: iso(capturedMs), fetchedAt: iso(capturedMs), title };
  current.set(id, { record, text });
  emit(record);
}
const ids = [...current.keys()];
function update(id, at, edit) {
  const { record, text } = current.get(id);
  const changed = edit(text);
  const capturedAt = iso(at);
  const historyPath = `history/${record.capturedAt.slice(0, 10)}/${id}/${record.capturedAt.replace(/[:.]/g, '-')}.txt`;
  const next = { ...record, event: 'updated', sha256: sha(changed), bytes: Buffer.byteLength(changed), capturedAt, fetchedAt: capturedAt, previousSha256: record.sha256, historyPath };
  current.set(id, { record: next, text: changed, previousText: text, historyPath });
  emit(next);
}
for (let k = 0; k < articles * 0.03; k++) {
  const id = pick(ids);
  const at = Date.parse(current.get(id).record.capturedAt) + 3_600_000 + Math.floor(random() * 86_400_000);
  if (at < nowMs) update(id, at, (text) => text.replace(/\n\n([^\n]+)/, (_, p) => `\n\nDüzeltme ${k}: ${p}`));
}
for (let k = 0; k < articles * 0.003; k++) {
  const id = pick(ids);
  const { record } = current.get(id);
  const at = iso(Math.min(nowMs - 60_000, Date.parse(record.capturedAt) + 7 * 86_400_000));
  emit({ ...record, event: 'gone', capturedAt: at, fetchedAt: at, reason: pick(['HTTP 410', 'HTTP 404 ×3']) });
}
// The pages measured are articles with a history: write their files as the crawl would have.
for (const [id, entry] of current) {
  if (!entry.previousText || opened.length >= 20) continue;
  opened.push(id);
  for (const [path, text] of [[entry.record.path, entry.text], [entry.historyPath, entry.previousText]]) {
    mkdirSync(join(storage, dirname(path)), { recursive: true });
    writeFileSync(join(storage, path), text);
  }
}
made.sort((a, b) => (a.capturedAt < b.capturedAt ? -1 : a.capturedAt > b.capturedAt ? 1 : 0));
for (const record of made) write(record);
writeFileSync(join(storage, 'manifest.jsonl'), lines.join(''));

const state = new SqliteState(storage);
for (const { record, offset: at } of pending) state.articles.applyEvent(record, at);
state.meta.set(MANIFEST_OFFSET, String(offset));
for (let k = 0; k < 300; k++) {
  const day = iso(nowMs - Math.floor(random() * 6 * 86_400_000)).slice(0, 10).replaceAll('-', '');
  state.articles.update(String(2_000_000_000 + k), `https://anlatilaninotesi.com.tr/${day}/haber-${2_000_000_000 + k}.html`, { state: 'failed', attempts: 1, lastError: pick(['HTTP 503', 'timeout after 30000 ms', 'response larger than 5242880 bytes']) });
}
for (let r = 0; r < 20; r++) {
  const id = state.runs.begin('incremental');
  state.runs.end(id, 'done', {
    runId: id, kind: 'incremental', status: 'done', window: {}, listed: 0, durationMs: 40_000, pagesPerSecond: 1,
    counts: { written: 40, updated: 3, unchanged: 200, gone: 0, failed: 0, skipped: 0, blocked: 0 },
    requests: { 200: 43, 304: 200, 410: 1 }, sources: [], extraction: { pages: 43 }, blockedPauses: 0,
  });
}
state.close();
// Runs every 15 minutes up to now (the store stamps them with the one pinned instant).
const { default: Database } = await import('better-sqlite3');
const db = new Database(join(storage, 'state.sqlite'));
db.prepare(`UPDATE runs SET started_at = strftime('%Y-%m-%dT%H:%M:%fZ', ?, '-' || ((20 - id) * 900 + 60) || ' seconds'),
  finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', ?, '-' || ((20 - id) * 900 + 20) || ' seconds')`).run(NOW, NOW);
db.close();
const built = (performance.now() - t0) / 1000;

const child = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'serve', '--storage', storage, '--schedule', '0 0 1 1 *', '--log-level', 'info'], {
  // Pages only: no crawl and no feed watch (nothing is sent anywhere), and a mirror address that
  // needs no operator contact in the User-Agent.
  env: { ...process.env, NEWSNAP_SERVE_PORT: '0', NEWSNAP_NOW: NOW, NEWSNAP_DISCOVERY_FEED_EVERY: 'off', NEWSNAP_ORIGIN: 'http://127.0.0.1:9' },
  stdio: ['ignore', 'ignore', 'pipe'],
});
const api = await new Promise((resolve, reject) => {
  let buf = '';
  child.stderr.on('data', (c) => {
    buf += c;
    const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*newsnap serve listening/.exec(buf);
    if (m) resolve(m[1]);
  });
  child.on('exit', () => reject(new Error(`serve exited:\n${buf}`)));
});

async function time(path, mustHold) {
  const samples = [];
  let bytes = 0;
  for (let i = 0; i <= requests; i++) {
    const start = performance.now();
    const res = await fetch(`${api}${typeof path === 'function' ? path(i) : path}`, { redirect: 'manual' });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
    // A fast page that lost its content measures nothing.
    if (mustHold && !body.includes(mustHold)) throw new Error(`${res.url}: the page has no ${mustHold}`);
    if (i > 0) samples.push(performance.now() - start);
    bytes = body.length;
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)], max: samples.at(-1), bytes };
}

const rows = [
  ['/status (JSON, for comparison)', await time('/status'), null],
  ['/ overview', await time('/', 'data-table="runs"'), 200],
  ['/articles/<id> (a history, diffs)', await time((i) => `/articles/${opened[i % opened.length]}`, 'Düzeltme'), 50],
  ['/articles?q=<two words>', await time((i) => `/articles?q=${encodeURIComponent(`${WORDS[i % WORDS.length]} ${WORDS[(i * 7 + 3) % WORDS.length]}`)}`), 200],
];
if (screenshot) {
  const { chromium } = await import('playwright');
  const browser = await chromium.launch({ executablePath: process.env.NEWSNAP_RENDER_CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  const page = await browser.newPage({ viewport: { width: 1100, height: 1130 }, deviceScaleFactor: 0.75 });
  await page.goto(`${api}/`);
  await page.screenshot({ path: screenshot, fullPage: false });
  await browser.close();
}
child.kill('SIGTERM');
await new Promise((r) => child.on('exit', r));
rmSync(storage, { recursive: true, force: true });

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
process.stdout.write(`# status pages on ${articles.toLocaleString('en-US')} articles (${lines.length.toLocaleString('en-US')} manifest lines; built in ${built.toFixed(1)} s)\nmachine: ${machine}\n`);
process.stdout.write('| page | median ms | worst ms | target ms | HTML/JSON bytes |\n|---|---:|---:|---:|---:|\n');
for (const [name, r, target] of rows) {
  process.stdout.write(`| ${name} | ${r.median.toFixed(1)} | ${r.max.toFixed(1)} | ${target ?? '–'} | ${r.bytes.toLocaleString('en-US')} |\n`);
}
