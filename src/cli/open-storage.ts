import { Storage } from '../storage/storage.js';
import { redactUrl } from '../fetch/proxy.js';
import { warcInfo } from '../warc/warc-writer.js';
import { archivedBlocks } from '../reextract/archived-article.js';
import { webhookTargets } from './delivery.js';
import type { Context } from './context.js';
import type { Shutdown } from './shutdown.js';

/**
 * Opens the storage folder for writing (lock, state, manifest, WARC files), saying in the log
 * what it repaired after a killed run or upgraded from an earlier newsnap. A forced exit releases the lock.
 */
export async function openStorage(ctx: Context, shutdown: Shutdown, options: { warc?: boolean; searchIndex?: 'on' | 'rebuild' } = {}): Promise<Storage> {
  const { config } = ctx;
  const warc = (options.warc ?? true) && config.archive.warc;
  const storage = await Storage.open(config.storage, {
    command: commandLine(),
    webhooks: webhookTargets(ctx),
    search: {
      index: config.search.index || options.searchIndex !== undefined,
      saved: config.delivery.searches,
      siteName: config.site.name,
      archivedBlocks: archivedBlocks(config.storage, config.site),
      rebuild: options.searchIndex === 'rebuild',
      signal: shutdown.signal,
      progressIntervalMs: config.crawl.progressIntervalMs,
      onProgress: (p) => ctx.log.info({ ...p }, 'search index progress'),
      onDamage: (err) => ctx.log.error({ err: err.message }, 'search index found damaged: left alone for this run, built again at the next start'),
      onOff: (err) => ctx.log.error({ err: err.message }, 'search index cannot be written: off for this run (crawling goes on); the next start catches it up'),
    },
    ...(warc
      ? {
          warc: {
            prefix: config.archive.prefix,
            maxFileBytes: config.archive.maxFileBytes,
            gzipLevel: config.archive.gzipLevel,
            info: warcInfo({ userAgent: config.http.userAgent, site: config.site.baseUrl, origin: config.origin }),
          },
        }
      : {}),
  });
  shutdown.onForce(() => storage.abandon());
  const { manifestLines, versionChanges, migration, warcFiles, temporaries } = storage.repaired;
  if (migration?.from === 0) ctx.log.info({ storage: config.storage }, 'state upgraded from an earlier newsnap; the manifest was read again into it');
  else if (migration && migration.from < 2) ctx.log.info({ storage: config.storage, from: migration.from, forgiven: migration.forgiven }, 'state upgraded from an earlier newsnap; articles that failed only because the site was unreachable are pending again');
  else if (migration) ctx.log.info({ storage: config.storage, from: migration.from }, 'state upgraded from an earlier newsnap: manifest lines numbered (seq), the webhook outbox added');
  if (manifestLines + versionChanges + warcFiles.length + temporaries > 0) ctx.log.info({ manifestLines, versionChanges, warcFiles, temporaries }, 'storage repaired after an interrupted run');
  const index = storage.repaired.searchIndex;
  if (index?.failed) ctx.log.error({ err: index.failed }, 'search index could not be opened or caught up: off for this run (crawling goes on); the next start catches it up, or run newsnap index --rebuild');
  else if (index?.rebuilt && index.lines > 0) ctx.log.info({ lines: index.lines, because: index.rebuilt }, 'search index built from the manifest and the files');
  else if (index && index.lines > 0) ctx.log.info({ lines: index.lines }, 'search index caught up with the manifest');
  return storage;
}

/** The command line, as the lock's holder file shows it to a run the lock turns away (URLs without credentials). */
function commandLine(): string {
  const words = process.argv.slice(2).map((w) => (/^[a-z]+:\/\//i.test(w) ? redactUrl(w) : w));
  return `newsnap ${words.join(' ')}`.slice(0, 300);
}
