import { createHash, timingSafeEqual } from 'node:crypto';
import { linkedSignal } from '../clock/abort.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeOutcome } from '../engine/pipeline/article-outcome.js';
import { OUTCOMES } from '../storage/state/article-states.js';
import type { Logger } from '../log/logger.js';
import { storageProblem } from '../storage/storage-access.js';
import type { StorageHealth } from '../storage/storage-health.js';
import { StorageError } from '../disk/storage-error.js';
import type { SiteUrls } from '../site/site-urls.js';
import { BackfillConflict, parseBackfillRange } from '../engine/lanes/backfill-lane.js';
import { BusyError, StoppingError, type CrawlService } from './crawl-service.js';
import type { ServiceMetrics } from './metrics.js';
import { PAGE_HEADERS, renderPage } from './status-pages.js';
import { articleFeed, changesFeed, searchFeed, type FeedContext } from './atom-feed.js';
import { CursorPastEnd, eventsAfter, eventsQuery, Waiters, type ChangeSource } from './events-api.js';
import { parseDay } from '../engine/lanes/crawl-plan.js';
import { sendFile } from './file-ranges.js';
import type { WaczExports, WaczRange } from './wacz-exports.js';
import { searchApi, searchError, searchParams } from './search-api.js';
import type { SearchReader } from '../storage/search/search-reader.js';

export interface ApiOptions {
  service: CrawlService;
  metrics: ServiceMetrics;
  urls: SiteUrls;
  log: Logger;
  storage: string;
  /** When set, POST needs `Authorization: Bearer <token>`. */
  token: string;
  /** The status pages, the change feed and the Atom feeds need the token too (as a bearer token, or as the password of HTTP Basic). */
  protectPages: boolean;
  isStateOpen: () => boolean;
  /** Whether each kind of write goes through now: /readyz is 503 while one fails. */
  storageHealth: StorageHealth;
  /** What `GET /events` reads and waits on. */
  changes: ChangeSource;
  /** The places of held `GET /events?wait=` requests. */
  waiters: Waiters;
  /** What the Atom feeds are built from (the base URL comes from each request). */
  feeds: Omit<FeedContext, 'base'>;
  /** Aborted when serve stops: held `/events?wait=` answers return at once. */
  stopping: AbortSignal;
  /** What `GET /export.wacz` serves. */
  exports: WaczExports;
  /** The search index, read-only (throws SearchUnavailable when there is none to read). */
  search: () => SearchReader;
}

const MAX_BODY = 16 * 1024;

/** The service's HTTP API: health, readiness, metrics, status and manual fetches. */
export function createApi(o: ApiOptions): Server {
  const server = createServer((req, res) => {
    handle(o, req, res).catch((err: Error) => {
      o.log.error({ err: err.message }, 'API request failed');
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  return server;
}

async function handle(o: ApiOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://api.invalid');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const reader = path === '/' || path === '/articles' || path.startsWith('/articles/') || path === '/events' || path === '/feed.atom' || path === '/export.wacz' || path === '/search' || path.startsWith('/search/');
  if ((method === 'GET' || method === 'HEAD') && reader && o.protectPages && o.token && !authorized(req.headers.authorization, o.token, { basic: true })) {
    res.writeHead(401, { ...PAGE_HEADERS, 'www-authenticate': 'Basic realm="newsnap", charset="UTF-8"' });
    res.end('<!DOCTYPE html><title>newsnap</title><p>The status pages and feeds need the token (serve.token): give it as the password.</p>');
    return;
  }
  if (method === 'GET' && path === '/events') return events(o, url, res);
  if ((method === 'GET' || method === 'HEAD') && path === '/export.wacz') return exportWacz(o, req, res, url.searchParams);
  if (method === 'GET' && (path === '/search' || path === '/search/count')) {
    const answer = searchApi(o.search, path, url.searchParams);
    return send(res, answer.status, answer.body);
  }
  if (method === 'GET' && path === '/search/feed.atom') return queryFeed(o, req, res, url.searchParams);
  const articleFeedId = /^\/articles\/(\d{1,20})\/feed\.atom$/.exec(path)?.[1];
  if (method === 'GET' && (path === '/feed.atom' || articleFeedId)) return atomFeed(o, req, res, articleFeedId);
  if (method === 'GET' && (path === '/' || path === '/articles' || path.startsWith('/articles/'))) {
    const page = await renderPage({ service: o.service, state: o.service.state, storage: o.storage, search: o.search }, path, url.searchParams);
    if (page) {
      res.writeHead(page.status, { ...PAGE_HEADERS, ...page.headers });
      res.end(page.body);
      return;
    }
  }
  if (method === 'GET' && path === '/healthz') return send(res, 200, { ok: true });
  if (method === 'GET' && path === '/readyz') return readyz(o, res);
  if (method === 'GET' && path === '/metrics') {
    const text = await o.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': o.metrics.registry.contentType });
    res.end(text);
    return;
  }
  if (method === 'GET' && path === '/status') return send(res, 200, o.service.status());
  if (path === '/fetch' || path === '/backfill') return post(o, req, res, path);
  send(res, 404, { error: 'not found: GET / /articles/<id> /articles/<id>/feed.atom /feed.atom /events /export.wacz /search /search/count /search/feed.atom /healthz /readyz /metrics /status, POST /fetch /backfill' });
}

/** `GET /feed.atom` and `GET /articles/<id>/feed.atom`, with an ETag. */
async function atomFeed(o: ApiOptions, req: IncomingMessage, res: ServerResponse, articleFeedId: string | undefined): Promise<void> {
  const etag = feedEtag(o, req);
  if (req.headers['if-none-match'] === etag) return notModified(res, etag);
  const context = { ...o.feeds, base: `http://${req.headers.host ?? 'localhost'}` };
  const xml = articleFeedId ? await articleFeed(context, articleFeedId) : await changesFeed(context);
  if (xml === null) return send(res, 404, { error: `no article ${articleFeedId} in this storage` });
  res.writeHead(200, { 'content-type': 'application/atom+xml; charset=utf-8', 'cache-control': 'no-cache', etag });
  res.end(xml);
}

/** Ready: the folder is writable, state is open, and every kind of write went through last time. */
async function readyz(o: ApiOptions, res: ServerResponse): Promise<void> {
  const access = await storageProblem(o.storage);
  const failing = o.storageHealth.current();
  const ready = access === null && o.isStateOpen() && failing.length === 0;
  const problem = access ?? o.storageHealth.describe();
  return send(res, ready ? 200 : 503, { ready, storageWritable: access === null && failing.length === 0, stateOpen: o.isStateOpen(), ...(problem ? { problem } : {}), ...(failing.length > 0 ? { failing } : {}) });
}

/** `POST /fetch` and `POST /backfill`: the token (or this machine), a JSON body of bounded size. */
async function post(o: ApiOptions, req: IncomingMessage, res: ServerResponse, path: '/fetch' | '/backfill'): Promise<void> {
  if (req.method !== 'POST') return send(res, 405, { error: 'use POST' }, { allow: 'POST' });
  if (o.token && !authorized(req.headers.authorization, o.token, { basic: false })) return send(res, 401, { error: 'missing or wrong bearer token' }, { 'www-authenticate': 'Bearer' });
  // Without a token, only this machine may make newsnap fetch or backfill.
  if (!o.token && !isLoopback(req.socket.remoteAddress)) return send(res, 403, { error: `POST ${path} from another machine needs a token: set serve.token (NEWSNAP_SERVE_TOKEN) and send "Authorization: Bearer <token>"` });
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return send(res, 415, { error: 'send JSON: content-type application/json' });
  const body = await readBody(req, MAX_BODY);
  if (body === null) return send(res, 413, { error: `body over ${MAX_BODY} bytes` });
  let parsed: { url?: unknown; since?: unknown; until?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return send(res, 400, { error: `body is not valid JSON; send ${path === '/fetch' ? '{"url": "https://anlatilaninotesi.com.tr/YYYYMMDD/<slug>-<id>.html"}' : '{"since": "YYYY-MM-DD", "until": "YYYY-MM-DD"}'}` });
  }
  if (path === '/backfill') return backfill(o, res, parsed ?? {});
  return manualFetch(o, res, parsed?.url);
}

/** `POST /fetch {"url"}`: one article now, answered with the outcome table's status. */
async function manualFetch(o: ApiOptions, res: ServerResponse, url: unknown): Promise<void> {
  if (typeof url !== 'string') return send(res, 400, { error: 'body needs a "url" string' });
  const ref = o.urls.parseArticle(url);
  if (!ref) return send(res, 400, { error: `not an article URL of ${o.urls.base.origin}: ${url}` });
  try {
    const outcome = await o.service.fetch(ref);
    const row = OUTCOMES[outcome.kind];
    if (outcome.kind === 'interrupted') return send(res, row.fetchStatus, { error: 'newsnap is shutting down; try again later', id: ref.id, url: ref.url }, { 'retry-after': '30' });
    return send(res, row.fetchStatus, {
      result: outcome.kind === 'not-article' ? 'not an article' : outcome.kind,
      id: ref.id,
      url: ref.url,
      ...('path' in outcome ? { path: outcome.path } : {}),
      ...('reason' in outcome ? { reason: outcome.reason } : {}),
      ...(outcome.kind === 'failed' || outcome.kind === 'unreachable' ? { error: outcome.message } : {}),
      line: describeOutcome(outcome),
    });
  } catch (err) {
    if (err instanceof BusyError) return send(res, 429, { error: err.message }, { 'retry-after': '5' });
    // Our storage failed (a full disk): the fetch did not happen; it can be asked again.
    if (err instanceof StorageError) return send(res, 503, { error: err.message, id: ref.id, url: ref.url }, { 'retry-after': '30' });
    if (err instanceof StoppingError) return send(res, 503, { error: err.message }, { 'retry-after': '30' });
    throw err;
  }
}

/**
 * `GET /events?after=&limit=&wait=`: a page of the change feed. A held request (`wait=`) takes one
 * of a bounded number of places and gives it back when it answers or its client hangs up.
 */
async function events(o: ApiOptions, url: URL, res: ServerResponse): Promise<void> {
  const q = eventsQuery(url.searchParams);
  if (typeof q === 'string') return send(res, 400, { error: q });
  const release = q.waitMs > 0 ? o.waiters.take() : () => undefined;
  if (!release) return send(res, 503, { error: `${o.waiters.count} requests are already waiting for events; try again shortly, or poll without wait=` }, { 'retry-after': '5' });
  const hungUp = new AbortController();
  res.on('close', () => hungUp.abort());
  const link = linkedSignal([o.stopping, hungUp.signal]);
  try {
    return send(res, 200, await eventsAfter(o.changes, q, link.signal));
  } catch (err) {
    if (err instanceof CursorPastEnd) return send(res, 409, { error: err.message, last: err.last, storageId: err.storageId });
    throw err;
  } finally {
    link.dispose();
    release();
  }
}

/** `GET /search/feed.atom?q=…`: a query's newest matching versions as Atom; a bad query is a 400 in JSON. */
async function queryFeed(o: ApiOptions, req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
  const etag = feedEtag(o, req, q.toString());
  if (req.headers['if-none-match'] === etag) return notModified(res, etag);
  let xml: string;
  try {
    const p = searchParams((name) => q.get(name));
    xml = await searchFeed({ ...o.feeds, base: `http://${req.headers.host ?? 'localhost'}` }, o.search(), p.filter);
  } catch (err) {
    const answer = searchError(err);
    return send(res, answer.status, answer.body);
  }
  res.writeHead(200, { 'content-type': 'application/atom+xml; charset=utf-8', 'cache-control': 'no-cache', etag });
  res.end(xml);
}

/**
 * A feed changes only with a new event: its ETag is the storage, the last seq, and the host it
 * links to (with the query, for a search feed), so a reader polling an unchanged feed costs a 304.
 */
function feedEtag(o: ApiOptions, req: IncomingMessage, query = ''): string {
  const vary = createHash('sha256').update(`${req.headers.host ?? ''}\n${query}`).digest('hex').slice(0, 8);
  return `"${o.changes.storageId}-${o.changes.lastSeq()}-${vary}"`;
}

function notModified(res: ServerResponse, etag: string): void {
  res.writeHead(304, { etag, 'cache-control': 'no-cache' });
  res.end();
}

/** `POST /backfill {"since", "until"}`: 202 with the backfill's status; 409 while another is under way. */
function backfill(o: ApiOptions, res: ServerResponse, body: { since?: unknown; until?: unknown }): void {
  const range = parseBackfillRange(body);
  if (typeof range === 'string') return send(res, 400, { error: range });
  try {
    send(res, 202, o.service.requestBackfill(range));
  } catch (err) {
    if (err instanceof BackfillConflict) return send(res, 409, { error: err.message, backfill: o.service.status().backfill });
    if (err instanceof StoppingError) return send(res, 503, { error: err.message }, { 'retry-after': '30' });
    throw err;
  }
}

/**
 * `GET /export.wacz?since=&until=`: the WACZ of those days (`newsnap export --format wacz`), built
 * once and then served by ranges, as replay tools read it.
 */
async function exportWacz(o: ApiOptions, req: IncomingMessage, res: ServerResponse, params: URLSearchParams): Promise<void> {
  const range: WaczRange = {};
  for (const name of ['since', 'until'] as const) {
    const value = params.get(name);
    if (!value) continue;
    const day = parseDay(value);
    if (!day) return send(res, 400, { error: `${name}=${value} is not a date (YYYY-MM-DD)` });
    range[name] = day;
  }
  if (range.since && range.until && range.since > range.until) return send(res, 400, { error: `since=${params.get('since')} is after until=${params.get('until')}` });
  const built = await o.exports.file(range);
  const name = `newsnap-${range.since ?? 'all'}-${range.until ?? 'all'}.wacz`;
  await sendFile(req, res, built.path, { 'content-type': 'application/wacz', 'content-disposition': `attachment; filename="${name}"`, 'cache-control': 'no-cache' }, built.etag);
}

/**
 * The token as `Authorization: Bearer <token>`, or (pages only, so that a browser's own login
 * prompt works) as the password of HTTP Basic, whatever the user name. Compared in constant time.
 */
function authorized(header: string | undefined, token: string, o: { basic: boolean }): boolean {
  if (!header) return false;
  let given: string | null = null;
  if (header.startsWith('Bearer ')) given = header.slice(7);
  else if (o.basic && header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    given = decoded.slice(decoded.indexOf(':') + 1);
  }
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 addresses. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(`${JSON.stringify(body)}\n`);
}

/** The request body as text, or null when it is larger than `max`. */
function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > max) {
      req.resume();
      resolve(null);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        resolve(null);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(size > max ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
}
