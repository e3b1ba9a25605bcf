import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isAlive as alive } from './helpers/processes.js';
import { tempDir } from './helpers/storage.js';

// The built module: its children start dist/threads/child-entry.js, beside it.
const { ChildPool, TaskAborted, TaskFailed, TaskTimedOut } = (await import(new URL('../dist/threads/child-pool.js', import.meta.url).href)) as typeof import('../src/threads/child-pool.js');
type ChildPool<T, R> = import('../src/threads/child-pool.js').ChildPool<T, R>;

// A task module as a reader's would be: it may block its whole thread (as one SQLite statement
// does), stream chunks, or throw an error with fields of its own.
const TASK = `
export default async function (task, output) {
  if (task.block) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600000);
  for (let i = 0; i < (task.chunks ?? 0); i++) await output.write('chunk ' + i + '\\n');
  if (task.fail) { const e = new Error('bad query'); e.name = 'QueryError'; e.position = 7; throw e; }
  return { echo: task.value, pid: process.pid };
}`;

async function pool(size: number): Promise<ChildPool<Record<string, unknown>, { echo: unknown; pid: number }>> {
  const dir = await tempDir();
  const module = join(dir, 'task.mjs');
  await writeFile(module, TASK);
  return new ChildPool({ module: pathToFileURL(module), size });
}


describe('child pool', () => {
  it('runs tasks in a reused process, streams chunks in order, and carries an error with its fields', async () => {
    const p = await pool(1);
    const a = await p.run({ value: 1 });
    const chunks: string[] = [];
    const b = await p.run({ value: 2, chunks: 3 }, { onChunk: (c) => void chunks.push(Buffer.from(c).toString()) });
    expect(a.echo).toBe(1);
    expect(b).toEqual({ echo: 2, pid: a.pid });
    expect(chunks).toEqual(['chunk 0\n', 'chunk 1\n', 'chunk 2\n']);
    const err = await p.run({ fail: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskFailed);
    expect(err).toMatchObject({ remote: 'QueryError', message: 'bad query', details: { position: 7 } });
    await p.close();
    expect(alive(a.pid)).toBe(false);
  });

  it('kills a task blocked inside its thread at its time limit, on abort, and at close; the next task gets a new process', async () => {
    const p = await pool(2);
    const first = await p.run({ value: 'warm' });
    const timedOut = await p.run({ block: true }, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(TaskTimedOut);
    const controller = new AbortController();
    const aborted = p.run({ block: true }, { signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    expect(await aborted).toBeInstanceOf(TaskAborted);
    const after = await p.run({ value: 'again' });
    expect(after.echo).toBe('again');
    const held = p.run({ block: true }).catch((e: unknown) => e);
    const pids = p.pids;
    expect(pids.length).toBeGreaterThan(0);
    await p.close();
    expect(await held).toBeInstanceOf(TaskAborted);
    expect([first.pid, ...pids].filter(alive)).toEqual([]);
    expect(await p.run({ value: 'closed' }).catch((e: unknown) => e)).toBeInstanceOf(TaskAborted);
  });
});
