import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { sendFile } from '../../src/service/file-ranges.js';
import { PROJECT } from './paths.js';

/**
 * ReplayWeb.page, a TEST tool only (AGPL-3.0: never shipped, never a dependency). Its npm
 * package cannot be installed here (a dependency wants a warcio the registry does not have), but
 * its ui.js and sw.js are self-contained bundles: the tarball is fetched from the npm registry
 * with `npm pack` once, and unpacked under node_modules/.cache (npm ci clears it; nothing is
 * committed).
 */
export const REPLAYWEBPAGE = 'replaywebpage@2.5.3';

export function replayWebPageDir(): string {
  const dir = join(PROJECT, 'node_modules/.cache/newsnap-test-tools/replaywebpage-2.5.3');
  if (existsSync(join(dir, 'package/sw.js'))) return join(dir, 'package');
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const tarball = execFileSync('npm', ['pack', REPLAYWEBPAGE, '--silent'], { cwd: work, encoding: 'utf8' }).trim().split('\n').at(-1) as string;
  execFileSync('tar', ['xzf', tarball], { cwd: work });
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  return join(dir, 'package');
}

export interface ReplayServer {
  origin: string;
  /** Requests served so far (progress for until()). */
  requests: number;
  /** Paths requested, in order. */
  paths: string[];
  /** Byte ranges asked of the WACZ, in order, as [first, last]. */
  ranges: Array<[number, number]>;
  close(): Promise<void>;
}

/**
 * One origin on 127.0.0.1 that serves ReplayWeb.page and a WACZ, as its docs ask for a site
 * embedding it: ui.js and sw.js at the root, replay/ui.js, and replay/sw.js importing ../sw.js
 * (the service worker's scope is /replay/); `/x.wacz` with Range support; `/?url=…&ts=…` a page
 * holding <replay-web-page> for that URL and time.
 */
export async function startReplayServer(wacz: string): Promise<ReplayServer> {
  const tool = replayWebPageDir();
  const ui = readFileSync(join(tool, 'ui.js'));
  const sw = readFileSync(join(tool, 'sw.js'));
  const js = { 'content-type': 'application/javascript' };
  const state = { requests: 0, paths: [] as string[], ranges: [] as Array<[number, number]> };
  const server: Server = createServer((req, res) => {
    state.requests++;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    state.paths.push(url.pathname);
    if (url.pathname === '/ui.js' || url.pathname === '/replay/ui.js') return void res.writeHead(200, js).end(ui);
    if (url.pathname === '/sw.js') return void res.writeHead(200, js).end(sw);
    if (url.pathname === '/replay/sw.js') return void res.writeHead(200, js).end('importScripts("../sw.js");\n');
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (url.pathname === '/x.wacz' && range) state.ranges.push([Number(range[1]), Number(range[2])]);
    if (url.pathname === '/x.wacz') return void open(wacz, 'r').then((file) => sendFile(req, res, file, { 'content-type': 'application/wacz' }, '"x"')).catch(() => res.destroy());
    if (url.pathname === '/') {
      const attr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return void res.end(
        `<!DOCTYPE html><meta charset="utf-8"><title>replay</title><script src="/ui.js"></script>` +
          `<style>html,body{margin:0;height:100%}replay-web-page{display:block;height:100vh}</style>` +
          `<replay-web-page source="/x.wacz" url="${attr(url.searchParams.get('url') ?? '')}" ts="${attr(url.searchParams.get('ts') ?? '')}" replayBase="/replay/" embed="replayonly"></replay-web-page>`,
      );
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not here\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    get requests() {
      return state.requests;
    },
    paths: state.paths,
    ranges: state.ranges,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
