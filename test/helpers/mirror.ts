import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expectedSnapshot, type LoggedRequest, type MirrorArticle } from '../../src/mirror/index.js';
import { listFiles } from './storage.js';

export const ARTICLE_PATH = /^\/\d{8}\/[^/]+-\d{10}\.html/;

export function articleRequests(log: readonly LoggedRequest[]): LoggedRequest[] {
  return log.filter((r) => ARTICLE_PATH.test(r.path));
}

/** The most requests that arrived in any window of `windowMs`. */
export function maxInWindow(log: readonly LoggedRequest[], windowMs = 1000): number {
  const t = log.map((r) => r.t).sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < t.length; end++) {
    while ((t[end] as number) - (t[start] as number) >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

export function snapshotPath(a: MirrorArticle): string {
  return `snapshots/${a.day.slice(0, 4)}-${a.day.slice(4, 6)}-${a.day.slice(6, 8)}/${a.id}.txt`;
}

/** Checks a storage folder holds exactly the mirror's expected snapshots; returns the problems. */
export async function compareWithMirror(storage: string, articles: readonly MirrorArticle[]): Promise<string[]> {
  const problems: string[] = [];
  const expected = new Map<string, string>();
  for (const a of articles) {
    const text = expectedSnapshot(a);
    if (text !== null) expected.set(snapshotPath(a), text);
  }
  const files = (await listFiles(join(storage, 'snapshots'))).map((f) => `snapshots/${f}`);
  for (const f of files) if (!expected.has(f)) problems.push(`unexpected file ${f}`);
  for (const [path, text] of expected) {
    const got = await readFile(join(storage, path), 'utf8').catch(() => null);
    if (got === null) problems.push(`missing ${path}`);
    else if (got !== text) problems.push(`wrong bytes in ${path}`);
  }
  return problems;
}
