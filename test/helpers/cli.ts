import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, PROJECT } from './paths.js';
import { childWrote, IDLE_MS } from './progress.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs the built CLI as a child process, as a user would. */
export interface CliOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Run as this user (the tests run as root; newsnap's image runs as a plain user). */
  uid?: number;
  gid?: number;
}

export function runCli(args: string[], options: CliOptions & { idleMs?: number } = {}): Promise<CliResult> {
  const child = startCli(args, options);
  return collect(child, options.idleMs);
}

export function startCli(args: string[], options: CliOptions = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? PROJECT,
    env: { ...process.env, NEWSNAP_LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid }),
  });
}

/**
 * The child's output and exit. Only a hang fails it: the child is killed once it has written
 * nothing for `idleMs` (a crawl logs its progress every 10 s; a slow machine only makes it
 * longer), and the error says so with the end of its log.
 */
export function collect(child: ChildProcess, idleMs = IDLE_MS): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    let err = '';
    let timer: NodeJS.Timeout;
    const hang = () => {
      child.kill('SIGKILL');
      reject(new Error(`CLI wrote nothing for ${idleMs / 1000} s (a hang) and was killed; stderr so far:\n${err.slice(-4000)}`));
    };
    const moved = (bytes: number) => {
      childWrote(bytes);
      clearTimeout(timer);
      timer = setTimeout(hang, idleMs);
    };
    timer = setTimeout(hang, idleMs);
    child.stdout?.on('data', (c: Buffer) => {
      out.push(c);
      moved(c.length);
    });
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      moved(c.length);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err });
    });
  });
}

/** Parses pino JSON lines from stderr, ignoring anything else. */
export function logRecords(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}

/** A User-Agent with a contact of its own, for runs against the site itself (no --origin). */
export const OPERATOR_UA = 'newsnap/0.2 (+https://archive.newsnap.test/crawler; mailto:crawler@newsnap.test)';
