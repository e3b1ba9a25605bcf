// Delivery, measured: (1) the time from a manifest line to its webhook arriving at a receiver on
// 127.0.0.1; (2) how soon a held GET /events?wait= answers after a line is written; (3) a crawl
// with three dead webhook endpoints against one with none, alternating rounds, whole processes.
// Usage: node bench/delivery.mjs [--events 100] [--rounds 3] [--articles 1000]   (npm run build first)
import { flags } from './flags.mjs';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const { Webhook } = require('standardwebhooks');
const cli = join(root, 'dist/cli/main.js');
const args = process.argv.slice(2);
const flag = flags(args).number;
const events = flag('events', 100);
const rounds = flag('rounds', 3);
const articles = flag('articles', 1000);
const work = mkdtempSync(join(os.tmpdir(), 'newsnap-delivery-'));
const env = { ...process.env, NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_LOG_LEVEL: 'error' };
const log = (line) => process.stdout.write(`${line}\n`);
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))];
  return `median ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms, worst ${s.at(-1).toFixed(1)} ms (n=${s.length})`;
};

function start(cmd, extra = {}) {
  const child = spawn(process.execPath, [cli, ...cmd], { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (c) => {
      buf += c;
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(buf) ?? /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(buf);
      if (m) resolve({ child, url: m[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => reject(new Error(`${cmd[0]} exited: ${buf.slice(-2000)}`)));
  });
}

/**
 * The last line of the manifest and when it was written: the file's mtime, set by the kernel at
 * the write (the same wall clock as Date.now()). Events here come one at a time, so the last line
 * is the one just written.
 */
function lastLine(storage) {
  const path = join(storage, 'manifest.jsonl');
  if (!existsSync(path)) return { seq: 0, writtenAt: 0 };
  const { mtimeMs } = statSync(path);
  const text = readFileSync(path, 'utf8').trimEnd();
  return { seq: JSON.parse(text.slice(text.lastIndexOf('\n') + 1)).seq, writtenAt: mtimeMs };
}

log(`# delivery benchmark\nmachine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);

// 1 and 2: a serve with one webhook; events made one at a time by POST /fetch.
{
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const wh = new Webhook(secret);
  const arrived = new Map();
  let invalid = 0;
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const t = Date.now();
      try {
        wh.verify(body, req.headers);
      } catch {
        invalid++;
      }
      const seq = Number(/_(\d+)$/.exec(String(req.headers['webhook-id']))?.[1]);
      if (!arrived.has(seq)) arrived.set(seq, t);
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${receiver.address().port}/hook`;
  const mirror = await start(['mirror', '--port', '0', '--articles', String(events + 10), '--days', '3', '--crawl-delay', '0']);
  const storage = join(work, 'serve');
  const served = await start(['serve', '--origin', mirror.url, '--storage', storage, '--schedule', '0 0 1 1 *', '--rate', '0'], {
    NEWSNAP_SERVE_PORT: '0',
    NEWSNAP_LOG_LEVEL: 'info',
    // Every line must come from this loop's POST /fetch: no feed watch capturing articles meanwhile.
    NEWSNAP_DISCOVERY_FEED_EVERY: 'off',
    NEWSNAP_DELIVERY_WEBHOOKS: JSON.stringify([{ url: hook, secret }]),
  });
  const written = new Map();
  const listing = spawnSync(process.execPath, [cli, 'crawl', '--dry-run', '--since', new Date(Date.now() - 5 * 86400_000).toISOString().slice(0, 10), '--origin', mirror.url, '--storage', join(work, 'list'), '--rate', '0'], { encoding: 'utf8', env });
  const urls = listing.stdout.split('\n').filter((l) => l.startsWith('https://'));
  const wakes = [];
  let lastSeq = 0;
  for (const [i, url] of urls.slice(0, events).entries()) {
    // Every 5th event: a long poll held open first, its answer timed against the line's write.
    const held = i % 5 === 0 ? fetch(`${served.url}/events?after=${lastSeq}&wait=30`).then(() => Date.now()) : null;
    if (held) await new Promise((r) => setTimeout(r, 20));
    await fetch(`${served.url}/fetch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url }) });
    const line = lastLine(storage);
    // A page that is no article writes no line: nothing to time (a held request waits on).
    if (line.seq === lastSeq) {
      if (held) await held;
      continue;
    }
    lastSeq = line.seq;
    written.set(line.seq, line.writtenAt);
    if (held) wakes.push({ seq: line.seq, answered: await held });
    // Spaced out, so each line's mtime is its own and each delivery its own.
    await new Promise((r) => setTimeout(r, 30));
  }
  const deadline = Date.now() + 30_000;
  while (arrived.size < written.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const latencies = [...written].filter(([seq]) => arrived.has(seq)).map(([seq, t]) => arrived.get(seq) - t);
  log(`webhook: manifest line written → webhook arrived at a receiver on 127.0.0.1: ${stats(latencies)}; ${arrived.size} of ${written.size} events arrived, ${invalid} invalid signatures`);
  const wakeups = wakes.map((w) => w.answered - written.get(w.seq));
  log(`/events?wait=30: manifest line written → held request answered: ${stats(wakeups)}`);
  served.child.kill('SIGTERM');
  mirror.child.kill('SIGTERM');
  receiver.close();
}

// 3: crawls with three dead endpoints (nothing listens: connection refused) and with none.
{
  const mirror = await start(['mirror', '--port', '0', '--articles', String(articles), '--days', '20', '--crawl-delay', '0']);
  const dead = JSON.stringify([1, 2, 3].map((port) => ({ url: `http://127.0.0.1:${port}/hook`, secret: `whsec_${randomBytes(32).toString('base64')}` })));
  const since = new Date(Date.now() - 25 * 86400_000).toISOString().slice(0, 10);
  const rows = { none: [], dead: [] };
  for (let round = 0; round < rounds; round++) {
    for (const kind of round % 2 === 0 ? ['none', 'dead'] : ['dead', 'none']) {
      const storage = join(work, `crawl-${kind}-${round}`);
      const t = performance.now();
      const res = spawnSync(process.execPath, [cli, 'crawl', '--since', since, '--origin', mirror.url, '--storage', storage, '--rate', '0', '--concurrency', '16'], {
        encoding: 'utf8',
        env: { ...env, ...(kind === 'dead' ? { NEWSNAP_DELIVERY_WEBHOOKS: dead } : {}) },
      });
      const wall = (performance.now() - t) / 1000;
      if (res.status !== 0) throw new Error(`crawl ${kind} exited ${res.status}: ${res.stderr.slice(-2000)}`);
      const pages = Number(/: (\d+) discovered/.exec(res.stdout)?.[1]);
      rows[kind].push(pages / wall);
      log(`round ${round + 1} ${kind === 'dead' ? 'three dead endpoints' : 'no webhook          '}: ${(pages / wall).toFixed(1)} pages/s (${wall.toFixed(2)} s, whole process)`);
      rmSync(storage, { recursive: true, force: true });
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  log(`crawl with three dead webhook endpoints / with none: ×${(median(rows.dead) / median(rows.none)).toFixed(3)} pages/s (medians of ${rounds})`);
  mirror.child.kill('SIGTERM');
}
rmSync(work, { recursive: true, force: true });
process.exit(0);
