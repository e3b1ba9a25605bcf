import { availableParallelism } from 'node:os';

/** How a process shares the machine's cores between the engine, extraction and the readers. */
export interface CpuPlan {
  /** Extraction threads (piscina): every core but the engine's own. */
  extractionThreads: number;
  /** Added to the niceness of reader and export processes. */
  readerNice: number;
}

/**
 * One plan for all of them, so that 2 cores are not oversubscribed: the engine's thread and the
 * extraction threads take the cores at normal priority (cores − 1 threads beside the engine), and
 * the reader processes of serve (serve.maxHeavyReads of them, and one export build) run 10 nice
 * steps lower, so that however many readers are busy they get only what the crawl leaves idle.
 */
export function cpuPlan(cores = availableParallelism()): CpuPlan {
  return { extractionThreads: Math.max(1, cores - 1), readerNice: 10 };
}
