export { DEFAULTS, feedWatchMs, type Config, type CrawlOptions, type DiscoveryTiming, type LogLevel, type RenderOptions, type RenderPolicy, type ServeOptions } from './config.js';
export { ConfigError, envName, loadConfig, requireOperatorContact, type ConfigInput, type LoadedConfig, type ValueSource } from './load-config.js';
