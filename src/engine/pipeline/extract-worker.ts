import { workerData } from 'node:worker_threads';
import type { SiteProfile } from '../../site/profile.js';
import { extractPage, type ExtractedPage } from './page-extraction.js';
import type { PageSource } from '../../fetch/page-fetcher.js';

/** One page's markup (or its bytes) and its URL, for the crawl's extraction thread. */
export interface ExtractTask {
  source: PageSource;
  url: string | null;
}

const profile = (workerData as { profile: SiteProfile }).profile;

/** The crawl's decode and extraction, in a worker thread: pure, so it moves off the thread that fetches and writes. */
export default function extract(task: ExtractTask): ExtractedPage {
  return extractPage(task.source, task.url, profile);
}
