import { checkClock } from '../clock/clock.js';
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

export function createContext(flags: CommonFlags, extra: FlagMap = []): Context {
  checkClock();
  const loaded = loadConfig({ ...(flags.config ? { file: flags.config } : {}), flags: [...commonFlagMap(flags), ...extra] });
  const { config } = loaded;
  const log = createLogger(config.logLevel);
  for (const { variable, nearest } of loaded.unknownVariables) {
    log.warn({ variable, nearest: nearest.variable, key: nearest.key }, `${variable} names no configuration key and is ignored: did you mean ${nearest.variable} (${nearest.key})?`);
  }
  const urls = new SiteUrls(config.site, config.origin || null);
  return { loaded, config, log, urls };
}
