import { ownedBrowserProcesses } from '../../src/fetch/browser-processes.js';

/**
 * Watches the browser processes of one newsnap child process (tagged with its pid, plus every
 * member of their process groups), so that after the child exits the test can tell whether any
 * of them outlived it. Tests run in parallel, so counting every Chromium on the machine would
 * not do.
 */
export class BrowserWatch {
  private readonly groups = new Set<number>();
  private readonly pids = new Set<number>();

  constructor(private readonly owner: number) {}

  /** Records what runs now; returns how many browser processes that is. */
  sample(): number {
    const { pids, groups } = ownedBrowserProcesses(this.owner, this.groups);
    for (const g of groups) this.groups.add(g);
    for (const p of pids) this.pids.add(p);
    return pids.length;
  }

  /** Browser processes seen so far (for a test to assert it really had some). */
  get seen(): number {
    return this.pids.size;
  }

  /** Live processes of the child's browsers now. */
  alive(): number[] {
    return ownedBrowserProcesses(this.owner, this.groups).pids;
  }
}

/** Whether a process of this id runs (signal 0 only asks). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
