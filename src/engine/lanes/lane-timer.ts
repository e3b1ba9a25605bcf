import { nowMs } from '../../clock/clock.js';

/**
 * The timer of a lane that polls between crawls (the feed watch, the sweep): one step at a time,
 * the next planned by the lane when a step ends (its interval may depend on what the step met),
 * none after `stop`, which waits for the step under way.
 */
export class LaneTimer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private at: number | null = null;
  private stopped = false;

  constructor(private readonly step: () => Promise<void>) {}

  /** Plans the next step `ms` from now (nothing once stopped). */
  after(ms: number): void {
    if (this.stopped) return;
    this.at = nowMs() + ms;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.step().finally(() => (this.running = null));
    }, ms);
    // A planned step never keeps the process alive: shutdown is the lanes' stop, not an empty loop.
    this.timer.unref();
  }

  /** When the next step starts (ISO), or null when none is planned. */
  get nextAt(): string | null {
    return this.at === null ? null : new Date(this.at).toISOString();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.at = null;
    await this.running;
  }
}
