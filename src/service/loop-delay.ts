import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** The engine's thread's event-loop delay, in milliseconds. */
export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Each figure covers the last one to two windows: a stall is seen for at least a minute after it. */
const WINDOW_MS = 60_000;

/**
 * How long the engine's thread keeps timers and sockets waiting (perf_hooks.monitorEventLoopDelay):
 * the proof that no reader holds it. Figures cover the window now filling and the one before.
 */
export class LoopDelayMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private previous: LoopDelay = { p50Ms: 0, p99Ms: 0, maxMs: 0 };
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.previous = this.read();
      this.histogram.reset();
    }, WINDOW_MS);
    this.timer.unref();
  }

  now(): LoopDelay {
    const current = this.read();
    return { p50Ms: Math.max(current.p50Ms, this.previous.p50Ms), p99Ms: Math.max(current.p99Ms, this.previous.p99Ms), maxMs: Math.max(current.maxMs, this.previous.maxMs) };
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private read(): LoopDelay {
    const h = this.histogram;
    // Nanoseconds; the resolution (10 ms) is subtracted so that an idle loop reads near 0.
    const ms = (ns: number) => (h.count === 0 ? 0 : Math.max(0, ns / 1e6 - 10));
    return { p50Ms: round(ms(h.percentile(50))), p99Ms: round(ms(h.percentile(99))), maxMs: round(ms(h.max)) };
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
