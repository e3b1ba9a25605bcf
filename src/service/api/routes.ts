import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { linkedSignal } from '../../clock/abort.js';
import { storageProblem } from '../../storage/storage-access.js';
import { CursorPastEnd, eventsAfter, eventsQuery } from '../events-api.js';
import { overview, PAGE_HEADERS } from '../status-pages.js';
import type { Access } from './access.js';
import type { ApiOptions } from './api-options.js';
import { notModified, send } from '../http-send.js';
import { post } from './post-routes.js';

/**
 * How a route is served:
 * - `cheap`: on the engine's thread (health, status, feeds of the last events, POSTs);
 * - `heavy`: in a reader process (service/reads), bounded by serve.maxHeavyReads and serve.readTimeoutMs;
 * - `export`: in the export builder's process, one build at a time behind its own queue.
 */
export type RouteClass = 'cheap' | 'heavy' | 'export';

export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The path's captures, for a route whose path is a pattern. */
  match: RegExpExecArray | null;
}

export interface Route {
  methods: readonly string[];
  /** The exact path, or a pattern of it. */
  path: string | RegExp;
  class: RouteClass;
  access: Access;
  handler: (o: ApiOptions, r: RouteRequest) => Promise<void> | void;
}

const GET = ['GET'] as const;
const GET_HEAD = ['GET', 'HEAD'] as const;
const POST = ['POST'] as const;

/**
 * Every route of serve's API. A path that is not here does not exist (404), a method not listed
 * for it is a 405, and who may call it is its own column: no route can be added and forgotten by
 * the login rules.
 */
export const ROUTES: readonly Route[] = [
  { methods: GET, path: '/healthz', class: 'cheap', access: 'open', handler: (_o, { res }) => send(res, 200, { ok: true }) },
  { methods: GET, path: '/readyz', class: 'cheap', access: 'open', handler: (o, { res }) => readyz(o, res) },
  { methods: GET, path: '/metrics', class: 'cheap', access: 'open', handler: (o, { res }) => metrics(o, res) },
  { methods: GET, path: '/status', class: 'cheap', access: 'open', handler: (o, { res }) => send(res, 200, o.status()) },
  { methods: GET, path: '/', class: 'cheap', access: 'pages', handler: (o, { res }) => overviewPage(o, res) },
  { methods: GET, path: '/articles', class: 'heavy', access: 'pages', handler: (o, r) => o.reads.serve(r.req, r.res, { kind: 'page', path: '/articles', query: r.url.search }) },
  { methods: GET, path: /^\/articles\/(\d{1,20})$/, class: 'heavy', access: 'pages', handler: (o, r) => o.reads.serve(r.req, r.res, { kind: 'page', path: r.url.pathname, query: r.url.search }) },
  { methods: GET, path: '/feed.atom', class: 'heavy', access: 'pages', handler: (o, r) => atomFeed(o, r, null) },
  { methods: GET, path: /^\/articles\/(\d{1,20})\/feed\.atom$/, class: 'heavy', access: 'pages', handler: (o, r) => atomFeed(o, r, r.match![1]!) },
  { methods: GET, path: '/events', class: 'cheap', access: 'pages', handler: (o, r) => events(o, r) },
  { methods: GET, path: '/search', class: 'heavy', access: 'guarded', handler: (o, r) => o.reads.serve(r.req, r.res, { kind: 'search', path: '/search', query: r.url.search }) },
  { methods: GET, path: '/search/count', class: 'heavy', access: 'guarded', handler: (o, r) => o.reads.serve(r.req, r.res, { kind: 'search', path: '/search/count', query: r.url.search }) },
  { methods: GET, path: '/search/feed.atom', class: 'heavy', access: 'guarded', handler: (o, r) => queryFeed(o, r) },
  { methods: GET_HEAD, path: '/export', class: 'export', access: 'guarded', handler: (o, r) => o.exports.handle(r.req, r.res, r.url.searchParams) },
  { methods: GET_HEAD, path: '/export.wacz', class: 'export', access: 'guarded', handler: (o, r) => o.exports.handle(r.req, r.res, r.url.searchParams, 'wacz') },
  { methods: POST, path: '/fetch', class: 'cheap', access: 'guarded', handler: (o, r) => post(o.service, o.urls, r.req, r.res, '/fetch') },
  { methods: POST, path: '/backfill', class: 'cheap', access: 'guarded', handler: (o, r) => post(o.service, o.urls, r.req, r.res, '/backfill') },
];

/** The route for a path, with its captures; null when there is none. */
export function findRoute(path: string): { route: Route; match: RegExpExecArray | null } | null {
  for (const route of ROUTES) {
    if (typeof route.path === 'string') {
      if (route.path === path) return { route, match: null };
    } else {
      const match = route.path.exec(path);
      if (match) return { route, match };
    }
  }
  return null;
}

/** The table in words, for a 404. */
export function describeRoutes(): string {
  return ROUTES.map((r) => `${r.methods.join('|')} ${typeof r.path === 'string' ? r.path : r.path.source.replace(/^\^|\$$/g, '').replace(/\\\//g, '/').replace('(\\d{1,20})', '<id>').replace('\\.', '.')}`).join(', ');
}

/** Ready: the folder is writable, state is open, and every kind of write went through last time. */
async function readyz(o: ApiOptions, res: ServerResponse): Promise<void> {
  const access = await storageProblem(o.storage);
  const failing = o.storageHealth.current();
  const ready = access === null && o.isStateOpen() && failing.length === 0;
  const problem = access ?? o.storageHealth.describe();
  return send(res, ready ? 200 : 503, { ready, storageWritable: access === null && failing.length === 0, stateOpen: o.isStateOpen(), ...(problem ? { problem } : {}), ...(failing.length > 0 ? { failing } : {}) });
}

async function metrics(o: ApiOptions, res: ServerResponse): Promise<void> {
  const text = await o.metrics.registry.metrics();
  res.writeHead(200, { 'content-type': o.metrics.registry.contentType });
  res.end(text);
}

async function overviewPage(o: ApiOptions, res: ServerResponse): Promise<void> {
  const page = await overview({ state: o.service.state, storage: o.storage, status: o.status() });
  res.writeHead(page.status, { ...PAGE_HEADERS, ...page.headers });
  res.end(page.body);
}

/**
 * `GET /feed.atom` and `GET /articles/<id>/feed.atom`: the ETag is answered here (a poller with
 * the current feed costs a 304 on this thread), the feed with its diffs is built in a reader.
 */
async function atomFeed(o: ApiOptions, { req, res, url }: RouteRequest, id: string | null): Promise<void> {
  const etag = feedEtag(o, req);
  if (req.headers['if-none-match'] === etag) return notModified(res, etag);
  return o.reads.serve(req, res, { kind: 'changes-feed', id, query: url.search, base: `http://${req.headers.host ?? 'localhost'}` }, { etag });
}

/** `GET /search/feed.atom?q=…`: a query's newest matching versions as Atom (in a reader process); a bad query is a 400 in JSON. */
async function queryFeed(o: ApiOptions, { req, res, url }: RouteRequest): Promise<void> {
  const etag = feedEtag(o, req, url.searchParams.toString());
  if (req.headers['if-none-match'] === etag) return notModified(res, etag);
  return o.reads.serve(req, res, { kind: 'search-feed', query: url.search, base: `http://${req.headers.host ?? 'localhost'}` }, { etag });
}

/**
 * A feed changes only with a new event: its ETag is the storage, the last seq, and the host it
 * links to (with the query, for a search feed), so a reader polling an unchanged feed costs a 304.
 */
function feedEtag(o: ApiOptions, req: IncomingMessage, query = ''): string {
  const vary = createHash('sha256').update(`${req.headers.host ?? ''}\n${query}`).digest('hex').slice(0, 8);
  return `"${o.changes.storageId}-${o.changes.lastSeq()}-${vary}"`;
}

/**
 * `GET /events?after=&limit=&wait=`: a page of the change feed. A held request (`wait=`) takes one
 * of a bounded number of places and gives it back when it answers or its client hangs up.
 */
async function events(o: ApiOptions, { url, res }: RouteRequest): Promise<void> {
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
