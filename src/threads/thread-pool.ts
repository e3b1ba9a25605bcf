import { Piscina } from 'piscina';

export interface ThreadPoolOptions {
  threads: number;
  /** Given to every worker (`workerData` of node:worker_threads). */
  workerData?: Record<string, unknown>;
  /** Tasks a worker holds at once: with 2 it has its next task while it works on one. */
  concurrentTasksPerWorker?: number;
  /**
   * Threads start with the first task and end after this long without one (a command or a service
   * that extracts nothing never starts them); without it they start at once and stay.
   */
  idleTimeoutMs?: number;
}

/**
 * A pool of worker threads, each running `module`: an ES module whose default export handles one
 * task. The workers load it through a CommonJS door (worker-entry.cts) with import(), because
 * piscina loads a worker's file with require() first, which on Node 20.19 and later loads an ES
 * module synchronously, and a pool destroyed while a worker is still inside that load aborts the
 * whole process (V8's fatal "IsGraphAsync must be used on an instantiated module"): a crawl with
 * nothing to do, or a SIGTERM during start-up, would crash instead of ending.
 */
export function threadPool<Task, Result>(module: URL, o: ThreadPoolOptions): Piscina<Task, Result> {
  return new Piscina<Task, Result>({
    filename: new URL('./worker-entry.cjs', import.meta.url).href,
    workerData: { ...o.workerData, workerModule: module.href },
    minThreads: o.idleTimeoutMs === undefined ? o.threads : 0,
    maxThreads: o.threads,
    ...(o.concurrentTasksPerWorker ? { concurrentTasksPerWorker: o.concurrentTasksPerWorker } : {}),
    ...(o.idleTimeoutMs === undefined ? {} : { idleTimeout: o.idleTimeoutMs }),
  });
}
