import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeOutcome } from '../../engine/pipeline/article-outcome.js';
import { BackfillConflict, parseBackfillRange } from '../../engine/lanes/backfill-lane.js';
import { OUTCOMES } from '../../storage/state/article-states.js';
import { StorageError } from '../../disk/storage-error.js';
import { BusyError, StoppingError, type CrawlService } from '../crawl-service.js';
import type { SiteUrls } from '../../site/site-urls.js';
import { send } from '../http-send.js';

const MAX_BODY = 16 * 1024;

/** `POST /fetch` and `POST /backfill`: a JSON body of bounded size (who may call them is the route table's). */
export async function post(service: CrawlService, urls: SiteUrls, req: IncomingMessage, res: ServerResponse, path: '/fetch' | '/backfill'): Promise<void> {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return send(res, 415, { error: 'send JSON: content-type application/json' });
  const body = await readBody(req, MAX_BODY);
  if (body === null) return send(res, 413, { error: `body over ${MAX_BODY} bytes` });
  let parsed: { url?: unknown; since?: unknown; until?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return send(res, 400, { error: `body is not valid JSON; send ${path === '/fetch' ? '{"url": "https://anlatilaninotesi.com.tr/YYYYMMDD/<slug>-<id>.html"}' : '{"since": "YYYY-MM-DD", "until": "YYYY-MM-DD"}'}` });
  }
  if (path === '/backfill') return backfill(service, res, parsed ?? {});
  return manualFetch(service, urls, res, parsed?.url);
}

/** `POST /fetch {"url"}`: one article now, answered with the outcome table's status. */
async function manualFetch(service: CrawlService, urls: SiteUrls, res: ServerResponse, url: unknown): Promise<void> {
  if (typeof url !== 'string') return send(res, 400, { error: 'body needs a "url" string' });
  const ref = urls.parseArticle(url);
  if (!ref) return send(res, 400, { error: `not an article URL of ${urls.base.origin}: ${url}` });
  try {
    const outcome = await service.fetch(ref);
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

/** `POST /backfill {"since", "until"}`: 202 with the backfill's status; 409 while another is under way. */
function backfill(service: CrawlService, res: ServerResponse, body: { since?: unknown; until?: unknown }): void {
  const range = parseBackfillRange(body);
  if (typeof range === 'string') return send(res, 400, { error: range });
  try {
    send(res, 202, service.requestBackfill(range));
  } catch (err) {
    if (err instanceof BackfillConflict) return send(res, 409, { error: err.message, backfill: service.status().backfill });
    if (err instanceof StoppingError) return send(res, 503, { error: err.message }, { 'retry-after': '30' });
    throw err;
  }
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
