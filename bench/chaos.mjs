// The fault campaign: `newsnap serve` against the mirror while the mirror publishes, edits and
// removes articles and a receiver verifies every webhook, with faults injected on a seeded random
// schedule: the disk full and freed, the state database locked by another process, the origin down
// and back, 429/503 bursts and slow answers, challenge pages, the receiver down, slow or answering
// 500, kill -9 of serve and SIGTERM, each followed by a restart. After a quiet period it checks that
// nothing was lost, and prints the faults, the recovery after each, the deliveries and the RSS curve.
// Needs root (it mounts a tmpfs). Usage:
//   node bench/chaos.mjs --minutes 30 --seed 7 [--min-faults N] [--quiet-minutes 5] [--json FILE]   (npm run build first)
// --min-faults goes on past the minutes until that many faults were injected (a slow machine's short run);
// --write puts the figures in bench/RESULTS.md (or later: node bench/chaos/report.mjs FILE.json --write).
import { flags } from './flags.mjs';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { faultKinds, schedule, siteActivity, sleep } from './chaos/faults.mjs';
import { reportLines, writeReport } from './chaos/report.mjs';
import { receiver, service, sha256, smallVolume, world } from './chaos/world.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = flags(args).text;
const minutes = Number(flag('minutes', '30'));
const seed = Number(flag('seed', '7'));
const quietMinutes = Number(flag('quiet-minutes', '5'));
const minFaults = Number(flag('min-faults', '0'));
const jsonOut = flag('json', null);
const log = (line) => process.stdout.write(`${line}\n`);
if (process.getuid?.() !== 0) throw new Error('the campaign mounts a tmpfs: run it as root');

const { require, cli } = world(root);
const { MirrorServer } = await import(join(root, 'dist/mirror/index.js'));
const { seededRandom, expectedSnapshot } = await import(join(root, 'dist/mirror/site-model.js'));
// Two seeded streams: the faults' schedule and the site's changes, each the same for the same seed.
const rnd = seededRandom(seed);
const siteRnd = seededRandom(seed * 7919 + 1);
const work = mkdtempSync(join(os.tmpdir(), 'newsnap-chaos-'));
const volume = smallVolume(join(work, 'volume'), 256);
const storage = volume.storage;

const mirror = new MirrorServer({ articles: 150, days: 3, crawlDelay: 0, jsEvery: 0, seed });
await mirror.listen(0);
const port = Number(new URL(mirror.baseUrl).port);
const hook = receiver(require, `whsec_${Buffer.from(`newsnap chaos ${seed} secret key!`).toString('base64')}`);
await hook.start();
const env = {
  NEWSNAP_LOG_LEVEL: 'info',
  NEWSNAP_SERVE_PORT: String(flag('port', '0')),
  NEWSNAP_SERVE_SCHEDULE: '*/10 * * * * *',
  NEWSNAP_RENDER_POLICY: 'never',
  NEWSNAP_CRAWL_RATE: '50',
  NEWSNAP_CRAWL_BACKOFF_BASE_MS: '200',
  NEWSNAP_CRAWL_BLOCKED_PAUSE_MS: '3000',
  NEWSNAP_DISCOVERY_FEED_EVERY: '5s',
  NEWSNAP_DISCOVERY_MONTH_EVERY: '10s',
  NEWSNAP_REVISIT_SCHEDULE: '30d:2m',
  NEWSNAP_REVISIT_MISSING_SPACING: '5s',
  NEWSNAP_REVISIT_RETRY_AFTER_FAILURE: '10s',
  NEWSNAP_DELIVERY_WEBHOOKS: JSON.stringify([{ url: hook.url, secret: `whsec_${Buffer.from(`newsnap chaos ${seed} secret key!`).toString('base64')}` }]),
  NEWSNAP_DELIVERY_RETRY_SCHEDULE: '1s, 2s, 5s, 10s, 20s, 30s, 60s, 60s, 60s, 60s, 60s, 60s, 60s, 60s, 60s, 60s',
  NEWSNAP_DELIVERY_TIMEOUT_MS: '3000',
};
const serveArgs = ['--origin', mirror.baseUrl, '--storage', storage];
const serve = service(cli, serveArgs, env, log);
await serve.start();
// Restarts keep the API's port: the first one listened on a free port; the rest take it again.
const apiPort = new URL(serve.api).port;
serve.start = ((start) => () => {
  env.NEWSNAP_SERVE_PORT = apiPort;
  return start();
})(serve.start);

const snapshotOf = (a) => join(storage, 'snapshots', `${a.day.slice(0, 4)}-${a.day.slice(4, 6)}-${a.day.slice(6)}`, `${a.id}.txt`);
const captured = (a) => existsSync(snapshotOf(a));
const w = { rnd, mirror, volume, hook, serve, require, storage, port, expectedSnapshot, captured, published: [], edits: [], removals: [], shutdowns: [] };
const kinds = faultKinds(w);
const faults = [];
const status = async () => {
  try {
    return await (await fetch(`${serve.api}/status`, { signal: AbortSignal.timeout(15_000) })).json();
  } catch {
    return null;
  }
};

// Watches what recovery means: a crawl run that started after a fault ended and finished done or partial.
const runs = new Map();
const watcher = setInterval(async () => {
  serve.sampleRss();
  const doc = await status();
  for (const r of doc?.recentRuns ?? []) if (r.finishedAt) runs.set(r.id, r);
}, 1000);
const activity = siteActivity({ ...w, rnd: siteRnd });
const sitePace = setInterval(() => void activity(), 4000);

const started = Date.now();
log(`chaos: seed ${seed}, ${minutes} min of faults then up to ${quietMinutes} min quiet; storage ${storage}; mirror ${mirror.baseUrl}; serve ${serve.api}`);
const nextFault = schedule(kinds, rnd);
let tried = 0;
while (Date.now() - started < minutes * 60_000 || tried < minFaults) {
  await sleep(3_000 + Math.floor(rnd() * 12_000));
  const k = nextFault();
  tried += 1;
  const t0 = Date.now();
  let injected;
  try {
    injected = await k.begin();
  } catch (err) {
    log(`  could not inject ${k.kind}: ${err.message}`);
    continue;
  }
  await sleep(injected.durationMs);
  await injected.end();
  faults.push({ kind: k.kind, start: t0, end: Date.now() });
  log(`  ${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s  ${k.kind} for ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
clearInterval(sitePace);
log(`chaos: ${faults.length} faults injected; quiet period`);

const report = await converge(quietMinutes * 60_000);
clearInterval(watcher);
const shutdownMs = await serve.stop('SIGTERM');
w.shutdowns.push(shutdownMs);
const verify = spawnSync(process.execPath, [cli, 'verify', '--storage', storage, '--json'], { encoding: 'utf8' });
report.verify = { code: verify.status, problems: verify.status === 0 ? 0 : (JSON.parse(verify.stdout || '{"problemCount":-1}').problemCount ?? -1) };
report.crashes = serve.exits.filter((e) => !e.expected || (e.expected === 'SIGTERM' && e.code !== 0)).map((e) => ({ code: e.code, signal: e.signal, expected: e.expected }));
report.shutdownMs = { median: median(w.shutdowns), worst: Math.max(...w.shutdowns) };
report.recovery = recoveries();
report.rss = rssCurve();
report.faults = Object.fromEntries(kinds.map((k) => [k.kind, faults.filter((f) => f.kind === k.kind).length]));
report.seed = seed;
report.minutes = minutes;
report.machine = { cpu: os.cpus()[0]?.model, cores: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
for (const line of reportLines(report)) log(line);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(report, null, 2));
if (args.includes('--write')) writeReport(report);
await hook.stop();
await mirror.close();
volume.unmount();
process.exit(report.lost.total === 0 && report.verify.code === 0 && report.crashes.length === 0 ? 0 : 1);

/** Waits (up to `ms`) for every change of the site to be captured and every event delivered; then says what is missing. */
async function converge(ms) {
  const deadline = Date.now() + ms;
  let r;
  let said = 0;
  for (;;) {
    r = await losses();
    if (r.lost.total === 0 || Date.now() > deadline) break;
    if (Date.now() - said > 10_000) {
      said = Date.now();
      log(`  quiet: still to come ${JSON.stringify(r.lost)}`);
    }
    await sleep(2_000);
  }
  r.convergedAfterMs = Date.now() - (deadline - ms);
  return r;
}

async function losses() {
  const manifest = readFileSync(join(storage, 'manifest.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const shas = new Map();
  const current = new Map();
  for (const l of manifest) {
    (shas.get(l.id) ?? shas.set(l.id, new Set()).get(l.id)).add(l.sha256);
    if (l.event !== 'gone') current.set(l.id, l.sha256);
  }
  const gone = new Set(manifest.filter((l) => l.event === 'gone').map((l) => l.id));
  const missing = [];
  for (const a of mirror.all()) {
    const text = expectedSnapshot(a);
    if (text === null) continue;
    let got = null;
    try {
      got = readFileSync(snapshotOf(a), 'utf8');
    } catch {}
    // The file holds the site's text, and the manifest stands by those very bytes.
    if (got !== text || current.get(a.id) !== sha256(text)) missing.push(a.id);
  }
  const editsLost = w.edits.filter((e) => !shas.get(e.id)?.has(e.sha256)).map((e) => e.id);
  const removalsLost = w.removals.filter((x) => !gone.has(x.id)).map((x) => x.id);
  const seqs = manifest.map((l) => l.seq);
  const delivered = new Map();
  for (const g of hook.got) if (g.valid) delivered.set(g.id, (delivered.get(g.id) ?? 0) + 1);
  const deliveredSeqs = new Set([...delivered.keys()].map((id) => Number(/_(\d+)$/.exec(id)?.[1])));
  const undelivered = seqs.filter((s) => !deliveredSeqs.has(s));
  const events = await pageEvents();
  const eventsGap = events === null ? ['/events did not answer'] : seqs.filter((s, i) => events[i] !== s);
  const invalid = hook.got.filter((g) => !g.valid).length;
  const lost = { snapshots: missing.length, edits: editsLost.length, removals: removalsLost.length, undelivered: undelivered.length, eventsGaps: eventsGap.length, invalidSignatures: invalid };
  return {
    lost: { ...lost, total: Object.values(lost).reduce((a, b) => a + b, 0) },
    examples: { snapshots: missing.slice(0, 5), edits: editsLost.slice(0, 5), removals: removalsLost.slice(0, 5), undelivered: undelivered.slice(0, 5) },
    site: { articles: mirror.all().length, published: w.published.length, edits: w.edits.length, removals: w.removals.length },
    events: { lines: manifest.length, delivered: deliveredSeqs.size, deliveries: hook.got.length, duplicates: [...delivered.values()].reduce((n, c) => n + c - 1, 0), uniqueIds: delivered.size },
  };
}

/** Every event, paged through GET /events from the start. */
async function pageEvents() {
  const out = [];
  for (let after = 0; ; ) {
    let page;
    try {
      const res = await fetch(`${serve.api}/events?after=${after}&limit=1000`, { signal: AbortSignal.timeout(15_000) });
      // A 409 names a cursor the storage never had: for a seq it gave, that is a gap.
      if (!res.ok) return null;
      page = await res.json();
    } catch {
      return null;
    }
    if (!page.events || page.events.length === 0) return out;
    for (const e of page.events) out.push(e.seq);
    after = page.next;
  }
}

/** For each fault: from its end to the end of the first crawl run started after it that finished done or partial. */
function recoveries() {
  const ok = [...runs.values()].filter((r) => r.status === 'done' || r.status === 'partial').map((r) => ({ started: Date.parse(r.startedAt), finished: Date.parse(r.finishedAt) }));
  const times = [];
  for (const f of faults) {
    const next = ok.filter((r) => r.started >= f.end).sort((a, b) => a.finished - b.finished)[0];
    if (next) times.push({ kind: f.kind, ms: next.finished - f.end });
  }
  const ms = times.map((t) => t.ms);
  const byKind = {};
  for (const t of times) byKind[t.kind] = Math.max(byKind[t.kind] ?? 0, t.ms);
  return { measured: times.length, of: faults.length, medianMs: median(ms), worstMs: ms.length ? Math.max(...ms) : null, worstByKind: byKind };
}

/** Peak RSS of serve per minute of the campaign, and the first and last thirds compared. */
function rssCurve() {
  const perMinute = [];
  for (const s of serve.rss) {
    const m = Math.floor((s.t - started) / 60_000);
    perMinute[m] = Math.max(perMinute[m] ?? 0, s.mb);
  }
  const curve = perMinute.map((mb) => Math.round(mb ?? 0));
  const third = Math.max(1, Math.floor(curve.length / 3));
  const first = Math.max(...curve.slice(0, third));
  const last = Math.max(...curve.slice(-third));
  return { perMinuteMb: curve, firstThirdPeakMb: first, lastThirdPeakMb: last, growth: Number((last / first).toFixed(2)) };
}

function median(xs) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}
