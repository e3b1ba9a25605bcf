// The outage of issue 16, measured: a mirror of 40 articles, `crawl --max 5`, the mirror stopped,
// 6 crawls against the dead origin, the mirror back, one crawl. Prints, for each outage run, its
// exit code, the requests it sent (from its summary) and its wall time; then what the last run
// captured and how many articles state still holds as failed.
// Usage: node bench/outage.mjs [--cli OLD/dist/cli/main.js] [--runs 6]   (npm run build first)
import { flags } from './flags.mjs';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = flags(args).text;
const cli = flag('cli', join(root, 'dist/cli/main.js'));
const mirrorCli = join(root, 'dist/cli/main.js');
const runs = Number(flag('runs', 6));
const storage = mkdtempSync(join(os.tmpdir(), 'newsnap-outage-'));
const port = 20000 + Math.floor(Math.random() * 20000);
const origin = `http://127.0.0.1:${port}`;
const env = { ...process.env, NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_LOG_LEVEL: 'error' };

function startMirror() {
  const child = spawn(process.execPath, [mirrorCli, 'mirror', '--port', String(port), '--articles', '40', '--days', '3', '--crawl-delay', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (c) => {
      buf += c;
      if (buf.includes('listening on')) resolve(child);
    });
    child.on('exit', () => reject(new Error(`mirror exited: ${buf}`)));
  });
}

function crawl(extra = []) {
  const started = performance.now();
  // From its own project folder: an older build must not read this one's config/newsnap.json.
  const res = spawnSync(process.execPath, [cli, 'crawl', '--origin', origin, '--storage', storage, '--rate', '0', ...extra], { encoding: 'utf8', env, cwd: join(dirname(cli), '..', '..') });
  const seconds = (performance.now() - started) / 1000;
  const requests = Number(/^requests: (\d+)/m.exec(res.stdout)?.[1] ?? NaN);
  return { code: res.status, seconds, requests, stdout: res.stdout };
}

function failedInState() {
  const out = spawnSync('sqlite3', [join(storage, 'state.sqlite'), "SELECT state, COUNT(*), MAX(attempts) FROM articles GROUP BY state"], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim().replace(/\n/g, '; ') : '(sqlite3 not installed)';
}

console.log(`# outage: ${cli}\nmachine: ${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}`);
let mirror = await startMirror();
const first = crawl(['--max', '5']);
console.log(`before the outage: crawl --max 5 exit ${first.code}, ${first.requests} requests`);
mirror.kill();
await new Promise((r) => mirror.on('exit', r));
const rows = [];
for (let i = 0; i < runs; i++) {
  const r = crawl();
  rows.push(r);
  const lines = r.stdout.split('\n');
  const line = lines.find((l) => l.startsWith('UNREACHABLE')) ?? lines.find((l) => l.startsWith('robots.txt')) ?? lines[0];
  console.log(`outage run ${i + 1}: exit ${r.code}, ${r.requests} requests, ${r.seconds.toFixed(2)} s — ${line}`);
}
const total = rows.reduce((a, r) => ({ requests: a.requests + r.requests, seconds: a.seconds + r.seconds }), { requests: 0, seconds: 0 });
console.log(`outage runs: ${total.requests} requests, ${total.seconds.toFixed(1)} s in all; per run ${(total.requests / runs).toFixed(1)} requests, ${(total.seconds / runs).toFixed(2)} s`);
console.log(`state after the outage: ${failedInState()}`);
mirror = await startMirror();
const last = crawl();
console.log(`back: exit ${last.code}, ${last.requests} requests — ${last.stdout.split('\n')[0]}`);
console.log(`state at the end: ${failedInState()}`);
mirror.kill();
rmSync(storage, { recursive: true, force: true });
