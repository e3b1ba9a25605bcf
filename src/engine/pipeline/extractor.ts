import type { PageSource } from '../../fetch/page-fetcher.js';
import { threadPool } from '../../threads/thread-pool.js';
import type { SiteProfile } from '../../site/profile.js';
import type { ExtractTask } from './extract-worker.js';
import { extractPage, type ExtractedPage } from './page-extraction.js';

/** Where a page is decoded and its article extracted: on the calling thread, or on a worker thread. */
export interface Extractor {
  extract(source: PageSource, url: string | null): Promise<ExtractedPage>;
  close(): Promise<void>;
}

/** On this thread: for a command that fetches a page or two. */
export function localExtractor(profile: SiteProfile): Extractor {
  return {
    extract: async (source, url) => extractPage(source, url, profile),
    close: async () => undefined,
  };
}

/**
 * On worker threads: a crawl's thread fetches, archives and writes while the pages it already has
 * are parsed beside it. Extraction is a third of a page's CPU time, the one part with no I/O.
 */
export function threadedExtractor(profile: SiteProfile, threads: number): Extractor {
  const pool = threadPool<ExtractTask, ExtractedPage>(new URL('./extract-worker.js', import.meta.url), {
    threads,
    workerData: { profile },
    // A worker holds its next page while it parses one: no idle round trip between two.
    concurrentTasksPerWorker: 2,
    idleTimeoutMs: 1000,
  });
  return {
    // The bytes go as they are (a copy: the archive may still be compressing them), decoded there.
    extract: (source, url) => pool.run({ source, url }),
    close: () => pool.destroy(),
  };
}
