// The world of the fault campaign: the mirror (which publishes, edits and removes articles), a
// webhook receiver that verifies signatures, `newsnap serve` as a child process that can be killed
// and started again, and the small volume its storage lives on.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statfsSync, unlinkSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export function world(root) {
  const require = createRequire(join(root, 'package.json'));
  return { require, cli: join(root, 'dist/cli/main.js') };
}

/** A tmpfs of `mb` megabytes with a storage folder on it; `fill()` takes every free byte, `free()` gives it back. */
export function smallVolume(mount, mb) {
  mkdirSync(mount, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m`, 'tmpfs', mount]);
  const storage = join(mount, 'storage');
  mkdirSync(storage);
  const ballast = join(mount, 'ballast');
  return {
    storage,
    fill() {
      // Written until the disk says it is full: whatever newsnap writes meanwhile, nothing is left.
      spawnSync('dd', ['if=/dev/zero', `of=${ballast}`, 'bs=1M'], { stdio: 'ignore' });
      return statfsSync(mount).bavail === 0;
    },
    free() {
      if (existsSync(ballast)) unlinkSync(ballast);
    },
    unmount() {
      execFileSync('umount', ['-l', mount]);
    },
  };
}

/** A receiver of Standard Webhooks: verifies each signature, records ids; can go down, be slow or answer 500. */
export function receiver(require, secret) {
  const { Webhook } = require('standardwebhooks');
  const verifier = new Webhook(secret);
  const r = { got: [], mode: 'ok', slowMs: 0, server: null, sockets: new Set(), port: 0, url: '' };
  const handle = (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      let valid = true;
      try {
        verifier.verify(body, req.headers);
      } catch {
        valid = false;
      }
      const answer = () => {
        const status = r.mode === 'error' ? 500 : 204;
        if (status === 204) r.got.push({ id: String(req.headers['webhook-id']), valid, at: Date.now() });
        res.writeHead(status).end();
      };
      if (r.mode === 'slow') setTimeout(answer, r.slowMs);
      else answer();
    });
  };
  r.start = () =>
    new Promise((resolve) => {
      const server = createServer(handle);
      server.on('connection', (s) => {
        r.sockets.add(s);
        s.on('close', () => r.sockets.delete(s));
      });
      server.listen(r.port, '127.0.0.1', () => {
        r.port = server.address().port;
        r.url = `http://127.0.0.1:${r.port}/hook`;
        r.server = server;
        resolve();
      });
    });
  r.stop = () =>
    new Promise((resolve) => {
      for (const s of r.sockets) s.destroy();
      if (!r.server) return resolve();
      r.server.close(() => resolve());
      r.server = null;
    });
  return r;
}

/** `newsnap serve` as a child process, started again after each kill; records every exit and its RSS. */
export function service(cli, args, env, log) {
  const s = { child: null, exits: [], rss: [], api: '', stderrTail: '' };
  s.start = () =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [cli, 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      s.child = child;
      let buf = '';
      const started = Date.now();
      child.stderr.on('data', (c) => {
        buf += c;
        s.stderrTail = (s.stderrTail + c).slice(-20_000);
        const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*newsnap serve listening/.exec(buf);
        if (m && !s.api) s.api = m[1];
        if (m) {
          buf = '';
          resolve(child);
        }
        if (/unhandled|Unhandled/.test(String(c))) log(`!! serve printed: ${String(c).slice(0, 300)}`);
      });
      child.on('exit', (code, signal) => {
        s.exits.push({ pid: child.pid, code, signal, expected: child.expected ?? null, after: Date.now() - started });
        if (s.child === child) s.child = null;
        reject(new Error(`serve exited (${code ?? signal}) before listening:\n${s.stderrTail.slice(-3000)}`));
      });
    });
  /** Stops it with `signal` (expected), waits for the exit; returns how long it took. */
  s.stop = async (signal) => {
    const child = s.child;
    if (!child) return 0;
    child.expected = signal;
    const t = Date.now();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    return Date.now() - t;
  };
  s.sampleRss = () => {
    const pid = s.child?.pid;
    if (!pid) return;
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
      if (kb) s.rss.push({ t: Date.now(), pid, mb: kb / 1024 });
    } catch {
      // The process just ended.
    }
  };
  return s;
}

/** Holds a write lock on the state database from another process; `release()` ends it. */
export function lockState(require, storage) {
  const sqlite = require.resolve('better-sqlite3');
  const script = `const D = require(${JSON.stringify(sqlite)}); const db = new D(${JSON.stringify(join(storage, 'state.sqlite'))}, { timeout: 60000 }); db.exec('BEGIN IMMEDIATE'); process.stdout.write('held\\n'); process.stdin.on('data', () => { db.exec('ROLLBACK'); db.close(); process.exit(0); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const held = new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
  });
  return {
    held,
    release: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.stdin.write('go\n');
      }),
  };
}

export function sha256(text) {
  return createHash('sha256').update(text).digest('hex');
}
