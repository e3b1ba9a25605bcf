// Freshness of `serve` with its defaults: the lag from each publication to its snapshot on disk,
// and the requests and bytes the site served per hour, by kind, against the behaviour before the
// feed watch (an older build's `serve`: 15-minute crawls reading the month sitemap), and with a
// backfill of several thousand articles running in the same `serve`.
//
// Usage: node bench/freshness.mjs [--minutes 60] [--publications 40] [--per-day 150] [--history-days 60]
//          [--before path/to/older/dist/cli/main.js] [--only after|backfill|before]
//          [--revisit-day-before FILE --revisit-day-after FILE]
//
// Each setup gets its own mirror (same seed, same history: `per-day` articles a day for
// `history-days` days up to today) and storage, warmed up by a crawl of this month at full speed
// (as a running service would have it). Then the setups' `serve` processes run side by side in
// real time, with their defaults (1 request a second, crawls every 15 minutes, the feed read every
// minute), while every mirror publishes the same articles at the same random moments over
// `minutes`. A snapshot's capture time is its file's mtime. Discovery requests and bytes (feed,
// sitemaps, robots.txt) and revisits are counted over the publication window, the first fetch of
// each published article over the whole run (the older build fetches the last ones after the
// window), all scaled to an hour. An hour's window holds one whole cycle of both builds: four
// scheduled crawls, and one read of the whole month's sitemap by this build (its warm-up is a
// backfill, so its first crawl reads the month).
//
// A service that has run for weeks also revisits some 8 400 articles a day, which this window is
// too short to show: with --revisit-day-before/--revisit-day-after (the --json of
// bench/revisit-day.mjs run with each build) a steady day's revisits, per hour, are added to
// both sides of the comparison.
import { flags } from './flags.mjs';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { MirrorServer } = await import(join(root, 'dist/mirror/index.js'));
const { seededRandom } = await import(join(root, 'dist/mirror/site-model.js'));
const { shiftDay, siteToday } = await import(join(root, 'dist/site/calendar.js'));

const args = process.argv.slice(2);
const arg = flags(args).text;
const minutes = Number(arg('minutes', '60'));
const publications = Number(arg('publications', '40'));
const perDay = Number(arg('per-day', '150'));
const historyDays = Number(arg('history-days', '60'));
const beforeCli = arg('before', '/tmp/newsnap-old/dist/cli/main.js');
const only = arg('only', null);
const revisitDay = { before: arg('revisit-day-before', null), after: arg('revisit-day-after', null) };
const afterCli = join(root, 'dist/cli/main.js');

const today = siteToday(Date.now());
const monthStart = `${today.slice(0, 6)}01`;
const dashed = (d) => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
const backfillUntil = shiftDay(monthStart, -1);
const backfillSince = `${backfillUntil.slice(0, 6)}01`;

const setups = [
  { name: 'before', what: 'older build: crawls every 15 min reading the month sitemap', cli: beforeCli, env: {} },
  { name: 'after', what: 'this build: defaults (feed every 1m, today’s sitemap range, the month hourly)', cli: afterCli, env: {} },
  {
    name: 'backfill',
    what: `this build, with a backfill of ${dashed(backfillSince)}..${dashed(backfillUntil)} in the same serve`,
    cli: afterCli,
    env: { NEWSNAP_SERVE_BACKFILL_SINCE: dashed(backfillSince), NEWSNAP_SERVE_BACKFILL_UNTIL: dashed(backfillUntil) },
  },
].filter((s) => (only ? s.name === only : true) && existsSync(s.cli));

const baseEnv = { ...process.env, NEWSNAP_LOG_LEVEL: 'warn', NEWSNAP_SERVE_PORT: '0', NEWSNAP_RENDER_POLICY: 'never' };
delete baseEnv.NEWSNAP_NOW;

function run(cli, argv, cwd) {
  const child = spawn(process.execPath, [cli, ...argv], { env: baseEnv, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-20_000)));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

/** A request's kind: an article is `backfill` when it is of the backfill's days, `revisit` when it was fetched before, else `article`. */
function classify(path, fetched) {
  if (path.startsWith('/export/rss2')) return 'feed';
  if (path.includes('sitemap')) return 'sitemap';
  if (path === '/robots.txt') return 'robots';
  const article = /^\/(\d{8})\/[^/]+-\d{10}\.html$/.exec(path);
  if (!article) return 'other';
  if (article[1] >= backfillSince && article[1] <= backfillUntil) return 'backfill';
  if (fetched.has(path)) return 'revisit';
  fetched.add(path);
  return 'article';
}

/** Requests and bytes by kind over the mirror's log (entries up to `untilMs`). */
function countByKind(s, untilMs = Infinity) {
  const byKind = {};
  const fetched = new Set(s.warmed);
  for (const r of s.mirror.log) {
    if (r.t > untilMs) break;
    const k = classify(r.path, fetched);
    byKind[k] ??= { requests: 0, bytes: 0 };
    byKind[k].requests++;
    byKind[k].bytes += r.bytes;
  }
  return byKind;
}

const cpu = os.cpus();
process.stdout.write(`machine: ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n`);
process.stdout.write(`history: ${perDay} articles a day for ${historyDays} days up to ${dashed(today)}; ${publications} publications at random moments over ${minutes} min\n`);

// Warm-up: each storage holds this month, as a service that has been running would.
for (const s of setups) {
  s.mirror = new MirrorServer({ articles: perDay * historyDays, days: historyDays, lastDay: today, seed: 7 });
  s.origin = await s.mirror.listen();
  s.storage = mkdtempSync(join(os.tmpdir(), `newsnap-freshness-${s.name}-`));
  const t0 = performance.now();
  // Each build runs from its own project folder, with its own config/newsnap.json.
  s.cwd = join(dirname(s.cli), '..', '..');
  // Not spawnSync: the mirror answers from this process.
  const warm = await run(s.cli, ['crawl', '--since', dashed(monthStart), '--origin', s.origin, '--storage', s.storage, '--rate', '0', '--concurrency', '8'], s.cwd);
  if (warm.code !== 0 && warm.code !== 1) throw new Error(`warm-up crawl of ${s.name} exited ${warm.code}: ${warm.stderr.slice(-2000)}`);
  process.stdout.write(`[${s.name}] warmed up: ${s.mirror.all().filter((a) => a.day >= monthStart).length} articles of this month in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
}

// The services, side by side; all mostly wait (1 request a second each).
for (const s of setups) {
  s.child = spawn(process.execPath, [s.cli, 'serve', '--origin', s.origin, '--storage', s.storage], { env: { ...baseEnv, ...s.env }, stdio: ['ignore', 'ignore', 'pipe'], cwd: s.cwd });
  s.stderr = '';
  s.child.stderr.on('data', (c) => (s.stderr = (s.stderr + c).slice(-20_000)));
  s.warmed = new Set(s.mirror.all().filter((a) => a.day >= monthStart).map((a) => `/${a.day}/${a.slug}-${a.id}.html`));
  s.mirror.clearLog();
  s.captures = new Map();
}

// The same random moments for every mirror.
const rnd = seededRandom(11);
const offsets = Array.from({ length: publications }, () => rnd() * minutes * 60_000).sort((a, b) => a - b);
const started = Date.now();
const published = [];
let next = 0;
const watcher = setInterval(() => {
  for (const s of setups) {
    for (const p of published) {
      const a = p.articles.get(s.name);
      if (!a || a.gallery || s.captures.has(a.id)) continue;
      const file = join(s.storage, 'snapshots', dashed(a.day), `${a.id}.txt`);
      if (existsSync(file)) s.captures.set(a.id, (statSync(file).mtimeMs - p.at) / 1000);
    }
  }
}, 1000);

while (next < offsets.length) {
  const wait = started + offsets[next] - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const at = Date.now();
  const articles = new Map(setups.map((s) => [s.name, s.mirror.publish(1, { at: new Date(at).toISOString() })[0]]));
  published.push({ at, articles });
  next++;
}
const windowEnd = started + minutes * 60_000;
if (Date.now() < windowEnd) await new Promise((r) => setTimeout(r, windowEnd - Date.now()));
const windowMs = Date.now() - started;
const windowEndMs = Date.now();
process.stdout.write(`publication window over (${(windowMs / 60_000).toFixed(1)} min); waiting for every setup to capture every article (at most 16 min)\n`);
const deadline = Date.now() + 16 * 60_000;
const real = published.filter((p) => !p.articles.values().next().value.gallery).length;
while (Date.now() < deadline && setups.some((s) => s.captures.size < real)) await new Promise((r) => setTimeout(r, 2000));
clearInterval(watcher);
// Discovery, revisits and the backfill over the window; each published article's first fetch over the whole run.
const counted = new Map(
  setups.map((s) => {
    const inWindow = countByKind(s, windowEndMs);
    const whole = countByKind(s);
    return [s.name, { ...inWindow, article: whole.article ?? { requests: 0, bytes: 0 } }];
  }),
);

for (const s of setups) {
  s.child.kill('SIGTERM');
  await new Promise((r) => s.child.once('close', r));
  await s.mirror.close();
}

const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : null);
const fmt = (v) => (v === null ? '–' : v < 120 ? `${v.toFixed(0)} s` : `${(v / 60).toFixed(1)} min`);
const perHour = (n) => (n * 3_600_000) / windowMs;
const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;
process.stdout.write(
  `\nper hour (the window's ${(windowMs / 60_000).toFixed(1)} min scaled), requests (bytes served):\n\n` +
    '| setup | lag median | lag p95 | captured | requests/h | feed | sitemap | robots | new articles | revisits | backfill | MB/h |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n',
);
for (const s of setups) {
  const lags = [...s.captures.values()].sort((a, b) => a - b);
  const k = counted.get(s.name);
  const total = Object.values(k).reduce((n, v) => n + v.requests, 0);
  const bytes = Object.values(k).reduce((n, v) => n + v.bytes, 0);
  const cell = (kind) => (k[kind] ? `${perHour(k[kind].requests).toFixed(0)} (${mb(perHour(k[kind].bytes))})` : '0');
  process.stdout.write(
    `| ${s.name}: ${s.what} | ${fmt(quantile(lags, 0.5))} | ${fmt(quantile(lags, 0.95))} | ${lags.length}/${real} | ${perHour(total).toFixed(0)} | ${cell('feed')} | ${cell('sitemap')} | ${cell('robots')} | ${cell('article')} | ${cell('revisit')} | ${cell('backfill')} | ${(perHour(bytes) / 1e6).toFixed(2)} |\n`,
  );
}
const before = counted.get('before');
const after = counted.get('after');
if (before && after) {
  const hourly = (k) => ({ requests: perHour(Object.values(k).reduce((n, v) => n + v.requests, 0)), bytes: perHour(Object.values(k).reduce((n, v) => n + v.bytes, 0)) });
  const [b, a] = [hourly(before), hourly(after)];
  process.stdout.write(`\nafter vs before, this window: requests ×${(a.requests / b.requests).toFixed(2)}, bytes ×${(a.bytes / b.bytes).toFixed(2)}\n`);
  if (revisitDay.before && revisitDay.after) {
    // A steady day's revisits (with validators, as the mirror serves here), per hour, on both sides.
    const steady = (file) => {
      const day = JSON.parse(readFileSync(file, 'utf8')).withValidators;
      return { requests: day.requests.revisit / 24, bytes: day.served.revisit / 24 };
    };
    const [rb, ra] = [steady(revisitDay.before), steady(revisitDay.after)];
    const [tb, ta] = [{ requests: b.requests + rb.requests, bytes: b.bytes + rb.bytes }, { requests: a.requests + ra.requests, bytes: a.bytes + ra.bytes }];
    process.stdout.write(
      `with a steady day's revisits (bench/revisit-day.mjs: ${rb.requests.toFixed(0)} an hour before, ${ra.requests.toFixed(0)} after): ` +
        `before ${tb.requests.toFixed(0)} requests/h (${mb(tb.bytes)}), after ${ta.requests.toFixed(0)} (${mb(ta.bytes)}): ` +
        `requests ×${(ta.requests / tb.requests).toFixed(2)} (target ≤ 1.3), bytes ×${(ta.bytes / tb.bytes).toFixed(2)} (target < 1)\n`,
    );
  } else process.stdout.write('(give --revisit-day-before/--revisit-day-after for the comparison with a steady day\'s revisits, the targets\' terms)\n');
}
for (const s of setups) {
  const lags = [...s.captures.values()].sort((x, y) => x - y);
  if (s.name !== 'before') process.stdout.write(`${s.name}: lag median ${fmt(quantile(lags, 0.5))} (target ≤ 60 s), p95 ${fmt(quantile(lags, 0.95))} (target ≤ 120 s)\n`);
  if (lags.length < real) process.stdout.write(`${s.name}: ${real - lags.length} of ${real} articles not captured in time; stderr tail:\n${s.stderr.slice(-2000)}\n`);
  rmSync(s.storage, { recursive: true, force: true });
}
