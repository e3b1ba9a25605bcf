import { delay } from '../clock/delay.js';
import { linkedSignal } from '../clock/abort.js';

/**
 * A sliding-window rate gate: at most `cap` requests in any rolling `windowMs`, as the server
 * sees them, first come first served, plus a pause that holds everything until a given time
 * (a `Retry-After`).
 *
 * A request reaches the server some time after it is let through (event-loop work, connection
 * set-up), so a slot is not stamped when granted: it counts as current while the request is in
 * flight and is stamped when the request ends. Any request that arrived within a window of a new
 * one therefore still counts against it, whatever the delays.
 */
export class SlidingWindowGate {
  private ended: number[] = [];
  private inFlight = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private pausedUntil = 0;
  private wake: (() => void) | null = null;

  /** `cap` = Infinity turns the limit off; pauses still apply. */
  constructor(
    private cap: number,
    private windowMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Changes the limit, keeping what was already sent in the window. */
  configure(cap: number, windowMs: number): void {
    this.cap = cap;
    this.windowMs = windowMs;
  }

  /** Waits for a slot; call the returned `release` when the request has ended. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const turn = this.chain.then(() => this.waitForSlot(signal));
    this.chain = turn.catch(() => undefined);
    return turn;
  }

  /**
   * Counts a request that went out without waiting for a slot (one made within a granted one),
   * so later acquisitions wait for it to leave the window. Never waits itself, so it cannot
   * deadlock on the slot its attempt holds.
   */
  spend(): void {
    if (this.cap === Number.POSITIVE_INFINITY) return;
    // Stamped no earlier than the window allows (in the future when it is full): a render's burst
    // of sub-requests is a debt the attempts after it pay, not one window's worth forgiven.
    const stamps = [...this.ended].sort((a, b) => a - b);
    const due = stamps.length - this.cap;
    this.ended.push(due >= 0 ? Math.max(this.now(), stamps[due]! + this.windowMs) : this.now());
  }

  /** Holds every acquisition until `ms` from now (never shortens an existing pause). */
  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  private async waitForSlot(signal?: AbortSignal): Promise<() => void> {
    for (;;) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      const now = this.now();
      if (now < this.pausedUntil) {
        await delay(this.pausedUntil - now, signal);
        continue;
      }
      if (this.cap === Number.POSITIVE_INFINITY) return () => undefined;
      const since = now - this.windowMs;
      this.ended = this.ended.filter((t) => t > since);
      if (this.inFlight + this.ended.length < this.cap) return this.take();
      // Full: the oldest ended request leaves the window, or an in-flight one ends.
      const oldest = this.ended.length > 0 ? Math.min(...this.ended) : Number.POSITIVE_INFINITY;
      const settled = new AbortController();
      const link = linkedSignal([signal, settled.signal]);
      const timerSignal = link.signal;
      await Promise.race([
        oldest === Number.POSITIVE_INFINITY ? new Promise<void>(() => undefined) : delay(oldest + this.windowMs - now, timerSignal),
        new Promise<void>((resolve) => {
          this.wake = resolve;
          timerSignal.addEventListener('abort', () => resolve(), { once: true });
        }),
      ]);
      settled.abort();
      link.dispose();
      this.wake = null;
    }
  }

  private take(): () => void {
    this.inFlight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
      this.ended.push(this.now());
      this.wake?.();
    };
  }
}
