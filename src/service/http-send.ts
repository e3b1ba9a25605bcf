import type { ServerResponse } from 'node:http';

/** A JSON answer (one line, newline-terminated). */
export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(`${JSON.stringify(body)}\n`);
}

export function notModified(res: ServerResponse, etag: string): void {
  res.writeHead(304, { etag, 'cache-control': 'no-cache' });
  res.end();
}
