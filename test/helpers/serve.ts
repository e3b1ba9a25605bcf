import type { ChildProcess } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { collect, startCli, type CliOptions, type CliResult } from './cli.js';

import { until } from './progress.js';

export { until };

export interface Served {
  child: ChildProcess;
  /** The API's base URL, e.g. http://127.0.0.1:41234. */
  api: string;
  /** Resolves when the process exits. */
  done: Promise<CliResult>;
  /** Kills it if it still runs (for cleanup after a failed test). */
  kill(): Promise<void>;
}

/**
 * Starts `newsnap serve` on a free port and resolves once it listens. One given no mirror (no
 * --origin) points at the site itself: its feed watch, which would read the site's feed at once,
 * is off, so that no test ever sends a request beyond 127.0.0.1.
 */
export async function startServe(args: string[], options: CliOptions = {}): Promise<Served> {
  const onSite = !args.includes('--origin') && !options.env?.NEWSNAP_ORIGIN;
  const child = startCli(['serve', ...args], { ...options, env: { NEWSNAP_SERVE_PORT: '0', ...(onSite ? { NEWSNAP_DISCOVERY_FEED_EVERY: 'off' } : {}), ...options.env } });
  const done = collect(child);
  const api = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stderr!.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = /"url":"http:\/\/(127\.0\.0\.1|0\.0\.0\.0):(\d+)"[^\n]*newsnap serve listening/.exec(buf);
      // One listening on every address is asked on loopback.
      if (m) resolve(`http://127.0.0.1:${m[2]}`);
    });
    child.on('exit', () => reject(new Error(`serve exited early:\n${buf}`)));
  });
  return {
    child,
    api,
    done,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await done.catch(() => undefined);
    },
  };
}

/**
 * A serve on a store that never crawled crawls at once: resolves once that first run has ended,
 * so that a test can count the requests its own actions cause.
 */
export function firstCrawlEnded(api: string): Promise<true> {
  return until('the first crawl of the new store', async () => {
    const status = (await (await fetch(`${api}/status`)).json()) as { recentRuns: Array<{ finishedAt: string | null }> };
    return status.recentRuns.some((r) => r.finishedAt) ? true : undefined;
  });
}

/** An address of this machine that is not loopback, for a client that comes from "elsewhere". */
export function outsideAddress(): string {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal);
  if (!found) throw new Error('this test needs a network interface with a non-loopback IPv4 address (e.g. eth0)');
  return found.address;
}
