// Requests and WARC bytes a day the default revisit schedule costs for a site publishing 150
// articles a day, on a mirror whose article pages send validators (ETag, Last-Modified) and on one
// whose pages do not (every revisit a 200 with the same bytes).
// Usage: node bench/revisit-day.mjs [--per-day 150] [--every-minutes 15] [--days-back 32]
//          [--with-validators | --without-validators] [--cli path/to/other/dist/cli/main.js] [--json FILE]
//
// A mirror holds `days-back` days of articles at `per-day` a day; one backfill captures them.
// Then NEWSNAP_NOW steps through two simulated days in runs every `every-minutes` (as `serve`'s
// default schedule does), publishing new articles at their times: the first day warms the
// schedule up, the second is measured. Every request the mirror sees and every byte added to the
// WARC archive is counted, and so is every byte the mirror served. --json writes the measured
// day's numbers for bench/freshness.mjs, whose comparison of requests per hour includes revisits.
import { flags } from './flags.mjs';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { MirrorServer } = await import(join(root, 'dist/mirror/index.js'));
const { revisitPolicy, checksPerArticle } = await import(join(root, 'dist/engine/revisit-policy.js'));
const { DEFAULTS } = await import(join(root, 'dist/config/config.js'));
const args = process.argv.slice(2);
const flag = flags(args).number;
const perDay = flag('per-day', 150);
const every = flag('every-minutes', 15);
const daysBack = flag('days-back', 32);
const cliAt = args.indexOf('--cli');
// Another build's CLI (e.g. an older newsnap) against this mirror, for a before/after.
const cli = cliAt >= 0 ? args[cliAt + 1] : join(root, 'dist/cli/main.js');
const jsonAt = args.indexOf('--json');
const jsonOut = jsonAt >= 0 ? args[jsonAt + 1] : null;
const only = args.includes('--with-validators') ? [true] : args.includes('--without-validators') ? [false] : [true, false];

// The measured day is mid-month: incremental runs read one month sitemap, as on most days.
const warmStart = Date.parse('2025-12-15T00:00:00+03:00');
const measuredStart = warmStart + 86_400_000;
const lastBackfillDay = '20251214';

function warcBytes(storage) {
  const dir = join(storage, 'warc');
  return existsSync(dir) ? readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0) : 0;
}

/** Two simulated days against a mirror whose article pages do (or do not) send validators. */
async function measure(validators) {
  const mirror = new MirrorServer({ articles: perDay * daysBack, days: daysBack, lastDay: lastBackfillDay, crawlDelay: 0, articleValidators: validators });
  const origin = await mirror.listen();
  const storage = mkdtempSync(join(os.tmpdir(), 'newsnap-revisit-day-'));
  const env = { ...process.env, NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_LOG_LEVEL: 'error' };

  /** One crawl as cron would start it; the mirror lives in this process, so it must not block. */
  function crawl(nowMs, extra = []) {
    const child = spawn(process.execPath, [cli, 'crawl', '--origin', origin, '--storage', storage, '--rate', '0', '--concurrency', '8', ...extra], {
      env: { ...env, NEWSNAP_NOW: new Date(nowMs).toISOString() },
      stdio: ['ignore', 'ignore', 'pipe'],
      // Each build runs from its own project folder, with its own config/newsnap.json.
      cwd: join(dirname(cli), '..', '..'),
    });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    return new Promise((resolve, reject) =>
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`crawl at ${new Date(nowMs).toISOString()} exited ${code}: ${stderr.slice(-2000)}`)))),
    );
  }

  const t0 = performance.now();
  await crawl(warmStart, ['--since', mirror.all()[0].day]);
  const backfillBytes = warcBytes(storage);
  process.stdout.write(`[${validators ? 'with' : 'without'} validators] backfill of ${mirror.all().length} articles in ${((performance.now() - t0) / 1000).toFixed(1)} s, WARC ${(backfillBytes / 1e6).toFixed(1)} MB\n`);

  const seen = new Set(mirror.all().map((a) => `/${a.day}/${a.slug}-${a.id}.html`));
  const steps = Math.round((24 * 60) / every);
  let measured = null;
  for (let day = 0; day < 2; day++) {
    const start = day === 0 ? warmStart : measuredStart;
    const count = { discovery: 0, new: 0, revisit: 0, byStatus: {}, warcBytes: 0, served: { discovery: 0, new: 0, revisit: 0 } };
    const bytesBefore = warcBytes(storage);
    for (let k = 0; k < steps; k++) {
      const now = start + k * every * 60_000;
      const due = Math.floor(((k + 1) * perDay) / steps) - Math.floor((k * perDay) / steps);
      if (due > 0) mirror.publish(due, { at: new Date(now - 60_000).toISOString() });
      mirror.clearLog();
      await crawl(now);
      for (const r of mirror.log) {
        count.byStatus[r.status] = (count.byStatus[r.status] ?? 0) + 1;
        const kind = !/^\/\d{8}\/[^/]+-\d{10}\.html$/.test(r.path) ? 'discovery' : seen.has(r.path) ? 'revisit' : 'new';
        count[kind]++;
        count.served[kind] += r.bytes;
        seen.add(r.path);
      }
    }
    count.warcBytes = warcBytes(storage) - bytesBefore;
    const total = count.discovery + count.new + count.revisit;
    process.stdout.write(
      `[${validators ? 'with' : 'without'} validators] ${day === 0 ? 'warm-up day ' : 'measured day'}: ${total} requests (${count.new} new articles, ${count.revisit} revisits, ${count.discovery} discovery), by status ${JSON.stringify(count.byStatus)}, WARC +${(count.warcBytes / 1e6).toFixed(1)} MB\n`,
    );
    if (day === 1) measured = count;
  }
  await mirror.close();
  rmSync(storage, { recursive: true, force: true });
  return { ...measured, backfillBytes };
}

const results = new Map();
for (const validators of only) results.set(validators, await measure(validators));

const policy = revisitPolicy(DEFAULTS.revisit);
const model = perDay * checksPerArticle(policy.schedule);
const cpu = os.cpus();
process.stdout.write(
  `machine: ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, Node ${process.version}; CLI ${cli}\n` +
    `schedule "${DEFAULTS.revisit.schedule}", ${perDay} articles a day, a run every ${every} min\n` +
    `model: ${Math.round(model)} revisits a day (${checksPerArticle(policy.schedule).toFixed(1)} checks per article over its first 30 days)\n`,
);
for (const [validators, t] of results) {
  const all = t.discovery + t.new + t.revisit;
  process.stdout.write(
    `${validators ? 'with validators   ' : 'without validators'}: ${all} requests a day (${t.new} new, ${t.revisit} revisits, ${t.discovery} discovery) = ${((all / 86_400) * 60).toFixed(1)} a minute; ` +
      `WARC ${(t.warcBytes / 1e6).toFixed(1)} MB a day (${(t.warcBytes / Math.max(1, t.new) / 1e3).toFixed(0)} KB per new article; backfill ${(t.backfillBytes / 1e6).toFixed(1)} MB); ` +
      `served ${((t.served.discovery + t.served.new + t.served.revisit) / 1e6).toFixed(1)} MB a day (discovery ${(t.served.discovery / 1e6).toFixed(1)}, new ${(t.served.new / 1e6).toFixed(1)}, revisits ${(t.served.revisit / 1e6).toFixed(1)})\n`,
  );
}
if (jsonOut) {
  const day = (t) => ({ requests: { discovery: t.discovery, new: t.new, revisit: t.revisit }, served: t.served, warcBytes: t.warcBytes, backfillWarcBytes: t.backfillBytes });
  writeFileSync(jsonOut, `${JSON.stringify({ cli, perDay, everyMinutes: every, ...Object.fromEntries([...results].map(([v, t]) => [v ? 'withValidators' : 'withoutValidators', day(t)])) }, null, 2)}\n`);
}
