import type { IncomingMessage, ServerResponse } from 'node:http';
import { nowMs } from '../clock/clock.js';
import type { ArticleEdit } from './article-edits.js';
import type { Fault } from './faults.js';

/** What the control endpoints do to the mirror. */
export interface ControlledMirror {
  readonly log: unknown[];
  publish(n: number): Array<{ id: string }>;
  remove(id: string, status: 404 | 410): void;
  restore(id: string): void;
  drift(id: string, drifted?: boolean): void;
  challenge(id: string, status?: number | null): void;
  bumpLastmod(id: string, at: string): void;
  edit(id: string, edit: ArticleEdit): { id: string };
  addFault(fault: Fault): void;
}

/**
 * The mirror's control endpoints under `/__mirror/` (not logged): what a test or benchmark in
 * another process does to the site — publish, edit, remove, fault — and the request log.
 */
export function handleControl(mirror: ControlledMirror, req: IncomingMessage, res: ServerResponse, path: string): void {
  const json = (status: number, value: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  };
  const url = new URL(path, 'http://mirror.invalid');
  if (url.pathname === '/__mirror/log') return json(200, mirror.log);
  if (url.pathname === '/__mirror/publish' && req.method === 'POST') {
    const added = mirror.publish(Number(url.searchParams.get('count') ?? '1'));
    return json(200, added.map((a) => a.id));
  }
  const id = url.searchParams.get('id') ?? '';
  const act = (fn: () => unknown) => {
    try {
      json(200, fn() ?? { ok: true });
    } catch (err) {
      json(400, { error: (err as Error).message });
    }
  };
  if (url.pathname === '/__mirror/remove' && req.method === 'POST') return act(() => mirror.remove(id, url.searchParams.get('status') === '410' ? 410 : 404));
  if (url.pathname === '/__mirror/restore' && req.method === 'POST') return act(() => mirror.restore(id));
  if (url.pathname === '/__mirror/drift' && req.method === 'POST') return act(() => mirror.drift(id, url.searchParams.get('off') === null));
  if (url.pathname === '/__mirror/challenge' && req.method === 'POST') {
    const status = url.searchParams.get('status');
    return act(() => mirror.challenge(id, status === 'off' ? null : Number(status ?? '200')));
  }
  if (url.pathname === '/__mirror/lastmod' && req.method === 'POST') return act(() => mirror.bumpLastmod(id, url.searchParams.get('at') ?? new Date(nowMs()).toISOString()));
  if (url.pathname === '/__mirror/edit' && req.method === 'POST') {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => act(() => ({ id: mirror.edit(id, JSON.parse(body) as ArticleEdit).id })));
    return;
  }
  if (url.pathname === '/__mirror/fault' && req.method === 'POST') {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      try {
        mirror.addFault(JSON.parse(body) as Fault);
        json(200, { ok: true });
      } catch (err) {
        json(400, { error: (err as Error).message });
      }
    });
    return;
  }
  json(404, { error: 'unknown control endpoint' });
}
