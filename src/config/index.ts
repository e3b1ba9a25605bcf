export { DEFAULTS, type Config, type CrawlOptions, type LogLevel, type RenderOptions, type RenderPolicy, type ServeOptions } from './config.js';
export { ConfigError, envName, loadConfig, requireOperatorContact, type ConfigInput, type LoadedConfig, type ValueSource } from './load-config.js';
