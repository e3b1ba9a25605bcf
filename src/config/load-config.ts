import { Cron } from 'croner';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDuration, parseSchedule, parseTiers } from '../clock/durations.js';
import { MANIFEST_EVENTS } from '../storage/manifest.js';
import { parseQuery } from '../search/query.js';
import { DEFAULTS, ENUMS, feedWatchMs, type Config } from './config.js';

/** A configuration problem; names the key and what is wrong with it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Where an effective value came from. */
export type ValueSource = 'default' | `file ${string}` | `env ${string}` | `flag ${string}`;

export interface LoadedConfig {
  config: Config;
  sources: Map<string, ValueSource>;
  file: string | null;
  /** Variables `NEWSNAP_…` that name no key, each with the nearest key: a start-up warning each. */
  unknownVariables: Array<{ variable: string; nearest: { variable: string; key: string } }>;
}

/** `NEWSNAP_…` variables newsnap reads that are not configuration keys. */
const OTHER_VARIABLES = new Set(['NEWSNAP_NOW', 'NEWSNAP_CONFIG', 'NEWSNAP_MIRROR_GZIP', 'NEWSNAP_SKIP_CHROMIUM', 'NEWSNAP_BROWSER_OWNER', 'NEWSNAP_TEST_HOLD_READS', 'NEWSNAP_TEST_HOLD_EXPORTS']);

export interface ConfigInput {
  /** `--config FILE`: must exist. Otherwise `NEWSNAP_CONFIG`, then `./config/newsnap.json` when present. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Flag values by key path (`crawl.rate`), with the flag's name for provenance. */
  flags?: Array<{ key: string; value: unknown; flag: string }>;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Leaf key paths of the defaults; objects of these keys are leaves, not sections. */
const OPAQUE_OBJECTS = new Set(['site.selectors', 'site.discovery']);

export function loadConfig(input: ConfigInput = {}): LoadedConfig {
  const env = input.env ?? process.env;
  const config = structuredClone(DEFAULTS) as unknown as Record<string, Json>;
  const sources = new Map<string, ValueSource>();
  for (const key of leafKeys(DEFAULTS as unknown as Json, '')) sources.set(key, 'default');

  const file = input.file ?? env.NEWSNAP_CONFIG ?? (existsSync('config/newsnap.json') ? 'config/newsnap.json' : undefined);
  let filePath: string | null = null;
  if (file) {
    filePath = resolve(file);
    let parsed: Json;
    try {
      parsed = JSON.parse(readFileSync(filePath, 'utf8')) as Json;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ConfigError(code === 'ENOENT' ? `config file ${filePath} does not exist` : `config file ${filePath} is not valid JSON: ${(err as Error).message}`);
    }
    if (!isObject(parsed)) throw new ConfigError(`config file ${filePath} must hold a JSON object`);
    applyFile(config, parsed, '', `file ${filePath}`, sources);
  }

  for (const key of sources.keys()) {
    const name = envName(key);
    const fromFile = env[`${name}_FILE`];
    const raw = env[name] ?? (fromFile === undefined ? undefined : readSecretFile(`${name}_FILE`, fromFile));
    if (raw === undefined) continue;
    const via = env[name] === undefined ? `${name}_FILE` : name;
    setPath(config, key, coerce(key, raw, getPath(DEFAULTS as unknown as Json, key), `environment variable ${via}`));
    sources.set(key, `env ${via}`);
  }

  for (const { key, value, flag } of input.flags ?? []) {
    if (value === undefined) continue;
    if (!sources.has(key)) throw new ConfigError(`unknown configuration key ${key}`);
    const expected = getPath(DEFAULTS as unknown as Json, key);
    setPath(config, key, typeof value === 'string' ? coerce(key, value, expected, `flag ${flag}`) : (value as Json));
    sources.set(key, `flag ${flag}`);
  }

  const typed = config as unknown as Config;
  validate(typed);
  return { config: typed, sources, file: filePath, unknownVariables: unknownVariables(env, [...sources.keys()]) };
}

/**
 * A misspelt key in the file stops start-up; a misspelt variable would be ignored in silence. Each
 * `NEWSNAP_…` variable that names no key (nor its `_FILE` form) is reported with the nearest key.
 */
function unknownVariables(env: NodeJS.ProcessEnv, keys: string[]): LoadedConfig['unknownVariables'] {
  const known = new Map(keys.map((key) => [envName(key), key]));
  const out: LoadedConfig['unknownVariables'] = [];
  for (const variable of Object.keys(env).sort()) {
    if (!variable.startsWith('NEWSNAP_') || OTHER_VARIABLES.has(variable) || known.has(variable) || known.has(variable.replace(/_FILE$/, ''))) continue;
    let best = { variable: '', key: '', distance: Number.POSITIVE_INFINITY };
    for (const [name, key] of known) {
      const distance = editDistance(variable.replace(/_FILE$/, ''), name);
      if (distance < best.distance) best = { variable: name, key, distance };
    }
    out.push({ variable, nearest: { variable: best.variable, key: best.key } });
  }
  return out;
}

/** Levenshtein distance: the edits that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length] as number;
}

/**
 * `NEWSNAP_<KEY>_FILE`: the value is the file's content, as Docker and Kubernetes secrets are
 * mounted. One trailing newline is dropped; the value itself is never echoed in an error.
 */
function readSecretFile(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new ConfigError(`${variable}=${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** `crawl.maxFailedRuns` → `NEWSNAP_CRAWL_MAX_FAILED_RUNS`. */
export function envName(key: string): string {
  return `NEWSNAP_${key.split('.').map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}

function leafKeys(node: Json, prefix: string): string[] {
  if (!isObject(node) || OPAQUE_OBJECTS.has(prefix)) return [prefix];
  return Object.entries(node).flatMap(([k, v]) => leafKeys(v, prefix ? `${prefix}.${k}` : k));
}

function applyFile(target: Record<string, Json>, patch: Record<string, Json>, prefix: string, source: ValueSource, sources: Map<string, ValueSource>): void {
  for (const [k, v] of Object.entries(patch)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (k === '$comment' || k.startsWith('//')) continue;
    const current = target[k];
    if (current === undefined) throw new ConfigError(`unknown configuration key ${key} (in ${source.slice(5)})`);
    if (isObject(current) && !OPAQUE_OBJECTS.has(key)) {
      if (!isObject(v)) throw new ConfigError(`configuration key ${key} must be an object`);
      applyFile(current, v, key, source, sources);
      continue;
    }
    target[k] = checkType(key, v, current, source);
    sources.set(key, source);
  }
}

function checkType(key: string, value: Json, expected: Json, where: string): Json {
  const want = Array.isArray(expected) ? 'array' : expected === null ? 'string' : typeof expected;
  const got = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (want !== got) throw new ConfigError(`configuration key ${key} must be a ${want}, got ${got} (${where})`);
  if (isObject(expected) && isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (!(k in expected)) throw new ConfigError(`unknown configuration key ${key}.${k} (${where})`);
      checkType(`${key}.${k}`, v, expected[k] as Json, where);
    }
    return { ...expected, ...value };
  }
  return value;
}

function coerce(key: string, raw: string, expected: Json, where: string): Json {
  if (typeof expected === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`configuration key ${key} must be a number, got "${raw}" (${where})`);
    return n;
  }
  if (typeof expected === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new ConfigError(`configuration key ${key} must be true or false, got "${raw}" (${where})`);
  }
  // A list of objects (delivery.webhooks) comes as JSON; a list of words as a comma list.
  if (Array.isArray(expected)) {
    if (!raw.trim().startsWith('[')) return raw.split(',').map((s) => s.trim()).filter(Boolean);
    try {
      return checkType(key, JSON.parse(raw) as Json, expected, where);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`configuration key ${key} must be a JSON list (${where}): ${(err as Error).message}`);
    }
  }
  if (isObject(expected)) {
    try {
      return checkType(key, JSON.parse(raw) as Json, expected, where);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`configuration key ${key} must be a JSON object (${where})`);
    }
  }
  return raw;
}

function validate(c: Config): void {
  const fail = (key: string, what: string): never => {
    throw new ConfigError(`configuration key ${key} ${what}`);
  };
  for (const [key, allowed] of Object.entries(ENUMS)) {
    const v = getPath(c as unknown as Json, key);
    if (typeof v !== 'string' || !allowed.includes(v)) fail(key, `must be one of ${allowed.join(', ')}; got ${JSON.stringify(v)}`);
  }
  if (c.origin) {
    let u: URL | null = null;
    try {
      u = new URL(c.origin);
    } catch {
      // reported below
    }
    if (!u || !/^https?:$/.test(u.protocol) || (u.pathname !== '/' && u.pathname !== '') || u.search) {
      fail('origin', `must be an http(s) origin such as http://127.0.0.1:8080; got "${c.origin}"`);
    }
  }
  if (!(c.crawl.rate >= 0)) fail('crawl.rate', 'must be 0 (no limit) or more requests a second');
  // A share of 1 gives every request to due checks while any wait: manual fetches, the feed watch and new articles would starve.
  if (!(c.crawl.revisitShare >= 0 && c.crawl.revisitShare < 1)) fail('crawl.revisitShare', `must be at least 0 and below 1; got ${c.crawl.revisitShare}`);
  for (const [key, parse] of [
    ['revisit.schedule', () => parseTiers(c.revisit.schedule)],
    ['revisit.goneSchedule', () => parseTiers(c.revisit.goneSchedule)],
    ['revisit.givenUpSchedule', () => parseTiers(c.revisit.givenUpSchedule)],
    ['revisit.missingSpacing', () => parseDuration(c.revisit.missingSpacing)],
    ['revisit.retryAfterFailure', () => parseDuration(c.revisit.retryAfterFailure)],
    ['discovery.monthEvery', () => parseDuration(c.discovery.monthEvery)],
    ['discovery.feedEvery', () => feedWatchMs(c.discovery.feedEvery)],
    ['discovery.sweepEvery', () => feedWatchMs(c.discovery.sweepEvery)],
  ] as const) {
    try {
      parse();
    } catch (err) {
      fail(key, `is not valid: ${(err as Error).message}`);
    }
  }
  for (const key of ['crawl.concurrency', 'crawl.retries', 'render.pages', 'render.maxSubrequests', 'http.maxRedirects', 'crawl.maxFailedRuns', 'crawl.unreachableAfter', 'serve.maxQueuedFetches', 'serve.maxHeavyReads', 'serve.maxQueuedExports', 'revisit.missingChecks', 'crawl.blockedInARow'] as const) {
    const v = getPath(c as unknown as Json, key) as number;
    if (!Number.isInteger(v) || v < (key === 'http.maxRedirects' ? 0 : 1)) fail(key, `must be a whole number of at least ${key === 'http.maxRedirects' ? 0 : 1}; got ${v}`);
  }
  for (const key of ['http.connectTimeoutMs', 'http.readTimeoutMs', 'http.totalTimeoutMs', 'http.maxBytes', 'render.timeoutMs', 'serve.readTimeoutMs'] as const) {
    const v = getPath(c as unknown as Json, key) as number;
    if (!(v > 0)) fail(key, `must be more than 0; got ${v}`);
  }
  if (!Number.isInteger(c.archive.gzipLevel) || c.archive.gzipLevel < 1 || c.archive.gzipLevel > 9) fail('archive.gzipLevel', `must be a whole number from 1 to 9; got ${c.archive.gzipLevel}`);
  if (!(c.archive.maxFileBytes >= 1_000_000)) fail('archive.maxFileBytes', `must be at least 1000000; got ${c.archive.maxFileBytes}`);
  if (!/^[A-Za-z0-9._-]+$/.test(c.archive.prefix)) fail('archive.prefix', `must be letters, digits, dots, dashes or underscores; got "${c.archive.prefix}"`);
  if (!Number.isInteger(c.revisit.maxPerRun) || c.revisit.maxPerRun < 0) fail('revisit.maxPerRun', `must be a whole number, 0 or more; got ${c.revisit.maxPerRun}`);
  if (c.serve.maxHeavyReads > 16) fail('serve.maxHeavyReads', `must be at most 16 (each is a process of its own); got ${c.serve.maxHeavyReads}`);
  if (!Number.isInteger(c.serve.port) || c.serve.port < 0 || c.serve.port > 65535) fail('serve.port', `must be a port number; got ${c.serve.port}`);
  if (!c.http.userAgent.trim()) fail('http.userAgent', 'must not be empty');
  validateDelivery(c, fail);
  try {
    new Cron(c.serve.schedule, { paused: true }).stop();
  } catch (err) {
    fail('serve.schedule', `is not a cron expression ("${c.serve.schedule}"): ${(err as Error).message}`);
  }
  if (c.serve.protectPages && !c.serve.token) fail('serve.protectPages', 'needs serve.token (NEWSNAP_SERVE_TOKEN or NEWSNAP_SERVE_TOKEN_FILE): the pages are protected by it');
  if (!(c.serve.jitterSeconds >= 0)) fail('serve.jitterSeconds', `must be 0 or more; got ${c.serve.jitterSeconds}`);
  for (const end of ['since', 'until'] as const) {
    const day = c.serve.backfill[end];
    if (day && !/^\d{4}-?\d{2}-?\d{2}$/.test(day)) fail(`serve.backfill.${end}`, `must be a day, YYYY-MM-DD; got "${day}"`);
  }
  if (c.serve.backfill.until && !c.serve.backfill.since) fail('serve.backfill.since', 'is needed with serve.backfill.until');
  try {
    new URL(c.site.baseUrl);
  } catch {
    fail('site.baseUrl', `must be a URL; got "${c.site.baseUrl}"`);
  }
  try {
    if (!new RegExp(c.site.articlePath).source.includes('?<id>')) fail('site.articlePath', 'must have a named group (?<id>…)');
    new RegExp(c.site.titleTail);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    fail('site.articlePath', `is not a valid regular expression: ${(err as Error).message}`);
  }
}


function validateDelivery(c: Config, fail: (key: string, what: string) => never): void {
  const d = c.delivery;
  try {
    if (parseSchedule(d.retrySchedule).length === 0) fail('delivery.retrySchedule', 'must have at least one wait');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    fail('delivery.retrySchedule', `is not valid: ${(err as Error).message}`);
  }
  if (!(d.timeoutMs > 0)) fail('delivery.timeoutMs', `must be more than 0; got ${d.timeoutMs}`);
  if (!Number.isInteger(d.concurrency) || d.concurrency < 1) fail('delivery.concurrency', `must be a whole number of at least 1; got ${d.concurrency}`);
  if (!(d.drainSeconds >= 0)) fail('delivery.drainSeconds', `must be 0 or more; got ${d.drainSeconds}`);
  try {
    parseDuration(d.keepDelivered);
  } catch (err) {
    fail('delivery.keepDelivered', `is not valid: ${(err as Error).message}`);
  }
  const seen = new Set<string>();
  d.webhooks.forEach((w, i) => {
    const key = `delivery.webhooks[${i}]`;
    if (!isObject(w as unknown)) fail(key, 'must be an object {"url", "secret", "events"}');
    let url: URL | null = null;
    try {
      url = new URL(w.url);
    } catch {
      // reported below
    }
    if (!url || !/^https?:$/.test(url.protocol)) fail(`${key}.url`, `must be an http(s) URL; got ${JSON.stringify(w.url)}`);
    if (seen.has(w.url)) fail(`${key}.url`, `is listed twice: ${w.url}`);
    seen.add(w.url);
    if (typeof w.secret !== 'string' || !/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(w.secret) || Buffer.from(w.secret.slice(6), 'base64').length < 16) {
      fail(`${key}.secret`, 'must be a Standard Webhooks secret: whsec_ and at least 16 bytes of base64 (e.g. "whsec_" + the output of: head -c 32 /dev/urandom | base64)');
    }
    if (w.events !== undefined && (!Array.isArray(w.events) || w.events.some((e) => !(MANIFEST_EVENTS as readonly string[]).includes(e)))) {
      fail(`${key}.events`, `must be a list of ${MANIFEST_EVENTS.join(', ')}; got ${JSON.stringify(w.events)}`);
    }
    for (const k of Object.keys(w)) if (!['url', 'secret', 'events'].includes(k)) fail(`${key}.${k}`, 'is not a key of a webhook (url, secret, events)');
  });
  validateSearches(d.searches, fail);
}

/** Saved searches: each named once, each query one the search syntax parses (a bad one stops start-up, naming it). */
function validateSearches(searches: Config['delivery']['searches'], fail: (key: string, what: string) => never): void {
  const names = new Set<string>();
  searches.forEach((s, i) => {
    const key = `delivery.searches[${i}]`;
    if (!isObject(s as unknown)) fail(key, 'must be an object {"name", "query"}');
    for (const k of Object.keys(s)) if (!['name', 'query'].includes(k)) fail(`${key}.${k}`, 'is not a key of a saved search (name, query)');
    if (typeof s.name !== 'string' || !/^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,63}$/u.test(s.name)) fail(`${key}.name`, `must be a name of 1 to 64 letters, digits, spaces, dots, dashes or underscores; got ${JSON.stringify(s.name)}`);
    if (names.has(s.name)) fail(`${key}.name`, `is used twice: "${s.name}"`);
    names.add(s.name);
    if (typeof s.query !== 'string') fail(`${key}.query`, `must be a string; got ${JSON.stringify(s.query)}`);
    try {
      parseQuery(s.query);
    } catch (err) {
      fail(`${key}.query`, `of the saved search "${s.name}" cannot be parsed: ${(err as Error).message} (query: ${JSON.stringify(s.query)})`);
    }
  });
}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function getPath(root: Json, key: string): Json {
  let node: Json = root;
  for (const part of key.split('.')) node = isObject(node) ? (node[part] as Json) : null;
  return node;
}

function setPath(root: Record<string, Json>, key: string, value: Json): void {
  const parts = key.split('.');
  let node: Record<string, Json> = root;
  for (const part of parts.slice(0, -1)) node = node[part] as Record<string, Json>;
  node[parts[parts.length - 1] as string] = value;
}

/** Contacts that stand for "put yours here": the shipped defaults and the examples in messages. */
const PLACEHOLDER_CONTACT = /github\.com\/newsnap\/newsnap|\bexample\.(?:org|com|net)\b|\byou@|your-(?:domain|site|org)/i;

/**
 * Against the real site, newsnap must say who runs it, as Nutch (`http.agent.name`) and Heritrix
 * (an operator contact) insist: a User-Agent that still carries a placeholder contact stops
 * `crawl`, `fetch` and `serve` before any request. A mirror (`origin`) needs none.
 */
export function requireOperatorContact(c: Config): void {
  if (c.origin || !PLACEHOLDER_CONTACT.test(c.http.userAgent)) return;
  throw new ConfigError(
    `configuration key http.userAgent still carries a placeholder contact ("${c.http.userAgent}"): the site's operators must be able to reach you. ` +
      `Set it to your own before crawling ${c.site.baseUrl}, e.g. NEWSNAP_HTTP_USER_AGENT='newsnap/0.2 (+https://your-domain.example/crawler; mailto:crawler@your-domain.example)' with your real site and address`,
  );
}
