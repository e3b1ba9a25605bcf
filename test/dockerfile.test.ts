import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect, OPERATOR_UA } from './helpers/cli.js';
import { PROJECT } from './helpers/paths.js';
import { tempDir } from './helpers/storage.js';
import { spawn } from 'node:child_process';

const dockerfile = readFileSync(join(PROJECT, 'Dockerfile'), 'utf8');
const NOBODY = 65534;

/**
 * No Docker engine runs here, so this performs the Dockerfile's steps in a scratch copy:
 * production dependencies only (the build stage's `npm prune --omit=dev`), the built CLI started
 * as an unprivileged user with storage in a fresh folder, and `serve` answering /healthz.
 */
describe('Dockerfile, performed without Docker', () => {
  it('declares the runtime the tests below perform', () => {
    for (const line of [
      'FROM node:20-bookworm-slim AS build',
      'FROM node:20-bookworm-slim AS runtime',
      'RUN npm ci --no-audit --no-fund',
      'npm prune --omit=dev',
      'apt-get install -y --no-install-recommends chromium',
      'USER node',
      'VOLUME ["/app/storage"]',
      'HEALTHCHECK',
      '/healthz',
      'ENTRYPOINT ["newsnap"]',
      'CMD ["serve"]',
    ]) {
      expect(dockerfile, line).toContain(line);
    }
    const ignored = readFileSync(join(PROJECT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['node_modules', 'storage', '.git']) expect(ignored).toContain(p);
  });

  it('production install without dev dependencies; serve runs as an unprivileged user and answers /healthz', async () => {
    const scratch = await tempDir('newsnap-image-');
    chmodSync(scratch, 0o755);
    for (const p of ['package.json', 'package-lock.json', 'dist', 'config', 'node_modules']) cpSync(join(PROJECT, p), join(scratch, p), { recursive: true });
    execFileSync('npm', ['prune', '--omit=dev', '--no-audit', '--no-fund'], { cwd: scratch, stdio: 'pipe', env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' } });
    // (@types/node is no longer a test of this: warcio lists @types packages as runtime dependencies.)
    for (const dev of ['vitest', 'typescript', 'yaml', '@types/better-sqlite3']) expect(existsSync(join(scratch, 'node_modules', dev)), dev).toBe(false);
    for (const prod of ['better-sqlite3', 'cheerio', 'playwright', 'pino', 'croner', 'prom-client', 'warcio', 'piscina', 'diff']) expect(existsSync(join(scratch, 'node_modules', prod)), prod).toBe(true);

    // The image runs as a plain user: that is what this performs, so it needs root to switch users (CI runs as root).
    if (process.getuid?.() !== 0) throw new Error('this test starts the CLI as an unprivileged user, as the image does, and needs root to do so (CI runs as root)');
    const storage = join(scratch, 'storage');
    mkdirSync(storage);
    chownSync(storage, NOBODY, NOBODY);
    const child = spawn(process.execPath, [join(scratch, 'dist/cli/main.js'), 'serve'], {
      cwd: scratch,
      env: { PATH: process.env.PATH ?? '', NEWSNAP_STORAGE: storage, NEWSNAP_SERVE_PORT: '0', NEWSNAP_SERVE_SCHEDULE: '0 0 1 1 *', NEWSNAP_DISCOVERY_FEED_EVERY: 'off', NEWSNAP_LOG_LEVEL: 'info', NEWSNAP_HTTP_USER_AGENT: OPERATOR_UA },
      stdio: ['ignore', 'pipe', 'pipe'],
      uid: NOBODY,
      gid: NOBODY,
    });
    const done = collect(child);
    const api = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stderr!.on('data', (c: Buffer) => {
        buf += c.toString();
        const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(buf);
        if (m) resolve(m[1]!);
      });
      child.on('exit', () => reject(new Error(`serve exited:\n${buf}`)));
    });
    const res = await fetch(`${api}/healthz`);
    expect(res.status).toBe(200);
    expect(((await (await fetch(`${api}/readyz`)).json()) as { ready: boolean }).ready).toBe(true);
    const uid = execFileSync('ps', ['-o', 'uid=', '-p', String(child.pid)]).toString().trim();
    expect(Number(uid)).toBe(NOBODY);
    child.kill('SIGTERM');
    expect((await done).code).toBe(0);
    expect(existsSync(join(storage, 'state.sqlite'))).toBe(true);
  });
});

