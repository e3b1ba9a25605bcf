import { loadConfig, type Config, type LoadedConfig } from '../config/index.js';
import { HttpClient } from '../fetch/http-client.js';
import { RequestScheduler } from '../frontier/request-scheduler.js';
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

export function commonFlagMap(flags: CommonFlags): FlagMap {
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
  const loaded = loadConfig({ ...(flags.config ? { file: flags.config } : {}), flags: [...commonFlagMap(flags), ...extra] });
  const { config } = loaded;
  const log = createLogger(config.logLevel);
  const urls = new SiteUrls(config.site, config.origin || null);
  return { loaded, config, log, urls };
}

export function createHttp(ctx: Context): HttpClient {
  return new HttpClient(ctx.urls, ctx.config.http);
}

export function createScheduler(config: Config): RequestScheduler {
  const c = config.crawl;
  return new RequestScheduler({
    rate: c.rate,
    concurrency: c.concurrency,
    retries: c.retries,
    backoffBaseMs: c.backoffBaseMs,
    backoffMaxMs: c.backoffMaxMs,
    maxRetryAfterMs: c.maxRetryAfterMs,
  });
}
