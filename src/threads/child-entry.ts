// The entry of every ChildPool process: loads the task module named in argv[2], then runs one task
// at a time as the parent sends them. It exits when the parent goes (the IPC channel closes), so
// no child outlives serve, even one that was killed with -9.
import { Worker } from 'node:worker_threads';
import type { ChildMessage, ParentMessage, TaskError, TaskHandler, TaskOutput } from './child-protocol.js';

const [moduleHref, dataJson] = process.argv.slice(2);
const data: unknown = JSON.parse(dataJson ?? 'null');
const handler: Promise<TaskHandler> = import(moduleHref!).then((m: { default: TaskHandler }) => m.default);
const acks = new Map<number, () => void>();

process.on('disconnect', () => process.exit(0));

// A task inside one SQLite statement blocks this thread, and with it the 'disconnect' above: a
// watchdog thread of its own kills the process when the parent is gone (kill -9 of serve) or the
// task is well past the deadline the parent would have killed it at. (The wall clock on both
// sides, clock.ts's wallClockMs: a pinned NEWSNAP_NOW must not stop a deadline.)
const deadline = new Float64Array(new SharedArrayBuffer(8));
const GRACE_MS = 5000;
const watchdog = new Worker(
  `const { workerData } = require('node:worker_threads');
   const deadline = new Float64Array(workerData.deadline);
   setInterval(() => {
     const due = deadline[0];
     if (process.ppid !== workerData.parent || (due > 0 && Date.now() > due + workerData.grace)) process.kill(workerData.self, 'SIGKILL');
   }, 500);`,
  { eval: true, workerData: { deadline: deadline.buffer, parent: process.ppid, self: process.pid, grace: GRACE_MS } },
);
watchdog.unref();

process.on('message', (m: ParentMessage) => {
  if (m.type === 'ack') {
    acks.get(m.id)?.();
    return;
  }
  deadline[0] = m.deadline ?? 0;
  void runTask(m.id, m.task).finally(() => (deadline[0] = 0));
});

async function runTask(id: number, task: unknown): Promise<void> {
  const output: TaskOutput = {
    write: (chunk) =>
      new Promise<void>((resolve) => {
        acks.set(id, resolve);
        send({ type: 'chunk', id, chunk: typeof chunk === 'string' ? Buffer.from(chunk) : chunk });
      }),
  };
  try {
    const result = await (await handler)(task, output, data);
    send({ type: 'done', id, result });
  } catch (err) {
    send({ type: 'error', id, error: asTaskError(err) });
  } finally {
    acks.delete(id);
  }
}

function send(m: ChildMessage): void {
  if (process.connected) process.send!(m);
}

function asTaskError(err: unknown): TaskError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), details: {} };
  const details: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) details[k] = v;
  return { name: err.name, message: err.message, details };
}
