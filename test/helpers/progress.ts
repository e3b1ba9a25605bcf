import { MirrorServer } from '../../src/mirror/index.js';

/**
 * Waiting on progress, not on a clock. A test's deadline is there to catch a hang, so it is
 * reset whenever the work under test shows that it moves: a child process of the CLI wrote
 * output, or a mirror served a request. A slow or busy machine only makes the wait longer; a
 * hang (nothing moves for `idleMs`) fails, saying what was still pending.
 */

/** Bytes written by every child process started through the helpers. */
let childOutput = 0;

/** Called by the CLI helpers with each chunk a child writes. */
export function childWrote(bytes: number): void {
  childOutput += bytes;
}

/** A number that grows while anything under test moves. */
export function activity(): number {
  return childOutput + MirrorServer.requestsServed;
}

/** Nothing moved for this long: a hang. Generous: a busy 2-core machine is slow, not stuck. */
export const IDLE_MS = 180_000;

/**
 * A deadline that moves on with progress. `expired()` is true once `progress()` has not changed
 * for `idleMs`; `describe()` says for how long and since when.
 */
export class Watchdog {
  private last: unknown;
  private lastChange = performance.now();
  private readonly started = performance.now();

  constructor(
    private readonly progress: () => unknown = activity,
    private readonly idleMs = IDLE_MS,
  ) {
    this.last = progress();
  }

  /** Marks progress now (a caller that sees it directly). */
  touch(): void {
    this.lastChange = performance.now();
  }

  expired(): boolean {
    const now = this.progress();
    if (now !== this.last) {
      this.last = now;
      this.lastChange = performance.now();
    }
    return performance.now() - this.lastChange > this.idleMs;
  }

  describe(): string {
    return `no progress for ${Math.round((performance.now() - this.lastChange) / 1000)} s (waited ${Math.round((performance.now() - this.started) / 1000)} s in all)`;
  }
}

export interface UntilOptions {
  /** What counts as progress (default: any child's output or any mirror request). */
  progress?: () => unknown;
  idleMs?: number;
  /**
   * The longest a wait may take however much moves (default 10 min): a serve's own polls are
   * activity too, and must not keep a hang alive until the test runner's timeout.
   */
  hangMs?: number;
  /** What is still pending, for the message when the wait gives up. */
  pending?: () => string | Promise<string>;
}

/** Polls `probe` until it gives a value; fails naming `what` once nothing has moved for `idleMs`. */
export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, o: UntilOptions = {}): Promise<T> {
  const dog = new Watchdog(o.progress, o.idleMs);
  const hangAt = performance.now() + (o.hangMs ?? 10 * 60_000);
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (dog.expired() || performance.now() > hangAt) {
      const pending = o.pending ? `; still pending: ${await o.pending()}` : '';
      throw new Error(`gave up waiting for ${what}: ${dog.describe()}${pending}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
