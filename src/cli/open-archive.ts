import { Archive } from '../crawl/archive.js';
import { warcInfo } from '../warc/warc-writer.js';
import type { Context } from './context.js';
import type { Shutdown } from './shutdown.js';

/**
 * Opens the storage folder for writing (lock, state, manifest), saying in the log what it
 * repaired after a killed run or upgraded from an earlier newsnap. A forced exit releases the lock.
 */
export async function openArchive(ctx: Context, shutdown: Shutdown, options: { warc?: boolean } = {}): Promise<Archive> {
  const { config } = ctx;
  const warc = (options.warc ?? true) && config.archive.warc;
  const archive = await Archive.open(config.storage, {
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
  shutdown.onForce(() => archive.abandon());
  const { manifestLines, versionChanges, migrated, warcFiles } = archive.repaired;
  if (migrated) ctx.log.info({ storage: config.storage }, 'state upgraded from an earlier newsnap; the manifest was read again into it');
  else if (manifestLines + versionChanges + warcFiles.length > 0) ctx.log.info({ manifestLines, versionChanges, warcFiles }, 'storage repaired after an interrupted run');
  return archive;
}
