// The entry of every ChildPool process: loads the task module named in argv[2], then runs one task
// at a time as the parent sends them. It exits when the parent goes (the IPC channel closes), so
// no child outlives serve, even one that was killed with -9.
import type { ChildMessage, ParentMessage, TaskError, TaskHandler, TaskOutput } from './child-protocol.js';

const [moduleHref, dataJson] = process.argv.slice(2);
const data: unknown = JSON.parse(dataJson ?? 'null');
const handler: Promise<TaskHandler> = import(moduleHref!).then((m: { default: TaskHandler }) => m.default);
const acks = new Map<number, () => void>();

process.on('disconnect', () => process.exit(0));

process.on('message', (m: ParentMessage) => {
  if (m.type === 'ack') {
    acks.get(m.id)?.();
    return;
  }
  void runTask(m.id, m.task);
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
