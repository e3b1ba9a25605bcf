import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import type { ArticleRecord, ArticleStore, EventRecord } from './state/state-store.js';

/** One entry of an article's history: a version, or its removal. */
export type ArticleVersion = Omit<EventRecord, 'offset' | 'id'>;

export interface ArticleHistory {
  article: ArticleRecord;
  versions: ArticleVersion[];
}

/** An article's versions and removals, oldest first; null when storage does not know the id. */
export function articleHistory(state: { articles: ArticleStore }, id: string): ArticleHistory | null {
  const article = state.articles.get(id);
  if (!article) return null;
  return { article, versions: state.articles.events(id).map(({ offset: _offset, id: _id, ...version }) => version) };
}

/** A unified diff from one version to the next (jsdiff), or null when either has no bytes on disk. */
export interface VersionDiff {
  from: ArticleVersion;
  to: ArticleVersion;
  patch: string;
}

/**
 * Diffs between consecutive versions with different bytes (removals are skipped: they have
 * no bytes of their own), read from the snapshot and history files under `root`.
 */
export async function versionDiffs(root: string, versions: readonly ArticleVersion[]): Promise<VersionDiff[]> {
  const withBytes = versions.filter((v) => v.event !== 'gone' && v.path && v.sha256);
  const out: VersionDiff[] = [];
  for (let i = 1; i < withBytes.length; i++) {
    const from = withBytes[i - 1] as ArticleVersion;
    const to = withBytes[i] as ArticleVersion;
    if (from.sha256 === to.sha256) continue;
    const [a, b] = await Promise.all([readText(root, from.path as string), readText(root, to.path as string)]);
    if (a === null || b === null) continue;
    out.push({ from, to, patch: createTwoFilesPatch(from.path as string, to.path as string, a, b, from.at, to.at) });
  }
  return out;
}

function readText(root: string, rel: string): Promise<string | null> {
  return readFile(join(root, rel), 'utf8').catch(() => null);
}
