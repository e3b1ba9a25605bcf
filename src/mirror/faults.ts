import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';

export type FaultKind = 'status' | 'timeout' | 'reset' | 'drip' | 'truncated' | 'huge' | 'gzip-bomb' | 'redirect' | 'not-html' | 'invalid-utf8' | 'body' | 'slow';

/** A switch a test flips: requests whose path matches answer with this fault. */
export interface Fault {
  /** Exact path (with query), or a prefix ending in `*`. */
  path: string;
  kind: FaultKind;
  status?: number;
  headers?: Record<string, string>;
  /** For `redirect`: the Location; for `body`: the body. */
  location?: string;
  body?: string;
  /** For `slow`: how long the answer is held before the page is served as usual. */
  delayMs?: number;
  /** How many requests it hits; default every one. */
  times?: number;
}

let bomb: Buffer | null = null;
/** 50 MiB of spaces in ~50 KiB of gzip. */
export function gzipBomb(): Buffer {
  bomb ??= gzipSync(Buffer.alloc(50 << 20, 0x20), { level: 9 });
  return bomb;
}

/** Answers a request the way a fault says, or (for `slow`) serves it late through `serve`. */
export function applyFault(f: Fault, req: IncomingMessage, res: ServerResponse, serve: () => void): void {
  switch (f.kind) {
    case 'status':
      res.writeHead(f.status ?? 500, { 'content-type': 'text/html; charset=utf-8', ...f.headers });
      res.end(`<html><body>error ${f.status ?? 500}</body></html>`);
      return;
    case 'timeout':
      // Never answer: the client's deadline must end it.
      req.socket.setTimeout(0);
      return;
    case 'reset':
      req.socket.destroy();
      return;
    case 'drip': {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      const timer = setInterval(() => res.write('.'), 1000);
      res.on('close', () => clearInterval(timer));
      return;
    }
    case 'truncated':
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': '100000' });
      res.write('<html><body>cut');
      setTimeout(() => req.socket.destroy(), 50);
      return;
    case 'huge': {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      const chunk = Buffer.alloc(1 << 20, 0x61);
      let sent = 0;
      const pump = () => {
        while (sent < 64 && !res.destroyed) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    case 'gzip-bomb':
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-encoding': 'gzip' });
      res.end(gzipBomb());
      return;
    case 'redirect':
      res.writeHead(f.status ?? 302, { location: f.location ?? '/' });
      res.end();
      return;
    case 'not-html':
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
      return;
    case 'invalid-utf8':
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(Buffer.from([0x3c, 0x68, 0x31, 0x3e, 0xff, 0xfe, 0xc3, 0x28]));
      return;
    case 'body':
      res.writeHead(f.status ?? 200, { 'content-type': 'text/html; charset=utf-8', ...f.headers });
      res.end(f.body ?? '');
      return;
    case 'slow': {
      const timer = setTimeout(() => {
        if (!res.destroyed) serve();
      }, f.delayMs ?? 2000);
      res.on('close', () => clearTimeout(timer));
      return;
    }
  }
}
