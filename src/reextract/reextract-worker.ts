import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workerData } from 'node:worker_threads';
import type { Article } from '../extract/article.js';
import type { WarcLocation } from '../fetch/exchange.js';
import type { SiteProfile } from '../site/profile.js';
import { formatSnapshot } from '../snapshot/format.js';
import { extractArchived } from './archived-article.js';

/** Given once to each worker: where storage is, and the site profile of the current config. */
export interface ReextractWorkerData {
  root: string;
  profile: SiteProfile;
}

export interface ReextractTask {
  at: WarcLocation;
  /** The sha256 of the article's current snapshot: the same bytes again need no reply but "unchanged". */
  sha256: string | null;
  /** Where that snapshot is: if its file is gone or damaged, the same bytes come back to be written again. */
  path: string | null;
}

export type ReextractResult =
  | { ok: true; url: string; article: Article; text: string }
  | { ok: false; unreadable: string }
  | { ok: true; url: string; unchanged: true }
  | { ok: true; url: string; lost: true; text: string }
  | { ok: false; url: string; reason: string; message: string };

const { root, profile } = workerData as ReextractWorkerData;

/**
 * A batch of archived pages, one after the other: a message each way per batch, not per page
 * (with one per page, the round trips cost two workers a tenth of their time).
 */
export default function reextractBatch(tasks: ReextractTask[]): ReextractResult[] {
  const results: ReextractResult[] = [];
  for (const task of tasks) {
    try {
      results.push(reextract(task));
    } catch (err) {
      results.push({ ok: false, unreadable: (err as Error).message });
    }
  }
  return results;
}

/** One archived page through the crawl's own decode → extract (extractArchived) → format, in a worker thread. */
function reextract(task: ReextractTask): ReextractResult {
  const page = extractArchived(root, task.at, profile);
  const { extraction } = page;
  if (!extraction.ok) return { ok: false, url: page.url, reason: extraction.reason, message: extraction.message };
  const text = formatSnapshot(extraction.article);
  // Most pages give the bytes already stored: saying so spares the main thread (the pool's
  // bottleneck on two cores) a hash and the copy of the article.
  if (task.sha256 && sha256(text) === task.sha256) {
    return task.path && !fileHolds(join(root, task.path), task.sha256) ? { ok: true, url: page.url, lost: true, text } : { ok: true, url: page.url, unchanged: true };
  }
  return { ok: true, url: page.url, article: extraction.article, text };
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The file is there with exactly these bytes (a snapshot of a few KB: cheap to check). */
function fileHolds(path: string, expected: string): boolean {
  try {
    return sha256(readFileSync(path)) === expected;
  } catch {
    return false;
  }
}
