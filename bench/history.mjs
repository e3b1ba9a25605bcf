// How soon a change anywhere in a long history is seen: the sweep of the history in `serve`.
// Usage: node bench/history.mjs [--months 150] [--per-month 200] [--changes 24] [--sweep-seconds 150]
//          [--tick-seconds 5] [--write]
//
// A mirror holds `months` months of `per-month` articles each; one backfill (`crawl --since`)
// captures them. Then `serve` runs with `discovery.sweepEvery` scaled to `sweep-seconds` (the
// default is 7 days) and a scheduled crawl every `tick-seconds`, and the site edits or removes
// (410) `changes` articles scattered over the whole history, at times spread over one cycle. For
// each change, the time until newsnap rechecks the article (the mirror's log) is printed, and
// every change must be in the manifest. Goal: every change seen within sweepEvery + one tick. The
// requests by lane come from serve's /metrics; from the planner (the sweep's step, the revisit
// tiers, the schedule and the feed watch at their defaults) the requests an hour by lane at the
// site's real size, where the goal is the sweep at ≤ 2 % of them. --write puts the section in
// bench/RESULTS.md.
import { flags } from './flags.mjs';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSection } from './results.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { MirrorServer } = await import(join(root, 'dist/mirror/index.js'));
const { siteToday, shiftDay } = await import(join(root, 'dist/site/calendar.js'));
const { DEFAULTS, feedWatchMs } = await import(join(root, 'dist/config/config.js'));
const { parseDuration } = await import(join(root, 'dist/clock/durations.js'));
const { revisitPolicy, checksPerArticle } = await import(join(root, 'dist/engine/revisit-policy.js'));
const { sweepRequestsPerHour } = await import(join(root, 'dist/engine/lanes/sweep-lane.js'));
const { Cron } = await import('croner');

const args = process.argv.slice(2);
const flag = flags(args).number;
const months = flag('months', 150);
const perMonth = flag('per-month', 200);
const changes = flag('changes', 24);
const sweepSeconds = flag('sweep-seconds', 150);
const tickSeconds = flag('tick-seconds', 5);
const cli = join(root, 'dist/cli/main.js');

// A seeded draw: the same changes at the same places on every run.
let seed = 29;
const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const today = siteToday(Date.now());
let first = `${today.slice(0, 6)}01`;
for (let i = 1; i < months; i++) first = `${shiftDay(first, -1).slice(0, 6)}01`;
const days = Math.round((Date.parse(`${dashed(today)}T12:00:00Z`) - Date.parse(`${dashed(first)}T12:00:00Z`)) / 86_400_000) + 1;
function dashed(d) {
  return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
}

const mirror = new MirrorServer({ articles: months * perMonth, days, crawlDelay: 0 });
const origin = await mirror.listen();
const storage = mkdtempSync(join(os.tmpdir(), 'newsnap-history-'));
const env = { ...process.env, NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_LOG_LEVEL: 'error', NEWSNAP_CONFIG: '' };

function run(argv, extraEnv = {}) {
  const child = spawn(process.execPath, [cli, ...argv], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const done = new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  return { child, done, stderr: () => stderr };
}

const t0 = performance.now();
const backfill = await run(['crawl', '--origin', origin, '--storage', storage, '--rate', '0', '--concurrency', '8', '--since', first]).done;
if (backfill.code !== 0) throw new Error(`the backfill exited ${backfill.code}: ${backfill.stderr.slice(-2000)}`);
const captured = mirror.all().filter((a) => !a.gallery);
process.stdout.write(`history: ${months} months, ${mirror.all().length} articles, captured in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);

const serve = run(['serve', '--origin', origin, '--storage', storage], {
  NEWSNAP_SERVE_PORT: '0',
  NEWSNAP_LOG_LEVEL: 'info',
  NEWSNAP_CRAWL_RATE: '20',
  NEWSNAP_SERVE_SCHEDULE: `*/${tickSeconds} * * * * *`,
  NEWSNAP_DISCOVERY_FEED_EVERY: 'off',
  NEWSNAP_DISCOVERY_SWEEP_EVERY: `${sweepSeconds}s`,
});
const api = await until('serve listening', () => /"url":"http:\/\/127\.0\.0\.1:(\d+)"[^\n]*newsnap serve listening/.exec(serve.stderr())?.[1]).then((port) => `http://127.0.0.1:${port}`);
const status = async () => (await fetch(`${api}/status`)).json();
await until('the sweep knowing the months', async () => ((await status()).sweep?.months > 0 ? true : undefined));
mirror.clearLog();
const from = Date.now();

// Changes scattered over the history (a different month each, where there are enough), spread over one cycle.
const byMonth = new Map();
for (const a of captured) byMonth.set(a.day.slice(0, 6), [...(byMonth.get(a.day.slice(0, 6)) ?? []), a]);
const monthList = [...byMonth.keys()];
const planned = Array.from({ length: changes }, (_, i) => {
  const list = byMonth.get(monthList[Math.floor(random() * monthList.length)]);
  return { article: list[Math.floor(random() * list.length)], kind: i % 3 === 2 ? 'removed' : 'edited', afterMs: random() * sweepSeconds * 1000 };
}).filter((c, i, all) => all.findIndex((d) => d.article.id === c.article.id) === i);
planned.sort((a, b) => a.afterMs - b.afterMs);
for (const c of planned) {
  await sleep(Math.max(0, from + c.afterMs - Date.now()));
  c.at = Date.now();
  if (c.kind === 'edited') mirror.edit(c.article.id, { at: new Date(c.at).toISOString(), title: `${c.article.title} (düzeltildi)` });
  else mirror.remove(c.article.id, 410);
}

const pathOf = (a) => `/${a.day}/${a.slug}-${a.id}.html`;
const seenAt = (c) => mirror.log.find((r) => r.path === pathOf(c.article) && r.t >= c.at)?.t;
const deadline = Date.now() + 3 * sweepSeconds * 1000;
while (planned.some((c) => seenAt(c) === undefined) && Date.now() < deadline) await sleep(250);
// The last recheck's version reaches the manifest a moment after its request.
await sleep(2000);
const metrics = await (await fetch(`${api}/metrics`)).text();
serve.child.kill('SIGTERM');
await serve.done;
await mirror.close();

const manifest = readFileSync(join(storage, 'manifest.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const results = planned.map((c) => {
  const seen = seenAt(c);
  const recorded = manifest.some((l) => l.id === c.article.id && l.event === (c.kind === 'edited' ? 'updated' : 'gone'));
  return { id: c.article.id, month: c.article.day.slice(0, 6), kind: c.kind, seenSeconds: seen === undefined ? null : (seen - c.at) / 1000, recorded };
});
const byLane = {};
for (const m of metrics.matchAll(/^newsnap_requests_total\{([^}]*)\} (\d+)$/gm)) {
  const lane = /lane="([^"]+)"/.exec(m[1])?.[1] ?? '?';
  byLane[lane] = (byLane[lane] ?? 0) + Number(m[2]);
}
const total = Object.values(byLane).reduce((a, b) => a + b, 0);
const limit = sweepSeconds + tickSeconds;
const worst = Math.max(...results.map((r) => r.seenSeconds ?? Number.POSITIVE_INFINITY));
for (const r of results) process.stdout.write(`  ${r.month} ${r.kind.padEnd(7)} ${r.id}: seen after ${r.seenSeconds === null ? 'never' : `${r.seenSeconds.toFixed(1)} s`}${r.recorded ? '' : ' (not in the manifest)'}\n`);
process.stdout.write(`requests by lane while serve ran: ${JSON.stringify(byLane)}\n`);

// The planner at the defaults, at the site's size: requests an hour by lane.
const perDay = 150;
const d = DEFAULTS;
const scheduleEveryMs = (() => {
  const [a, b] = new Cron(d.serve.schedule, { paused: true }).nextRuns(2);
  return b.getTime() - a.getTime();
})();
const planner = {
  watch: 3_600_000 / feedWatchMs(d.discovery.feedEvery) + perDay / 24,
  // Each tick: robots.txt, the feed, today's range; the month's whole sitemap at most every monthEvery.
  schedule: (3 * 3_600_000) / scheduleEveryMs + 3_600_000 / parseDuration(d.discovery.monthEvery),
  revisit: (checksPerArticle(revisitPolicy(d.revisit, d.crawl.maxFailedRuns).schedule) * perDay) / 24,
  sweep: sweepRequestsPerHour(feedWatchMs(d.discovery.sweepEvery), months),
};
const plannedTotal = Object.values(planner).reduce((a, b) => a + b, 0);
const sweepShare = planner.sweep / plannedTotal;
const fmt = (n) => (n >= 10 ? n.toFixed(0) : n.toFixed(2));
process.stdout.write(`planner at the defaults (${months} months, ${perDay} articles a day): ${Object.entries(planner).map(([k, v]) => `${k} ${fmt(v)}/h`).join(', ')}; the sweep ${(100 * sweepShare).toFixed(2)} % (one month every ${fmt(60 / (planner.sweep - 1 / 24))} min)\n`);
const pass = results.every((r) => r.recorded && r.seenSeconds !== null && r.seenSeconds <= limit) && sweepShare <= 0.02;
process.stdout.write(`goal: every change within ${limit} s (sweepEvery + one tick), the sweep ≤ 2 %: ${pass ? 'met' : 'NOT met'} (worst ${worst.toFixed(1)} s)\n`);
rmSync(storage, { recursive: true, force: true });

if (args.includes('--write')) {
  const rows = results.map((r) => `| ${r.month.slice(0, 4)}-${r.month.slice(4)} | ${r.kind} | ${r.seenSeconds === null ? 'never' : r.seenSeconds.toFixed(1)} | ${r.recorded ? 'yes' : 'no'} |`);
  writeSection(
    join(root, 'bench/RESULTS.md'),
    '## The whole history watched (`node bench/history.mjs`)',
    `${months} months of ${perMonth} articles (${mirror.all().length}), all captured first; then \`serve\` with \`discovery.sweepEvery\` at ${sweepSeconds} s (7 days scaled), a scheduled crawl every ${tickSeconds} s, and ${results.length} changes (edits, and removals answered 410) scattered over the history, spread over one cycle. Seconds from each change to newsnap's recheck of the article (the mirror's log), and whether the manifest has it:

| month | change | seen after (s) | in the manifest |
|---|---|---|---|
${rows.join('\n')}

Worst **${worst.toFixed(1)} s**, against sweepEvery + one tick = ${limit} s. Requests by lane while serve ran: ${Object.entries(byLane).map(([k, v]) => `${k} ${v}`).join(', ')} (${total} in all).

The planner at the defaults, at the site's size (${months} months, ${perDay} articles a day): ${Object.entries(planner).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')} requests an hour; the sweep is **${(100 * sweepShare).toFixed(2)} %** of them (one month sitemap every ${fmt(60 / (planner.sweep - 1 / 24))} minutes, nearly always a 304, and the index daily). A backfill takes what is left of the rate.

Goal (every change within sweepEvery + one tick, the sweep ≤ 2 % of the requests): **${pass ? 'met' : 'not met'}**.`,
  );
}
process.exit(pass ? 0 : 1);

async function until(what, probe, ms = 600_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}
