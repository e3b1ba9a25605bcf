// serve under pressure (issue 28, item 5): does the engine keep its pace while readers hammer the
// heavy reads? On the 100 000-article store of big-store.mjs (20 000 edits, indexed) with an
// archived crawl of the mirror added (so that WACZ builds have WARC records to read), `serve`
// runs twice for the same time, at the same publish pace of its mirror: once alone (the control),
// once while `--clients` readers send searches, counts, status-page searches, WACZ builds of
// changing ranges and held /events requests. Meanwhile a probe thread reads /healthz every 250 ms,
// /status and /metrics every 5 s, and the RSS of serve's process tree every second; each new
// article's capture lag is read from the manifest; at the end, with reads in flight, serve gets
// SIGTERM and its exit is timed. The goals are printed, met or not.
//
// Usage: node bench/pressure.mjs [--articles 100000] [--history 20000] [--archived 2000]
//          [--clients 4] [--minutes 3] [--publish-every 5] [--warmup 60] [--client-timeout 30]
//          [--store DIR] [--keep] [--write] [--smoke]          (npm run build first)
//
// --store DIR keeps the built 100 000-article store (indexed, before the mirror's crawl) in DIR and
// reuses it on the next run; every run works on copies of it. --smoke: 3000 articles, 450 archived,
// 2 clients, 20 s per run, no warm-up (checks that the bench works; its figures mean little).
// --write puts the figures into bench/RESULTS.md, as its own section (bench/run.mjs keeps it).
import { flags } from './flags.mjs';
import { mirrorOrigin } from './mirror-process.mjs';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

// ---------------------------------------------------------------------------------------------
// The probe thread: its own event loop, so that the readers' work in the main thread does not
// delay the probes.

async function probes({ api, pid }) {
  const healthz = [];
  const status = [];
  const metrics = [];
  const rss = [];
  let stopped = false;
  parentPort.on('message', (m) => {
    if (m === 'stop') stopped = true;
  });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const every = async (ms, fn) => {
    while (!stopped) {
      const t = performance.now();
      try {
        await fn();
      } catch {
        // recorded by fn
      }
      const left = ms - (performance.now() - t);
      if (left > 0) await sleep(left);
    }
  };
  const health = every(250, async () => {
    const t = Date.now();
    const t0 = performance.now();
    try {
      const res = await fetch(`${api}/healthz`, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      healthz.push({ t, ms: performance.now() - t0, ok: res.status === 200 });
    } catch (err) {
      healthz.push({ t, ms: performance.now() - t0, ok: false, error: err.name });
    }
  });
  const statusLoop = every(5000, async () => {
    const t = Date.now();
    try {
      const s = await (await fetch(`${api}/status`, { signal: AbortSignal.timeout(5000) })).json();
      status.push({ t, loop: s.reads?.eventLoopDelay ?? null, reads: s.reads ?? null, index: s.index ?? null });
    } catch (err) {
      status.push({ t, error: err.name });
    }
    try {
      const text = await (await fetch(`${api}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
      const g = (k) => Number(new RegExp(`^newsnap_event_loop_delay_${k}_seconds (\\S+)$`, 'm').exec(text)?.[1]) * 1000;
      metrics.push({ t, p50Ms: g('p50'), p99Ms: g('p99'), maxMs: g('max') });
    } catch (err) {
      metrics.push({ t, error: err.name });
    }
  });
  const rssLoop = every(1000, async () => {
    const tree = processTree(pid);
    if (tree.length === 0) return;
    rss.push({ t: Date.now(), kb: tree.reduce((n, p) => n + p.rssKb, 0), processes: tree.length });
  });
  await Promise.all([health, statusLoop, rssLoop]);
  parentPort.postMessage({ healthz, status, metrics, rss });
}

/** A process and its descendants (via /proc/<pid>/task/<tid>/children), each with its VmRSS and start time. */
function processTree(root) {
  const out = [];
  const visit = (pid) => {
    let status;
    let stat;
    try {
      status = readFileSync(`/proc/${pid}/status`, 'utf8');
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return;
    out.push({ pid, rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0), start: fields[19], cmd: readCmd(pid) });
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      return;
    }
    for (const tid of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.split(' ').filter(Boolean)) visit(Number(c));
    }
  };
  visit(root);
  return out;
}

function readCmd(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** Whether a process seen earlier (pid and start time) still runs. */
function stillRuns(p) {
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] === p.start && fields[0] !== 'Z';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const here = dirname(fileURLToPath(import.meta.url));
  const cli = join(here, '..', 'dist/cli/main.js');
  const { siteToday, shiftDay } = await import(join(here, '..', 'dist/site/calendar.js'));
  const args = process.argv.slice(2);
  const smoke = args.includes('--smoke');
  const flag = (name, full, small) => flags(args).text(name, smoke ? small : full);
  const o = {
    articles: Number(flag('articles', 100_000, 3000)),
    history: Number(flag('history', 20_000, 600)),
    archived: Number(flag('archived', 2000, 450)),
    clients: Number(flag('clients', 4, 2)),
    seconds: Number(flag('minutes', 3, 1 / 3)) * 60,
    publishEvery: Number(flag('publish-every', 5, 2)),
    warmup: Number(flag('warmup', 60, 0)),
    clientTimeout: Number(flag('client-timeout', 30, 30)),
    store: flag('store', null, null),
    // Kinds of read left out (comma-separated: search, search/count, articles?q, wacz, events, export jsonl): to find which one costs the engine.
    skip: new Set((flag('skip', '', '') || '').split(',').filter(Boolean)),
    keep: args.includes('--keep'),
    write: args.includes('--write'),
  };
  const work = mkdtempSync(join(os.tmpdir(), 'newsnap-pressure-'));
  const lines = [];
  const log = (line = '') => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  const note = (line) => process.stdout.write(`  … ${line}\n`);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const dashed = (d) => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
  // Set by the set-up: the mirror's arguments (the same for the crawl and each run), its days crawled.
  let mirrorArgs = [];
  let total = 0;
  const crawledDays = [];

  // Everything started here, stopped at the end, on an error and on SIGINT: SIGTERM first (serve
  // then removes its temporary exports), SIGKILL to what still runs after 10 s.
  const started = new Set();
  const stopAll = async () => {
    const running = [...started].filter((c) => c.exitCode === null && c.signalCode === null);
    const signal = (child, sig) => {
      try {
        // serve runs in its own process group (its readers with it).
        if (child.group) process.kill(-child.pid, sig);
        else child.kill(sig);
      } catch {
        // gone
      }
    };
    for (const child of running) signal(child, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && running.some((c) => c.exitCode === null && c.signalCode === null)) await sleep(100);
    for (const child of running) if (child.exitCode === null && child.signalCode === null) signal(child, 'SIGKILL');
  };
  const cleanUp = async () => {
    await stopAll();
    if (!o.keep) rmSync(work, { recursive: true, force: true });
    else process.stdout.write(`kept ${work}\n`);
  };
  process.on('SIGINT', () => {
    process.stdout.write('\ninterrupted: stopping mirror and serve\n');
    void cleanUp().then(() => process.exit(130));
  });

  try {
    await bench();
  } catch (err) {
    process.stdout.write(`pressure bench failed: ${err.stack ?? err}\n`);
    await cleanUp();
    process.exit(1);
  }
  await cleanUp();

  async function bench() {
    const cpus = os.cpus();
    const machine = `${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
    const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
    log(`# serve under pressure${smoke ? ' (smoke)' : ''}`);
    log(`machine: ${machine}; load average ${load()} at the start`);

    // --- 1. The store: big-store.mjs, indexed (reused from --store), then the mirror's crawl into a copy.
    const base = join(work, 'base');
    const marker = (dir) => join(dir, 'pressure-store.json');
    const want = { articles: o.articles, history: o.history };
    let t = performance.now();
    const buildBig = (dir) => {
      const built = spawnSync(process.execPath, [join(here, 'big-store.mjs'), '--articles', String(o.articles), '--history', String(o.history), '--keep', dir, '--build-only'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      if (built.status !== 0) throw new Error('big-store.mjs failed');
      const index = spawnSync(process.execPath, [cli, 'index', '--storage', dir, '--log-level', 'error'], { encoding: 'utf8' });
      if (index.status !== 0) throw new Error(`index failed: ${index.stdout}${index.stderr}`);
      writeFileSync(marker(dir), JSON.stringify({ ...want, built: built.stdout.trim().split('\n').at(-1), index: index.stdout.trim() }));
    };
    if (o.store) {
      const have = existsSync(marker(o.store)) ? JSON.parse(readFileSync(marker(o.store), 'utf8')) : null;
      if (have && (have.articles !== want.articles || have.history !== want.history)) throw new Error(`${o.store} holds ${have.articles} articles and ${have.history} edits, not ${want.articles} and ${want.history}: give another --store`);
      if (!have) {
        if (existsSync(o.store) && readdirSync(o.store).length > 0) throw new Error(`${o.store} is not empty and is no store of this bench`);
        buildBig(o.store);
      } else note(`reusing the store in ${o.store}`);
      copyTree(o.store, base);
    } else buildBig(base);
    const storeInfo = JSON.parse(readFileSync(marker(base), 'utf8'));
    log(`store: ${storeInfo.built.replace(/^built: /, '')}; ${storeInfo.index.split('\n')[0]}  [${((performance.now() - t) / 1000).toFixed(0)} s]`);

    // The mirror holds the store's articles and `archived` more after them: the same ids as the
    // store's for the first (never crawled: they are of other days), the archived ones after
    // them, on the last days up to today; and a publication comes after all of them.
    total = o.articles + o.archived;
    const days = Math.max(2, Math.ceil(total / 150));
    const firstArchivedDay = Math.ceil((o.articles * days) / total);
    const today = siteToday(Date.now());
    const since = shiftDay(today, firstArchivedDay - (days - 1));
    for (let d = since; d <= today; d = shiftDay(d, 1)) crawledDays.push(dashed(d));
    mirrorArgs = ['--articles', String(total), '--days', String(days), '--crawl-delay', '0'];

    t = performance.now();
    let mirror = await startMirror();
    const crawl = await runQuiet([cli, 'crawl', '--since', dashed(since), '--origin', mirror.origin, '--storage', base, '--rate', '0', '--render', 'never', '--log-level', 'warn']);
    await stopMirror(mirror);
    // 1 is a partial run (a page the mirror fails on purpose): the archive is there all the same.
    if (crawl.code !== 0 && crawl.code !== 1) throw new Error(`crawl of the mirror exited ${crawl.code}: ${crawl.stderr.slice(-2000)}`);
    const warcFiles = readdirSync(join(base, 'warc')).filter((f) => f.endsWith('.warc.gz'));
    const warcMb = warcFiles.reduce((n, f) => n + statSync(join(base, 'warc', f)).size, 0) / 1e6;
    log(`archived crawl: a mirror of ${total} articles over ${days} days, crawled from ${dashed(since)} into the same folder (--rate 0): ${(crawl.stdout + crawl.stderr).match(/(\d+) written/)?.[1] ?? '?'} written, ${warcFiles.length} WARC file(s), ${warcMb.toFixed(1)} MB  [${((performance.now() - t) / 1000).toFixed(0)} s]`);

    // Both runs start from the same files: the control on a copy, the readers' run on the original.
    t = performance.now();
    const controlStore = join(work, 'control');
    copyTree(base, controlStore);
    note(`copied the store for the control run in ${((performance.now() - t) / 1000).toFixed(0)} s`);

    log(`runs: control first, then the readers' run, each on its own copy of the same store and its own fresh mirror (the same articles published at the same pace): ${o.warmup} s warm-up, then ${o.seconds} s with a publication every ${o.publishEvery} s; readers: ${o.clients} clients, ${o.clientTimeout} s client timeout`);
    const control = await runOnce({ name: 'control', storage: controlStore, clients: 0 });
    const readers = await runOnce({ name: 'readers', storage: base, clients: o.clients });
    log(`load average ${load()} at the end`);

    // --- Report.
    await report(control, readers, machine);
  }

  // ---------------------------------------------------------------------------------------------

  async function startMirror() {
    const child = spawn(process.execPath, [cli, 'mirror', '--port', '0', ...mirrorArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.add(child);
    let stderr = '';
    child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-5000)));
    const origin = await mirrorOrigin(child, () => stderr);
    return { child, origin };
  }
  async function stopMirror(m) {
    if (m.child.exitCode !== null) return;
    const done = new Promise((r) => m.child.once('exit', r));
    m.child.kill('SIGTERM');
    await done;
    started.delete(m.child);
  }

  function runQuiet(argv) {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    started.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout = (stdout + c).slice(-20_000)));
    child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-20_000)));
    return new Promise((resolve) =>
      child.on('close', (code) => {
        started.delete(child);
        resolve({ code, stdout, stderr });
      }),
    );
  }

  /** One run: a fresh mirror, serve on `storage`, warm-up, the window, the captures, SIGTERM. */
  async function runOnce({ name, storage, clients }) {
    log();
    log(`### ${name} run${clients ? ` (${clients} readers)` : ' (no readers)'}`);
    const mirror = await startMirror();
    const manifest = join(storage, 'manifest.jsonl');
    const manifestStart = statSync(manifest).size;
    const logPath = join(work, `serve-${name}.log`);
    const serveLog = createWriteStream(logPath);
    const env = {
      ...process.env,
      NEWSNAP_SERVE_PORT: '0',
      NEWSNAP_SERVE_HOST: '127.0.0.1',
      NEWSNAP_DISCOVERY_FEED_EVERY: '2s',
      NEWSNAP_CRAWL_RATE: '2',
      NEWSNAP_RENDER_POLICY: 'never',
      NEWSNAP_LOG_LEVEL: 'info',
      // The scheduled crawl is kept out of both windows (next New Year): a cron tick lands in one
      // run and not the other, which would measure the clock, not the readers. The engine's work
      // here is the feed watch's: a poll every 2 s and every new article fetched and written.
      NEWSNAP_SERVE_SCHEDULE: '0 0 0 1 1 *',
    };
    delete env.NEWSNAP_NOW;
    const serve = spawn(process.execPath, [cli, 'serve', '--origin', mirror.origin, '--storage', storage], { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    serve.group = true;
    started.add(serve);
    let tail = '';
    const exited = new Promise((resolve) => serve.on('exit', (code, signal) => resolve({ code, signal, at: performance.now() })));
    const api = await new Promise((resolve, reject) => {
      let buf = '';
      serve.stderr.on('data', (c) => {
        serveLog.write(c);
        tail = (tail + c).slice(-20_000);
        if (buf !== null) {
          buf += c;
          const m = /"url":"http:\/\/(127\.0\.0\.1|0\.0\.0\.0):(\d+)"[^\n]*newsnap serve listening/.exec(buf);
          if (m) {
            buf = null;
            resolve(`http://127.0.0.1:${m[2]}`);
          }
        }
      });
      serve.on('exit', (code) => reject(new Error(`serve exited ${code} before listening:\n${tail}`)));
    });
    const listenedAt = Date.now();
    const probe = new Worker(fileURLToPath(import.meta.url), { workerData: { api, pid: serve.pid } });
    const probeResult = new Promise((resolve, reject) => {
      probe.once('message', resolve);
      probe.once('error', reject);
    });
    // The exports this tree has: /export?format=wacz or, where /export is not there, /export.wacz;
    // /export?format=jsonl only where it answers JSON lines (a HEAD on a day with nothing).
    // (Asked in the readers' run only: even a package of no day reads the archive, on serve's thread.)
    const exportsHere = clients > 0 ? await exportRoutes(api) : { wacz: '-', waczPrefix: '', jsonl: false, jsonlWhy: 'no readers' };
    note(`serve listening on ${api} (log ${logPath}); WACZ from ${exportsHere.wacz}; JSON-lines export: ${exportsHere.jsonl ? 'yes' : `no (${exportsHere.jsonlWhy})`}`);
    if (o.warmup > 0) await sleep(o.warmup * 1000);

    const windowStart = Date.now();
    const windowEnd = windowStart + o.seconds * 1000;
    const firstSeq = (await (await fetch(`${api}/status`)).json()).index?.manifestSeq ?? 0;
    const published = [];
    const publishing = (async () => {
      for (let k = 0; Date.now() < windowEnd; k++) {
        const due = windowStart + k * o.publishEvery * 1000;
        if (due >= windowEnd) break;
        if (due > Date.now()) await sleep(due - Date.now());
        const at = Date.now();
        const ids = await (await fetch(`${mirror.origin}/__mirror/publish?count=1`, { method: 'POST' })).json();
        // The mirror's articles are numbered in order: every 41st item (ordinal % 41 == 20) is a gallery, not an article.
        const ordinal = total + published.length;
        published.push({ id: ids[0], at, gallery: ordinal % 41 === 20 });
      }
    })();
    const stopReaders = new AbortController();
    const readerStats = newReaderStats();
    const readerLoops = Array.from({ length: clients }, (_, i) => readerLoop(i, api, exportsHere, firstSeq, readerStats, stopReaders.signal));
    await publishing;
    if (Date.now() < windowEnd) await sleep(windowEnd - Date.now());
    const windowOver = Date.now();

    // Wait for the last captures (readers still at work), at most 60 s.
    const captures = new Map();
    const readCaptures = () => {
      const text = readFrom(manifest, manifestStart);
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        try {
          const r = JSON.parse(line);
          if (r.event === 'new' && !captures.has(r.id)) captures.set(r.id, Date.parse(r.capturedAt));
        } catch {
          // a half-written last line
        }
      }
    };
    const wanted = published.filter((p) => !p.gallery);
    const captureDeadline = Date.now() + 60_000;
    for (;;) {
      readCaptures();
      if (wanted.every((p) => captures.has(p.id)) || Date.now() > captureDeadline) break;
      await sleep(1000);
    }

    // SIGTERM, with reads in flight in the readers' run.
    let inFlightAtStop = [];
    if (clients > 0) {
      // Nothing is published any more: a held /events would only wait out its 30 s. The readers
      // go on with the heavy reads, and serve is stopped once one is in flight.
      readerStats.noMoreEvents = true;
      const until = Date.now() + 45_000;
      while (Date.now() < until && ![...readerStats.inFlight.values()].some((k) => IN_READERS.has(k))) await sleep(5);
      inFlightAtStop = [...readerStats.inFlight.values()];
    }
    probe.postMessage('stop');
    const probed = await probeResult;
    await probe.terminate();
    const lastStatus = probed.status.filter((s) => s.reads).at(-1) ?? null;
    const tree = processTree(serve.pid);
    const children = tree.filter((p) => p.pid !== serve.pid);
    const termAt = performance.now();
    readerStats.stoppingAt = Date.now();
    process.kill(serve.pid, 'SIGTERM');
    const exit = await Promise.race([exited, sleep(30_000).then(() => null)]);
    const exitSeconds = exit ? (exit.at - termAt) / 1000 : null;
    const leftAtExit = children.filter(stillRuns);
    await sleep(2000);
    const leftAfter2s = children.filter(stillRuns);
    stopReaders.abort();
    await Promise.all(readerLoops);
    if (!exit) process.kill(-serve.pid, 'SIGKILL');
    else {
      for (const p of leftAfter2s) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    await exited;
    started.delete(serve);
    serveLog.end();
    await stopMirror(mirror);

    const lags = wanted.filter((p) => captures.has(p.id)).map((p) => (captures.get(p.id) - p.at) / 1000);
    const r = {
      name,
      clients,
      listenedAt,
      windowStart,
      windowEnd: windowOver,
      published,
      wanted: wanted.length,
      lags,
      probed,
      lastStatus,
      readerStats,
      inFlightAtStop,
      exit,
      exitSeconds,
      children,
      leftAtExit,
      leftAfter2s,
      warnings: tail.split('\n').filter((l) => /"level":(40|50|60)/.test(l)),
      exportsHere,
    };
    summarize(r);
    return r;
  }

  async function exportRoutes(api) {
    const none = 'since=2000-01-01&until=2000-01-01';
    const waczRes = await fetch(`${api}/export?format=wacz&${none}`, { method: 'HEAD', signal: AbortSignal.timeout(60_000) });
    const wacz = waczRes.status === 404 ? '/export.wacz?' : '/export?format=wacz&';
    const jsonlRes = await fetch(`${api}/export?format=jsonl&${none}`, { method: 'HEAD', signal: AbortSignal.timeout(60_000) });
    const type = jsonlRes.headers.get('content-type') ?? '';
    const jsonl = jsonlRes.status < 300 && !type.includes('wacz');
    const jsonlWhy = jsonlRes.status === 404 ? 'GET /export answers 404' : type.includes('wacz') ? `/export here ignores format= and answers ${type}` : `HEAD answered ${jsonlRes.status}`;
    return { wacz: wacz.replace(/[?&]$/, ''), waczPrefix: wacz, jsonl, jsonlWhy };
  }

  // ---------------------------------------------------------------------------------------------
  // The readers.

  function newReaderStats() {
    return { byKind: new Map(), inFlight: new Map(), stoppingAt: null, noMoreEvents: false, serial: 0 };
  }

  /** The requests a reader makes, in its own order; `last` is the cursor of the held /events. */
  function readerRequests(exportsHere) {
    const searchQueries = [
      ['ankara', 'current'],
      ['kırım', 'current'],
      ['"rekor kırdı"', 'current'],
      ['güçlen*', 'current'],
      ['ankara', 'any'],
      ['bir* OR ile* OR ver* OR ola*', 'any'],
      ['ankara', 'removed'],
      ['akkuyu', 'added'],
    ];
    const q = (s) => encodeURIComponent(s);
    const list = [
      { kind: 'search/count', path: `/search/count?versions=any&q=${q('bir* OR ile* OR ver* OR ola*')}` },
      { kind: 'search/count', path: `/search/count?versions=any&q=ankara&interval=week` },
      { kind: 'search', path: `/search?versions=removed&q=ankara` },
      { kind: 'search', path: `/search?versions=any&q=ankara` },
      ...searchQueries.map(([s, v]) => ({ kind: 'search', path: `/search?q=${q(s)}&versions=${v}&limit=20` })),
      ...searchQueries.map(([s, v]) => ({ kind: 'search/count', path: `/search/count?q=${q(s)}&versions=${v}` })),
      { kind: 'articles?q', path: `/articles?q=ankara` },
      { kind: 'articles?q', path: `/articles?q=${q('"rekor kırdı"')}` },
      { kind: 'articles?q', path: `/articles?q=${q('güçlen*')}&versions=any` },
      { kind: 'wacz', path: null },
      { kind: 'events', path: null },
      { kind: 'wacz', path: null },
      { kind: 'events', path: null },
      ...(exportsHere.jsonl ? [{ kind: 'export jsonl', path: '/export?format=jsonl' }] : []),
    ];
    return list.filter((r) => !o.skip.has(r.kind));
  }

  async function readerLoop(client, api, exportsHere, firstSeq, stats, signal) {
    const list = readerRequests(exportsHere);
    // Each client its own order (seeded), so that they do not march in step.
    let seed = 0x9e3779b9 ^ (client * 7919);
    const rnd = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    let last = firstSeq;
    for (let round = 0; !signal.aborted && stats.stoppingAt === null; round++) {
      const order = [...list].sort(() => rnd() - 0.5);
      for (const item of order) {
        // No new request once serve has been told to stop: those in flight go on.
        if (signal.aborted || stats.stoppingAt !== null) return;
        let path = item.path;
        let timeoutMs = o.clientTimeout * 1000;
        if (item.kind === 'wacz') {
          const a = Math.floor(rnd() * crawledDays.length);
          const b = Math.min(crawledDays.length - 1, a + Math.floor(rnd() * 4));
          path = `${exportsHere.waczPrefix}since=${crawledDays[a]}&until=${crawledDays[b]}`;
        }
        if (item.kind === 'events') {
          if (stats.noMoreEvents) continue;
          path = `/events?after=${last}&wait=30`;
          timeoutMs = 40_000;
        }
        const outcome = await request(api, item.kind, path, timeoutMs, stats, signal);
        if (item.kind === 'events' && outcome.body?.next !== undefined) last = outcome.body.next;
        // A refused reader waits a little (less than its Retry-After: the point is pressure).
        if (outcome.class === 'refused') await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async function request(api, kind, path, timeoutMs, stats, signal) {
    const id = ++stats.serial;
    stats.inFlight.set(id, kind);
    const t0 = performance.now();
    const startedAt = Date.now();
    let out = { class: 'error', detail: 'network' };
    try {
      const res = await fetch(`${api}${path}`, { signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), signal]) });
      if (res.status < 400) {
        let bytes = 0;
        let body;
        if (kind === 'events') body = await res.json();
        else for await (const chunk of res.body) bytes += chunk.length;
        out = { class: 'answered', bytes, body };
      } else {
        const text = await res.text();
        if (res.status === 503 && /serve\.readTimeoutMs/.test(text) && !res.headers.get('retry-after')) out = { class: 'timedOut' };
        else if (res.status === 503 && res.headers.get('retry-after')) out = { class: 'refused', detail: /stopping/.test(text) ? 'stopping' : 'busy' };
        else out = { class: 'error', detail: `HTTP ${res.status}: ${text.slice(0, 120)}` };
      }
    } catch (err) {
      const name = err.name === 'TimeoutError' ? 'client timeout' : err.name === 'AbortError' ? 'aborted' : `${err.cause?.code ?? err.name}`;
      out = { class: 'error', detail: name };
    } finally {
      stats.inFlight.delete(id);
    }
    // What SIGTERM cut is counted apart: it is the stop, not the load.
    if (stats.stoppingAt !== null && (out.class === 'error' || out.detail === 'stopping')) out = { class: 'cutByStop', detail: out.detail };
    const k = stats.byKind.get(kind) ?? { answered: 0, refused: 0, timedOut: 0, error: 0, cutByStop: 0, errors: {}, ms: [], startedAt: [] };
    k[out.class]++;
    if (out.class === 'error') k.errors[out.detail] = (k.errors[out.detail] ?? 0) + 1;
    if (out.class === 'answered') k.ms.push(performance.now() - t0);
    k.startedAt.push(startedAt);
    stats.byKind.set(kind, k);
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Figures.

  function summarize(r) {
    const inWindow = (x) => x.t >= r.windowStart && x.t <= r.windowEnd;
    const h = r.probed.healthz.filter(inWindow);
    const hMs = h.filter((x) => x.ok).map((x) => x.ms).sort((a, b) => a - b);
    const failures = h.filter((x) => !x.ok || x.ms > 2000).length;
    r.healthz = { n: h.length, p50: q(hMs, 0.5), p99: q(hMs, 0.99), max: hMs.at(-1) ?? null, failures };
    // The gauges cover the window filling and the one before (60 s each): a sample taken less than
    // 125 s after serve started listening may still hold its start-up.
    const clean = (x) => x.t - r.listenedAt >= 125_000;
    const gauges = r.probed.metrics.filter((x) => !x.error && inWindow(x));
    const statuses = r.probed.status.filter((x) => x.loop && inWindow(x));
    const worst = (xs, k) => (xs.length ? Math.max(...xs.map((x) => x[k])) : null);
    r.loop = {
      samples: gauges.length,
      cleanSamples: gauges.filter(clean).length,
      last: gauges.at(-1) ?? null,
      worstP50: worst(gauges, 'p50Ms'),
      worstP99: worst(gauges, 'p99Ms'),
      worstMax: worst(gauges, 'maxMs'),
      cleanWorstP99: worst(gauges.filter(clean), 'p99Ms'),
      cleanWorstMax: worst(gauges.filter(clean), 'maxMs'),
      statusWorstP99: worst(statuses.map((s) => s.loop), 'p99Ms'),
      statusWorstMax: worst(statuses.map((s) => s.loop), 'maxMs'),
    };
    // Peak RSS of the process tree, per minute of the window, and in its first and last third.
    const rss = r.probed.rss.filter(inWindow);
    const span = r.windowEnd - r.windowStart;
    const peak = (xs) => (xs.length ? Math.max(...xs.map((x) => x.kb)) / 1024 : null);
    r.rssPerMinute = [];
    for (let m = 0; m * 60_000 < span; m++) r.rssPerMinute.push(peak(rss.filter((x) => x.t - r.windowStart >= m * 60_000 && x.t - r.windowStart < (m + 1) * 60_000)));
    // The window ends a moment past its last whole minute: a bucket of no sample says nothing.
    while (r.rssPerMinute.length > 1 && r.rssPerMinute.at(-1) === null) r.rssPerMinute.pop();
    r.rssFirstThird = peak(rss.filter((x) => x.t - r.windowStart < span / 3));
    r.rssLastThird = peak(rss.filter((x) => x.t - r.windowStart >= (2 * span) / 3));
    r.maxProcesses = rss.length ? Math.max(...rss.map((x) => x.processes)) : 0;
    const lags = [...r.lags].sort((a, b) => a - b);
    r.lag = { n: lags.length, median: q(lags, 0.5), p90: q(lags, 0.9), max: lags.at(-1) ?? null };

    log(`/healthz every 250 ms: ${h.length} probes, p50 ${ms(r.healthz.p50)}, p99 ${ms(r.healthz.p99)}, max ${ms(r.healthz.max)}; ${failures} failed (error or > 2 s)`);
    const slow = h.filter((x) => !x.ok || x.ms > 100);
    if (slow.length) note(`slow /healthz probes (> 100 ms), seconds after listen: ${slow.slice(0, 12).map((x) => `${((x.t - r.listenedAt) / 1000).toFixed(1)} s: ${x.ok ? ms(x.ms) : x.error ?? 'failed'}`).join(', ')}${slow.length > 12 ? ', …' : ''}`);
    log(`event-loop delay (serve's gauges, each over the last 1–2 min; ${gauges.length} samples every 5 s): last p50 ${ms(r.loop.last?.p50Ms)} p99 ${ms(r.loop.last?.p99Ms)} max ${ms(r.loop.last?.maxMs)}; worst seen p50 ${ms(r.loop.worstP50)} p99 ${ms(r.loop.worstP99)} max ${ms(r.loop.worstMax)}; past start-up (${r.loop.cleanSamples} samples ≥ 125 s after listen) worst p99 ${ms(r.loop.cleanWorstP99)} max ${ms(r.loop.cleanWorstMax)}; /status reads.eventLoopDelay worst p99 ${ms(r.loop.statusWorstP99)} max ${ms(r.loop.statusWorstMax)}`);
    log(`capture lag (publish → manifest 'new' capturedAt): ${r.lag.n} of ${r.wanted} articles published (${r.published.length - r.wanted} galleries, not articles): median ${sec(r.lag.median)}, p90 ${sec(r.lag.p90)}, max ${sec(r.lag.max)}`);
    log(`peak RSS of serve's process tree per minute: ${r.rssPerMinute.map((x) => mbs(x)).join(', ')}; first third ${mbs(r.rssFirstThird)}, last third ${mbs(r.rssLastThird)}; at most ${r.maxProcesses} processes`);
    if (r.clients) {
      log(`reads (client side, over the window and until SIGTERM):`);
      for (const [kind, k] of [...r.readerStats.byKind.entries()].sort()) {
        const msSorted = [...k.ms].sort((a, b) => a - b);
        const errs = Object.entries(k.errors).map(([d, n]) => `${n} ${d}`).join(', ');
        log(`  ${kind.padEnd(13)} answered ${String(k.answered).padStart(5)} (p50 ${ms(q(msSorted, 0.5))}, p99 ${ms(q(msSorted, 0.99))}), refused ${k.refused}, timed out ${k.timedOut}, errors ${k.error}${errs ? ` (${errs})` : ''}${k.cutByStop ? `; cut by SIGTERM ${k.cutByStop}` : ''}`);
      }
      const s = r.lastStatus?.reads;
      if (s) log(`  serve's /status reads at the end: answered ${s.answered}, refused ${s.refused}, timedOut ${s.timedOut}, hungUp ${s.hungUp}, failed ${s.failed}; index behind ${r.lastStatus.index?.behind ?? '?'}`);
    }
    log(`SIGTERM → exit: ${r.exit ? `${r.exitSeconds.toFixed(2)} s, exit code ${r.exit.code}${r.exit.signal ? ` (signal ${r.exit.signal})` : ''}` : 'did not exit within 30 s (killed)'}${r.clients ? `, with ${r.inFlightAtStop.length} requests in flight (${countKinds(r.inFlightAtStop)})` : ''}; ${r.children.length} child processes before it, ${r.leftAtExit.length} still running at its exit, ${r.leftAfter2s.length} 2 s later${r.leftAfter2s.length ? ` (${r.leftAfter2s.map((p) => `${p.pid} ${p.cmd.slice(0, 80)}`).join('; ')})` : ''}`);
    if (r.warnings.length) note(`serve warned ${r.warnings.length} times in the last of its log, e.g. ${r.warnings.slice(-3).map((l) => l.slice(0, 300)).join(' | ')}`);
  }

  async function report(control, readers, machine) {
    log();
    log('### goals');
    const goals = [
      ['event-loop delay p99 ≤ 50 ms (readers run, worst gauge past start-up; where no sample is, the worst seen)', readers.loop.cleanWorstP99 ?? readers.loop.worstP99, (v) => v !== null && v <= 50, ms],
      ['/healthz p99 ≤ 100 ms (readers run)', readers.healthz.p99, (v) => v !== null && v <= 100, ms],
      ['capture lag median with readers ≤ control + 10 s', readers.lag.median, (v) => v !== null && control.lag.median !== null && v <= control.lag.median + 10, (v) => `${sec(v)} against ${sec(control.lag.median)}`],
      ['SIGTERM to exit ≤ 10 s, exit code 0, no reader process left (readers run)', readers.exitSeconds, (v) => v !== null && v <= 10 && readers.exit?.code === 0 && readers.leftAtExit.length === 0, (v) => `${sec(v)}, code ${readers.exit?.code}, ${readers.leftAtExit.length} left`],
      ['RSS in the last third ≤ 1.2 × the first third (readers run)', readers.rssLastThird, (v) => v !== null && readers.rssFirstThird !== null && v <= 1.2 * readers.rssFirstThird, (v) => `${mbs(v)} against ${mbs(readers.rssFirstThird)} (${((v / readers.rssFirstThird) * 100).toFixed(0)} %)`],
    ];
    const rows = goals.map(([what, v, ok, fmt]) => ({ what, got: fmt(v), met: ok(v) }));
    for (const g of rows) log(`goal: ${g.what}: ${g.got} ${g.met ? 'met' : 'NOT met'}`);

    if (o.write && !smoke) {
      const both = (f) => `${f(control)} | ${f(readers)}`;
      const body = `Produced by \`node bench/pressure.mjs --clients ${o.clients} --minutes ${o.seconds / 60}\` on ${new Date().toISOString().slice(0, 10)}; machine: ${machine}. The machine is shared with other developers' builds and tests; one run, control first.

The store: ${o.articles} articles of big-store.mjs with ${o.history} edits, indexed, and an archived crawl of a mirror (${o.archived} more articles on the last days) in the same folder. Each run: a fresh mirror, \`serve\` on its own copy of that store (feed watch every 2 s, 2 requests/s, no scheduled crawl in the window), ${o.warmup} s warm-up, then ${o.seconds / 60} min with one publication every ${o.publishEvery} s. Readers: ${o.clients} clients in a loop over the heavy reads (searches and counts of every kind, status-page searches, WACZ builds of 1–4 of the crawled days, held \`/events?wait=30\`), each request bounded by a ${o.clientTimeout} s client timeout. Probes in a thread of their own: \`/healthz\` every 250 ms, \`/metrics\` and \`/status\` every 5 s, the RSS of serve and its children every second.

| | control (no readers) | ${o.clients} readers |
|---|---|---|
| event-loop delay, serve's gauges, worst p50 / p99 / max | ${both((r) => `${ms(r.loop.worstP50)} / ${ms(r.loop.worstP99)} / ${ms(r.loop.worstMax)}`)} |
| same, past start-up (samples ≥ 125 s after listen) p99 / max | ${both((r) => `${ms(r.loop.cleanWorstP99)} / ${ms(r.loop.cleanWorstMax)}`)} |
| \`/healthz\` p50 / p99 / max (failed) | ${both((r) => `${ms(r.healthz.p50)} / ${ms(r.healthz.p99)} / ${ms(r.healthz.max)} (${r.healthz.failures})`)} |
| capture lag median / p90 (captured of published) | ${both((r) => `${sec(r.lag.median)} / ${sec(r.lag.p90)} (${r.lag.n}/${r.wanted})`)} |
| peak RSS per minute | ${both((r) => r.rssPerMinute.map(mbs).join(', '))} |
| SIGTERM to exit, code, processes left | ${both((r) => `${sec(r.exitSeconds)}, ${r.exit?.code}, ${r.leftAtExit.length}`)} |

Reads of the readers' run (client side; what SIGTERM cut apart):

| kind | answered | p50 | p99 | refused (503 + Retry-After) | timed out (serve.readTimeoutMs) | errors |
|---|---|---|---|---|---|---|
${[...readers.readerStats.byKind.entries()].sort().map(([kind, k]) => {
  const s = [...k.ms].sort((a, b) => a - b);
  return `| ${kind} | ${k.answered} | ${ms(q(s, 0.5))} | ${ms(q(s, 0.99))} | ${k.refused} | ${k.timedOut} | ${k.error}${Object.keys(k.errors).length ? ` (${Object.entries(k.errors).map(([d, n]) => `${n} ${d}`).join(', ')})` : ''} |`;
}).join('\n')}

| goal | result | met? |
|---|---|---|
${rows.map((g) => `| ${g.what} | ${g.got} | ${g.met ? 'yes' : '**no**'} |`).join('\n')}

\`\`\`
${lines.join('\n')}
\`\`\``;
      await writeSectionFile(body);
    } else if (o.write) process.stdout.write('--write is ignored with --smoke\n');
  }

  async function writeSectionFile(body) {
    const { writeSection } = await import('./results.mjs');
    writeSection(join(here, 'RESULTS.md'), '## serve under pressure (`node bench/pressure.mjs`)', body);
    process.stdout.write('wrote its section of bench/RESULTS.md\n');
  }
}

/** The kinds of read that run in serve's reader processes (the exports have their own way). */
const IN_READERS = new Set(['search', 'search/count', 'articles?q']);

function q(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] : null;
}
function ms(v) {
  return v === null || v === undefined || Number.isNaN(v) ? '–' : `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`;
}
function sec(v) {
  return v === null || v === undefined ? '–' : `${v.toFixed(1)} s`;
}
function mbs(v) {
  return v === null || v === undefined ? '–' : `${v.toFixed(0)} MB`;
}
function countKinds(kinds) {
  const c = {};
  for (const k of kinds) c[k] = (c[k] ?? 0) + 1;
  return Object.entries(c).map(([k, n]) => `${n} ${k}`).join(', ') || 'none';
}

/** The bytes of a file from `offset` on. */
function readFrom(path, offset) {
  const size = statSync(path).size;
  if (size <= offset) return '';
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * A copy of a storage folder. Snapshot and history files are hard links: the storage never
 * writes one in place (a new version is a new file renamed into place), so neither copy can
 * change the other's. State, index, manifest (appended to) and WARC files are copied.
 */
function copyTree(from, to) {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const linked = name === 'snapshots' || name === 'history';
    const res = spawnSync('cp', [linked ? '-al' : '-a', join(from, name), join(to, name)], { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`cp ${join(from, name)} ${to} failed: ${res.stderr}`);
  }
}

if (isMainThread) await main();
else await probes(workerData);
