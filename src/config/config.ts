import { sputnikTurkiye, type SiteProfile } from '../site/profile.js';
import type { HttpOptions } from '../fetch/http-client.js';
import { parseDuration } from '../clock/durations.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type RenderPolicy = 'never' | 'fallback' | 'always';

/** The `revisit` section of config: when captured articles are looked at again. */
export interface RevisitOptions {
  schedule: string;
  goneSchedule: string;
  givenUpSchedule: string;
  maxPerRun: number;
  missingChecks: number;
  missingSpacing: string;
  retryAfterFailure: string;
}

export interface CrawlOptions {
  /** Requests a second over any rolling second; 0 turns the limit off (mirrors and benchmarks only). */
  rate: number;
  concurrency: number;
  /** Attempts at one request within a run. */
  retries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Runs an article may fail (its own failures) before only `revisit.givenUpSchedule` retries it. */
  maxFailedRuns: number;
  /** Requests in a row that get no answer at all (DNS, connection, TLS, timeouts) before the run stops: the site is unreachable. */
  unreachableAfter: number;
  /** Longest pause a `Retry-After` may impose; longer asks end the request as failed. */
  maxRetryAfterMs: number;
  /** Day archives when sitemaps fail. */
  archiveFallback: boolean;
  progressIntervalMs: number;
  /** Blocked pages (challenge or block pages) in a row that pause the run… */
  blockedInARow: number;
  /** …for this long, as a 429 does. */
  blockedPauseMs: number;
  /** Of the requests that leave the queue while due checks wait, at least this share (0..1) goes to them, whatever waits above. */
  revisitShare: number;
}

export interface ArchiveOptions {
  /** Keep every HTTP exchange and rendered DOM in WARC files under storage/warc. */
  warc: boolean;
  /** A WARC file is closed and a new one begun past this size. */
  maxFileBytes: number;
  /** zlib level of each record's gzip member: 1 is 4× faster than 6 for ~17% more bytes. */
  gzipLevel: number;
  /** WARC file name prefix. */
  prefix: string;
}

export interface RenderOptions {
  policy: RenderPolicy;
  chromiumPath: string;
  timeoutMs: number;
  pages: number;
  /** A page whose body never appears is extracted as it stands this long after its load event. */
  settleMs: number;
  /** Requests a rendered page may make to the site beyond its document; past it, the rest are aborted. */
  maxSubrequests: number;
}

export interface ServeOptions {
  host: string;
  port: number;
  schedule: string;
  jitterSeconds: number;
  token: string;
  /** Manual fetches (POST /fetch) that may wait in the queue; past it the API answers 429. */
  maxQueuedFetches: number;
  /** Exports (GET /export) that may wait while one is built; past them the API answers 503 with Retry-After. */
  maxQueuedExports: number;
  /** The status pages (`/`, `/articles/…`) need the token too. */
  protectPages: boolean;
  /** A heavy read (search, counts, history, the status page's search) over this is stopped and answered 503. */
  readTimeoutMs: number;
  /** Heavy reads at once, each in a reader process of its own; past them 503 with Retry-After. */
  maxHeavyReads: number;
  /** A backfill serve works through beside its schedule (days YYYY-MM-DD; `until` empty: today); `since` empty: none. */
  backfill: { since: string; until: string };
}

/** A receiver of signed webhooks (Standard Webhooks), one POST per manifest event. */
export interface WebhookEndpoint {
  url: string;
  /** The signing secret, `whsec_` and base64, as Standard Webhooks writes it. */
  secret: string;
  /** Manifest events it receives (`new`, `updated`, `gone`, `restored`, `reextracted`); every kind when left out. */
  events?: string[];
}

/** A saved search: a manifest line (and so its webhook) whose version matches carries its name in `matches`. */
export interface SavedSearchOption {
  name: string;
  /** A query in the search syntax (docs/search.md). */
  query: string;
}

export interface DeliveryOptions {
  webhooks: WebhookEndpoint[];
  searches: SavedSearchOption[];
  /** Waits between attempts: after the last, an event is dead for that endpoint (kept, shown, replayable). */
  retrySchedule: string;
  /** A POST that has not answered in this long is retried. */
  timeoutMs: number;
  /** POSTs in flight at once, across endpoints. */
  concurrency: number;
  /** A one-shot command (crawl, fetch) delivers what it can this long after its work, then exits. */
  drainSeconds: number;
  /** Delivered webhooks are kept this long (shown, replayable with --after), then pruned; their count stays. */
  keepDelivered: string;
}

export interface DiscoveryTiming {
  /** `serve` reads the RSS feed this often between crawls (a conditional request: 304 when unchanged); "off" turns the watch off. */
  feedEvery: string;
  /** An incremental run reads a whole month's sitemap at most this often; in between, only the range of the last days. */
  monthEvery: string;
  /** `serve` rereads every month's sitemap (conditionally) at least this often, spread evenly; "off" turns the sweep off. */
  sweepEvery: string;
}

export interface SearchOptions {
  /** Keep the full-text index of every version (`search.sqlite`) as versions are written. */
  index: boolean;
}

export interface Config {
  site: SiteProfile;
  /** Where requests go instead of the site's baseUrl (a local mirror); snapshots keep the site's URLs. */
  origin: string;
  storage: string;
  logLevel: LogLevel;
  http: HttpOptions;
  crawl: CrawlOptions;
  revisit: RevisitOptions;
  archive: ArchiveOptions;
  render: RenderOptions;
  serve: ServeOptions;
  delivery: DeliveryOptions;
  discovery: DiscoveryTiming;
  search: SearchOptions;
}

export const DEFAULTS: Config = {
  site: sputnikTurkiye,
  origin: '',
  storage: 'storage',
  logLevel: 'info',
  http: {
    userAgent: 'newsnap/0.2 (+https://github.com/newsnap/newsnap; polite archive crawler)',
    connectTimeoutMs: 10_000,
    readTimeoutMs: 20_000,
    totalTimeoutMs: 60_000,
    maxBytes: 5 * 1024 * 1024,
    maxRedirects: 5,
    proxy: '',
    noProxy: '',
  },
  crawl: {
    rate: 1,
    concurrency: 4,
    retries: 3,
    backoffBaseMs: 1000,
    backoffMaxMs: 60_000,
    maxFailedRuns: 5,
    unreachableAfter: 5,
    maxRetryAfterMs: 10 * 60_000,
    archiveFallback: true,
    progressIntervalMs: 10_000,
    blockedInARow: 3,
    blockedPauseMs: 60_000,
    revisitShare: 0.25,
  },
  revisit: {
    schedule: '3h:15m, 1d:1h, 7d:6h, 30d:3d',
    goneSchedule: '7d:1d, 30d:7d, *:30d',
    givenUpSchedule: '7d:1d, *:7d',
    maxPerRun: 300,
    missingChecks: 3,
    missingSpacing: '1h',
    retryAfterFailure: '1h',
  },
  archive: {
    warc: true,
    maxFileBytes: 1_000_000_000,
    gzipLevel: 1,
    prefix: 'newsnap',
  },
  render: {
    policy: 'fallback',
    chromiumPath: '/usr/bin/chromium',
    timeoutMs: 30_000,
    pages: 2,
    settleMs: 500,
    maxSubrequests: 100,
  },
  serve: {
    host: '127.0.0.1',
    port: 8787,
    schedule: '0 */15 * * * *',
    jitterSeconds: 0,
    token: '',
    maxQueuedFetches: 32,
    maxQueuedExports: 4,
    protectPages: false,
    readTimeoutMs: 10_000,
    maxHeavyReads: 2,
    backfill: { since: '', until: '' },
  },
  discovery: {
    feedEvery: '1m',
    monthEvery: '1h',
    sweepEvery: '7d',
  },
  delivery: {
    webhooks: [],
    searches: [],
    retrySchedule: '5s, 5m, 30m, 2h, 5h, 10h, 14h, 20h, 24h',
    timeoutMs: 15_000,
    concurrency: 8,
    drainSeconds: 5,
    keepDelivered: '7d',
  },
  search: {
    index: true,
  },
};

export const ENUMS: Record<string, readonly string[]> = {
  logLevel: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
  'render.policy': ['never', 'fallback', 'always'],
};

/** `discovery.feedEvery` (or `sweepEvery`) in milliseconds; null when it is off ("off" or "0"). */
export function feedWatchMs(text: string): number | null {
  if (/^(off|0)$/i.test(text.trim())) return null;
  return parseDuration(text);
}
