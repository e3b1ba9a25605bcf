// Time from SIGTERM to exit while renders are in flight, and browser processes left after it.
// Usage: node bench/shutdown.mjs [--trials N] [--cli PATH]
// Each trial: a mirror whose article pages answer only after 5 s (so renders are surely in
// flight), `crawl --render always` or `serve --render always` with a scheduled crawl, SIGTERM
// once the browser is up and has asked for pages, then the exit code, the time to exit, and the
// browser processes of that newsnap still alive 0 ms and 500 ms after the exit.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cliArg = process.argv.indexOf('--cli');
// --cli PATH measures another build (an older commit's dist/cli/main.js) with this harness.
const cli = cliArg > 0 ? process.argv[cliArg + 1] : join(root, 'dist/cli/main.js');
const { MirrorServer } = await import(join(root, 'dist/mirror/index.js'));
const { articlePath } = await import(join(root, 'dist/mirror/site-model.js'));
const { ownedBrowserProcesses } = await import(join(root, 'dist/fetch/browser-processes.js'));
const args = process.argv.slice(2);
const trialsAt = args.indexOf('--trials');
const trials = trialsAt >= 0 ? Number(args[trialsAt + 1]) : 3;
if (!(trials >= 1)) throw new Error(`--trials ${args[trialsAt + 1]} is not a number of trials`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function trial(command) {
  const mirror = new MirrorServer({ articles: 24, days: 2, lastDay: '20251215', crawlDelay: 0 });
  for (const a of mirror.all()) mirror.addFault({ path: articlePath(a), kind: 'slow', delayMs: 5000 });
  const origin = await mirror.listen();
  const storage = mkdtempSync(join(os.tmpdir(), 'newsnap-shutdown-'));
  const cmd =
    command === 'crawl'
      ? ['crawl', '--since', '20251214', '--origin', origin, '--storage', storage, '--rate', '0', '--render', 'always', '--log-level', 'error']
      : ['serve', '--schedule', '* * * * * *', '--origin', origin, '--storage', storage, '--rate', '0', '--log-level', 'error'];
  const child = spawn(process.execPath, [cli, ...cmd], {
    cwd: join(dirname(cli), '..', '..'),
    stdio: 'ignore',
    env: { ...process.env, NEWSNAP_NOW: '2025-12-15T12:00:00Z', NEWSNAP_RENDER_POLICY: 'always', NEWSNAP_SERVE_PORT: '0' },
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const groups = new Set();
  for (let i = 0; i < 400; i++) {
    const seen = ownedBrowserProcesses(child.pid, groups);
    for (const g of seen.groups) groups.add(g);
    if (seen.pids.length > 0 && mirror.log.filter((r) => /\.html$/.test(r.path)).length >= 2) break;
    await sleep(50);
  }
  const before = ownedBrowserProcesses(child.pid, groups).pids.length;
  const t0 = performance.now();
  child.kill('SIGTERM');
  const code = await Promise.race([exited, sleep(120_000).then(() => 'still running after 120 s')]);
  const ms = performance.now() - t0;
  const leftAtExit = ownedBrowserProcesses(child.pid, groups).pids.length;
  await sleep(500);
  const leftLater = ownedBrowserProcesses(child.pid, groups).pids.length;
  if (child.exitCode === null) child.kill('SIGKILL');
  const { pids } = ownedBrowserProcesses(child.pid, groups);
  for (const p of pids) process.kill(p, 'SIGKILL');
  await mirror.close();
  return { command, code, ms, before, leftAtExit, leftLater };
}

const cpu = os.cpus();
process.stdout.write(`machine: ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n`);
for (const command of ['crawl', 'serve']) {
  const rows = [];
  for (let i = 0; i < trials; i++) {
    const r = await trial(command);
    rows.push(r);
    process.stdout.write(`${command} trial ${i + 1}: exit ${r.code} after ${(r.ms / 1000).toFixed(2)} s; browser processes: ${r.before} at SIGTERM, ${r.leftAtExit} at exit, ${r.leftLater} 0.5 s later\n`);
  }
  const times = rows.map((r) => r.ms).sort((a, b) => a - b);
  process.stdout.write(`${command}: SIGTERM to exit median ${(times[Math.floor(times.length / 2)] / 1000).toFixed(2)} s, max ${(times.at(-1) / 1000).toFixed(2)} s; processes left at exit: max ${Math.max(...rows.map((r) => r.leftAtExit))}\n`);
}
