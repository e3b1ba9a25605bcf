import { articleHistory, versionDiffs, type ArticleVersion } from '../storage/article-history.js';
import { ReadOnlyStorage } from '../storage/read-only.js';
import type { Context } from './context.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { requireExistingStorage } from './command-flags.js';
import { UsageError } from './usage-error.js';

/**
 * `newsnap history ID`: an article's versions (and removals) as the storage folder holds them.
 * It only reads, without the lock, so it works beside a running crawl or serve.
 */
export async function historyCommand(ctx: Context, id: string, flags: { diff?: boolean; json?: boolean }): Promise<ExitCodeValue> {
  if (!/^\d{1,20}$/.test(id)) throw new UsageError(`${id} is not an article id (the number at the end of its URL, e.g. 1102014239)`);
  const storage = ctx.config.storage;
  requireExistingStorage(storage);
  const store = new ReadOnlyStorage(storage);
  let found;
  try {
    found = articleHistory(store.state, id);
  } catch (err) {
    throw new UsageError(`cannot read the history in ${storage}: ${(err as Error).message}`);
  } finally {
    store.close();
  }
  if (!found) {
    process.stderr.write(`newsnap: no article ${id} in ${storage}\n`);
    return ExitCode.FAILED;
  }
  const diffs = flags.diff ? await versionDiffs(storage, found.versions) : [];
  if (flags.json) {
    const diffTo = new Map(diffs.map((d) => [d.to, d.patch]));
    const versions = found.versions.map((v) => ({ ...v, ...(flags.diff ? { diff: diffTo.get(v) ?? null } : {}) }));
    process.stdout.write(`${JSON.stringify({ id, url: found.article.url, state: found.article.state, title: found.article.title, versions }, null, 2)}\n`);
    return ExitCode.OK;
  }
  const out: string[] = [`${id} ${found.article.url} (${found.article.state})`, ''];
  const rows = found.versions.map(row);
  const widths = [0, 1, 2, 3].map((i) => Math.max(HEADER[i]!.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [HEADER, ...rows]) out.push(r.map((cell, i) => (i === 2 ? cell.padStart(widths[i]!) : i < 4 ? cell.padEnd(widths[i]!) : cell)).join('  ').trimEnd());
  for (const d of diffs) out.push('', d.patch.trimEnd());
  process.stdout.write(`${out.join('\n')}\n`);
  return ExitCode.OK;
}

const HEADER = ['captured (UTC)', 'event', 'bytes', 'sha256', 'path'];

function row(v: ArticleVersion): string[] {
  if (v.event === 'gone') return [v.at, v.event, '-', '-', `(${v.reason ?? 'removed'})`];
  return [v.at, v.event, String(v.bytes ?? '-'), v.sha256 ?? '-', v.path ?? '-'];
}
