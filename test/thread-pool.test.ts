import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const distPool = fileURLToPath(new URL('../dist/threads/thread-pool.js', import.meta.url));
const distWorker = new URL('../dist/engine/pipeline/extract-worker.js', import.meta.url).href;

// A pool destroyed while its worker is still loading its module (a crawl with nothing to do, a
// SIGTERM during start-up) used to abort the whole process from inside V8, now and then. This
// destroys 150 pools at seeded moments across their workers' start-up, in a process of its own.
it('pools destroyed at any moment of their workers start-up never abort the process', async () => {
  const script = `
    const { threadPool } = await import(${JSON.stringify(distPool)});
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let i = 0; i < 150; i++) {
      const pool = threadPool(new URL(${JSON.stringify(distWorker)}), { threads: 1, workerData: { profile: {} } });
      await new Promise((r) => setTimeout(r, rnd() * 150));
      await pool.destroy();
    }
    process.stdout.write('all destroyed');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('close', (c, s) => r([c, s])));
  expect({ code, signal, err: err.slice(0, 300) }).toEqual({ code: 0, signal: null, err: '' });
  expect(out).toBe('all destroyed');
}, 120_000);
