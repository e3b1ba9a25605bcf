import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import { DEFAULTS } from '../../src/config/config.js';
import { exportSite } from '../../src/export/exporters.js';
import { createLogger } from '../../src/log/logger.js';
import type { ExportBuilds as Builds } from '../../src/service/export-builds.js';
import { tempDir } from './storage.js';

// The built one: its children run the compiled task module (node runs no TypeScript).
const { ExportBuilds } = (await import(new URL('../../dist/service/export-builds.js', import.meta.url).href)) as typeof import('../../src/service/export-builds.js');

export interface Served {
  url: string;
  builds: Builds;
  staging: string;
  close: () => Promise<void>;
}

/** serve's exports alone, over HTTP on 127.0.0.1, with a staging folder a kill -9 left something in. */
export async function serveBuilds(o: { root: string; maxQueued?: number; hold?: boolean; stallMs?: number }): Promise<Served> {
  const staging = join(await tempDir(), 'exports');
  mkdirSync(staging);
  writeFileSync(join(staging, '7.wacz'), 'left by a kill -9');
  const builds = await ExportBuilds.open({
    root: o.root,
    staging,
    maxQueued: o.maxQueued ?? 4,
    data: exportSite(DEFAULTS),
    log: createLogger('silent'),
    ...(o.hold ? { env: { ...process.env, NEWSNAP_TEST_HOLD_EXPORTS: '1' } } : {}),
    ...(o.stallMs === undefined ? {} : { stallMs: o.stallMs }),
  });
  expect(readdirSync(staging), 'cleaned at open').toEqual([]);
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    // `stall=1`: a client that takes no byte (its writes held, no room ever comes).
    if (u.searchParams.has('stall')) res.write = () => false;
    void builds.handle(req, res, u.searchParams, u.pathname === '/export.wacz' ? 'wacz' : undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    builds,
    staging,
    close: async () => {
      await builds.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
