import { checkClock } from '../clock/clock.js';
import { Archive } from '../crawl/archive.js';
import { warcInfo } from '../warc/warc-writer.js';
import { loadConfig, type Config, type LoadedConfig } from '../config/index.js';
import { createLogger, type Logger } from '../log/logger.js';
import { SiteUrls } from '../site/site-urls.js';

/** Options every command takes. */
export interface CommonFlags {
  config?: string;
  storage?: string;
  origin?: string;
  logLevel?: string;
}

/** Maps a command's flags onto configuration keys. */
export type FlagMap = Array<{ key: string; value: unknown; flag: string }>;

function commonFlagMap(flags: CommonFlags): FlagMap {
  return [
    { key: 'storage', value: flags.storage, flag: '--storage' },
    { key: 'origin', value: flags.origin, flag: '--origin' },
    { key: 'logLevel', value: flags.logLevel, flag: '--log-level' },
  ];
}

export interface Context {
  loaded: LoadedConfig;
  config: Config;
  log: Logger;
  urls: SiteUrls;
}

/**
 * Opens the storage folder for writing (lock, state, manifest), saying in the log what it
 * repaired after a killed run or upgraded from an earlier newsnap.
 */
export async function openArchive(ctx: Context, options: { warc?: boolean } = {}): Promise<Archive> {
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
  const { manifestLines, versionChanges, migrated, warcFiles } = archive.repaired;
  if (migrated) ctx.log.info({ storage: config.storage }, 'state upgraded from an earlier newsnap; the manifest was read again into it');
  else if (manifestLines + versionChanges + warcFiles.length > 0) ctx.log.info({ manifestLines, versionChanges, warcFiles }, 'storage repaired after an interrupted run');
  return archive;
}

export function createContext(flags: CommonFlags, extra: FlagMap = []): Context {
  checkClock();
  const loaded = loadConfig({ ...(flags.config ? { file: flags.config } : {}), flags: [...commonFlagMap(flags), ...extra] });
  const { config } = loaded;
  const log = createLogger(config.logLevel);
  const urls = new SiteUrls(config.site, config.origin || null);
  return { loaded, config, log, urls };
}
