import { readdirSync, readFileSync } from 'node:fs';

/**
 * The browser processes one newsnap process started, found through /proc (Linux). Playwright
 * launches Chromium as the leader of its own process group, and its renderers and zygotes stay
 * in that group; its crashpad handlers leave it (they double-fork into their own session) but
 * inherit its environment. So the browser is launched with `NEWSNAP_BROWSER_OWNER=<pid>`, and
 * "our" processes are those carrying that tag plus every member of their process groups. Where
 * /proc is missing nothing is found, and Playwright's own exit handler is the only safety net.
 */
export const OWNER_ENV = 'NEWSNAP_BROWSER_OWNER';

interface ProcInfo {
  pid: number;
  pgid: number;
  comm: string;
  zombie: boolean;
}

function readStat(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may itself hold spaces or parentheses: split after the last ')'.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    return { pid, comm: stat.slice(stat.indexOf('(') + 1, close), zombie: fields[0] === 'Z', pgid: Number(fields[2]) };
  } catch {
    return null;
  }
}

function hasOwnerTag(pid: number, tag: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(tag);
  } catch {
    return false;
  }
}

function liveProcesses(): ProcInfo[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcInfo[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const info = readStat(Number(name));
    if (info && !info.zombie) out.push(info);
  }
  return out;
}

/** The environment a browser of this process is launched with. */
export function ownerEnvironment(owner = process.pid): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  env[OWNER_ENV] = String(owner);
  return env;
}

/**
 * Live browser processes started by `owner` (a newsnap pid), with their process groups.
 * `knownGroups` adds groups seen earlier: once a browser's leader is gone, its remaining
 * members carry no tag of their own.
 */
export function ownedBrowserProcesses(owner = process.pid, knownGroups: Iterable<number> = []): { pids: number[]; groups: number[] } {
  const tag = `${OWNER_ENV}=${owner}`;
  const procs = liveProcesses();
  const groups = new Set<number>(knownGroups);
  const pids = new Set<number>();
  for (const p of procs) {
    if (p.pid === owner || !hasOwnerTag(p.pid, tag)) continue;
    pids.add(p.pid);
    // A crashpad handler leads its own session: its group is its own, not the browser's.
    if (p.pgid > 1 && p.pgid !== owner) groups.add(p.pgid);
  }
  for (const p of procs) if (groups.has(p.pgid) && p.pid !== owner) pids.add(p.pid);
  return { pids: [...pids], groups: [...groups] };
}

/** SIGKILLs every browser process of `owner`. */
export function killOwnedBrowsers(owner = process.pid): void {
  const { pids, groups } = ownedBrowserProcesses(owner);
  for (const g of groups) signal(-g);
  for (const p of pids) signal(p);
}

/**
 * SIGKILLs every browser process of `owner` and blocks until the kernel has ended them (or `ms`
 * passed): the forced exit that calls it ends the process next, and a killed process under load
 * can take a moment to die, so "exited" must not come before "no browser left".
 */
export function killOwnedBrowsersSync(ms: number, owner = process.pid): void {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const deadline = performance.now() + ms;
  do {
    killOwnedBrowsers(owner);
    if (ownedBrowserProcesses(owner).pids.length === 0) return;
    Atomics.wait(nap, 0, 0, 20);
  } while (performance.now() < deadline);
}

/** Waits until no browser process of `owner` is alive, or `ms` passed; true when all are gone. */
export async function waitOwnedBrowsersGone(ms: number, owner = process.pid): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (ownedBrowserProcesses(owner).pids.length === 0) return true;
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function signal(target: number): void {
  try {
    process.kill(target, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
