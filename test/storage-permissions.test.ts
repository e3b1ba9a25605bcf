import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { articleUrl } from '../src/mirror/site-model.js';
import { runCli } from './helpers/cli.js';
import { PROJECT } from './helpers/paths.js';
import { startServe } from './helpers/serve.js';
import { tempDir } from './helpers/storage.js';

/** The image runs as a plain user; the tests run as root, so they drop to nobody to see what it sees. */
const NOBODY = 65534;
const env = { NEWSNAP_NOW: '2025-12-15T12:00:00Z', NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_SERVE_PORT: '0' };

let mirror: MirrorServer;
beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('these tests run newsnap as another user and need root (CI runs as root)');
  // nobody must reach the project to run it: a clone inside a private folder (mktemp -d is 0700) cannot be.
  try {
    execFileSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(join(PROJECT, 'dist', 'cli', 'main.js'))})`], { uid: NOBODY, gid: NOBODY, stdio: 'pipe' });
  } catch {
    throw new Error(`these tests run newsnap as nobody (uid ${NOBODY}), who cannot reach ${PROJECT}: give every folder above it o+x (chmod 755), as a checkout in /tmp or /work has`);
  }
  mirror = new MirrorServer({ articles: 5, days: 1, lastDay: '20251215', crawlDelay: 0 });
  await mirror.listen();
});
afterAll(() => mirror?.close());

/** A folder as a host mount owned by root looks to the container's user. */
async function rootOwnedStorage(): Promise<string> {
  const base = await tempDir('newsnap-perm-');
  chmodSync(base, 0o755);
  const storage = join(base, 'storage');
  mkdirSync(storage, { mode: 0o755 });
  return storage;
}

describe('storage the process cannot write', () => {
  it('crawl, fetch and serve stop at start with exit 6, naming the folder, the uid and the fix, before any request', async () => {
    const storage = await rootOwnedStorage();
    const url = articleUrl(mirror.all()[0]!);
    for (const command of [['crawl'], ['fetch', url], ['serve']]) {
      const res = await runCli([...command, '--storage', storage, '--origin', mirror.baseUrl], { env, uid: NOBODY });
      expect(res.code, `${command[0]}: ${res.stderr.slice(-800)}`).toBe(6);
      expect(res.stderr).toContain(`newsnap: storage ${storage} is not writable by uid ${NOBODY} (gid ${NOBODY}), the user newsnap runs as.`);
      expect(res.stderr).toContain(`Fix: chown -R ${NOBODY}:${NOBODY} ${storage} (in a container: the host folder mounted there), or run newsnap as the folder's owner (docker run --user UID:GID`);
      expect(res.stderr).not.toContain('EACCES: permission denied, open');
    }
    expect(mirror.log).toEqual([]);
  });

  it('/readyz says the same once the folder stops being writable under a running serve', async () => {
    const storage = await rootOwnedStorage();
    chownSync(storage, NOBODY, NOBODY);
    const { child, api, done } = await startServe(['--storage', storage, '--origin', mirror.baseUrl, '--schedule', '0 0 1 1 *'], { env, uid: NOBODY });
    const ready = await fetch(`${api}/readyz`);
    expect(ready.status).toBe(200);

    chownSync(storage, 0, 0);
    const notReady = await fetch(`${api}/readyz`);
    expect(notReady.status).toBe(503);
    const body = (await notReady.json()) as { ready: boolean; storageWritable: boolean; problem: string };
    expect(body).toMatchObject({ ready: false, storageWritable: false });
    expect(body.problem).toBe(
      `storage ${storage} is not writable by uid ${NOBODY} (gid ${NOBODY}), the user newsnap runs as. Fix: chown -R ${NOBODY}:${NOBODY} ${storage} (in a container: the host folder mounted there), or run newsnap as the folder's owner (docker run --user UID:GID, compose "user:")`,
    );
    chownSync(storage, NOBODY, NOBODY);
    child.kill('SIGTERM');
    expect((await done).code).toBe(0);
  });
});
