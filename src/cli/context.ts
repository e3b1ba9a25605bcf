import { checkClock } from '../clock/clock.js';
import { Archive } from '../crawl/archive.js';
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
export async function openArchive(ctx: Context): Promise<Archive> {
  const archive = await Archive.open(ctx.config.storage);
  const { manifestLines, versionChanges, migrated } = archive.repaired;
  if (migrated) ctx.log.info({ storage: ctx.config.storage }, 'state upgraded from an earlier newsnap; the manifest was read again into it');
  else if (manifestLines + versionChanges > 0) ctx.log.info({ manifestLines, versionChanges }, 'storage repaired after an interrupted run');
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
