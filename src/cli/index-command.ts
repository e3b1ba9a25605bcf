import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ReadOnlyStorage } from '../storage/read-only.js';
import { SEARCH_FILE } from '../storage/search/search-schema.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Context } from './context.js';
import { requireExistingStorage } from './command-flags.js';
import { openStorage } from './open-storage.js';
import { Shutdown } from './shutdown.js';

/**
 * `newsnap index [--rebuild]`: brings the search index up to the manifest (as every writing
 * command does when it starts), or with --rebuild builds it from nothing: every manifest line,
 * each version read from its file and its blocks from the WARC record where one holds that very
 * version; streamed, with progress in the log. It takes the storage lock, as a crawl does.
 */
export async function indexCommand(ctx: Context, flags: { rebuild?: boolean }): Promise<ExitCodeValue> {
  requireExistingStorage(ctx.config.storage);
  const shutdown = new Shutdown(ctx.log, { exitCode: ExitCode.INTERRUPTED, message: 'stopping: the index is kept as far as it got; newsnap index goes on from there' });
  const started = performance.now();
  try {
    const storage = await openStorage(ctx, shutdown, { warc: false, searchIndex: flags.rebuild ? 'rebuild' : 'on' });
    const applied = storage.repaired.searchIndex;
    await storage.close();
    if (applied?.failed) {
      process.stderr.write(`newsnap index: the search index could not be built: ${applied.failed}\n`);
      return ExitCode.STORAGE;
    }
    if (shutdown.signal.aborted) {
      process.stderr.write(`newsnap index: stopped after ${applied?.lines ?? 0} manifest lines; the index is kept as far as it got, and newsnap index (or the next crawl or serve) goes on from there\n`);
      return ExitCode.INTERRUPTED;
    }
    const seconds = (performance.now() - started) / 1000;
    const store = new ReadOnlyStorage(ctx.config.storage);
    let stats;
    try {
      stats = store.search().stats();
    } finally {
      store.close();
    }
    const mb = statSync(join(ctx.config.storage, SEARCH_FILE)).size / 1e6;
    const did = applied?.rebuilt ? `built (${applied.rebuilt}) from ${applied.lines} manifest lines` : `${applied?.lines ?? 0} manifest lines caught up`;
    const rate = applied && applied.lines > 0 ? `, ${(applied.versions / seconds).toFixed(0)} versions/s` : '';
    process.stdout.write(`search index ${did} in ${seconds.toFixed(1)} s${rate}: ${stats.versions} versions of ${stats.articles} articles, up to manifest line ${stats.seq}; ${mb.toFixed(1)} MB\n`);
    ctx.log.info({ ...stats, seconds: Number(seconds.toFixed(2)), megabytes: Number(mb.toFixed(1)) }, 'search index ready');
    return ExitCode.OK;
  } finally {
    shutdown.dispose();
  }
}
