import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { admit } from './api/access.js';
import type { ApiOptions } from './api/api-options.js';
import { send } from './http-send.js';
import { describeRoutes, findRoute } from './api/routes.js';

export type { ApiOptions, ExportHandler } from './api/api-options.js';
export { isLoopback } from './api/access.js';
export { ROUTES, type Route, type RouteClass } from './api/routes.js';

/** The service's HTTP API: every route in one table (api/routes.ts), each with its class and who may call it. */
export function createApi(o: ApiOptions): Server {
  const server = createServer((req, res) => {
    handle(o, req, res).catch((err: Error) => {
      o.log.error({ err: err.message }, 'API request failed');
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  return server;
}

async function handle(o: ApiOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://api.invalid');
  const method = req.method ?? 'GET';
  const found = findRoute(url.pathname);
  if (!found) return send(res, 404, { error: `not found: ${describeRoutes()}` });
  const { route, match } = found;
  // HEAD wherever GET is (RFC 9110): the same answer, its body left out by node:http.
  const allowed = route.methods.includes(method) || (method === 'HEAD' && route.methods.includes('GET'));
  if (!allowed) return send(res, 405, { error: `use ${route.methods.join(' or ')}` }, { allow: route.methods.join(', ') });
  if (!admit(o, route.access, req, res, `${method} ${url.pathname}`)) return;
  return route.handler(o, { req, res, url, match });
}

export async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
}
