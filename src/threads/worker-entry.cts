// The CommonJS door every newsnap worker thread comes in through (see thread-pool.ts): piscina
// require()s this file, and it loads the real worker, an ES module, with import().
import { workerData } from 'node:worker_threads';

type Handler = (task: unknown) => unknown;
let handler: Promise<Handler> | null = null;

export = async function runTask(task: unknown): Promise<unknown> {
  handler ??= import((workerData as { workerModule: string }).workerModule).then((m: { default: Handler }) => m.default);
  return (await handler)(task);
};
