import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PAGE_HEADERS } from '../status-pages.js';
import { send } from '../http-send.js';

/**
 * Who may call a route:
 * - `open`: anyone (health, readiness, metrics, status: an orchestrator's probes);
 * - `pages`: anyone, unless serve.protectPages, then the token (bearer, or HTTP Basic's password
 *   so that a browser's own login prompt works);
 * - `guarded`: what makes newsnap work or read hard (POST /fetch, /backfill, search, exports):
 *   with serve.token set, the token (a GET may give it as HTTP Basic's password too, as feed
 *   readers and replay tools can); without it, this machine only (403 from another).
 */
export type Access = 'open' | 'pages' | 'guarded';

export interface AccessRules {
  token: string;
  protectPages: boolean;
}

/** Whether the request may go on; when not, the refusal has been sent. */
export function admit(rules: AccessRules, access: Access, req: IncomingMessage, res: ServerResponse, what: string): boolean {
  if (access === 'open') return true;
  if (access === 'pages') {
    if (!rules.protectPages || !rules.token || authorized(req.headers.authorization, rules.token, { basic: true })) return true;
    res.writeHead(401, { ...PAGE_HEADERS, 'www-authenticate': 'Basic realm="newsnap", charset="UTF-8"' });
    res.end('<!DOCTYPE html><title>newsnap</title><p>The status pages and feeds need the token (serve.token): give it as the password.</p>');
    return false;
  }
  if (rules.token) {
    if (authorized(req.headers.authorization, rules.token, { basic: req.method !== 'POST' })) return true;
    send(res, 401, { error: 'missing or wrong bearer token' }, { 'www-authenticate': 'Bearer' });
    return false;
  }
  if (isLoopback(req.socket.remoteAddress)) return true;
  send(res, 403, { error: `${what} from another machine needs a token: set serve.token (NEWSNAP_SERVE_TOKEN) and send "Authorization: Bearer <token>"` });
  return false;
}

/**
 * The token as `Authorization: Bearer <token>`, or (pages only) as the password of HTTP Basic,
 * whatever the user name. Compared in constant time.
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
