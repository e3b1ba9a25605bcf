import { Counter, Gauge, type Registry } from 'prom-client';
import type { LoopDelay } from './loop-delay.js';
import type { HeavyReadsStatus } from './service-status.js';

/** What the reader metrics read at each scrape. */
export interface ReadProbe {
  loopDelay(): LoopDelay;
  reads(): HeavyReadsStatus;
  /** Manifest lines the search index lacks; null when this run keeps none. */
  indexBehind(): number | null;
}

const RESULTS = { answered: 'answered', refused: 'refused', timedOut: 'timed_out', hungUp: 'hung_up', failed: 'failed' } as const;

/** The engine thread's event-loop delay, the heavy reads and the index's lag, on `registry`. */
export function registerReadMetrics(registry: Registry, probe: ReadProbe): void {
  for (const [key, label] of [['p50Ms', 'p50'], ['p99Ms', 'p99'], ['maxMs', 'max']] as const) {
    new Gauge({
      name: `newsnap_event_loop_delay_${label}_seconds`,
      help: `The engine thread's event-loop delay, ${label} over the last one to two minutes (perf_hooks.monitorEventLoopDelay): readers run elsewhere, so this stays low whatever they do`,
      registers: [registry],
      collect() {
        this.set(probe.loopDelay()[key] / 1000);
      },
    });
  }
  const counted: Record<string, number> = {};
  new Counter({
    name: 'newsnap_heavy_reads_total',
    help: 'Heavy reads (search, counts, the status page search, histories) by result: answered, refused (every place taken), timed_out (serve.readTimeoutMs), hung_up (the client went away), failed',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      const s = probe.reads();
      for (const [key, result] of Object.entries(RESULTS)) {
        const n = s[key as keyof typeof RESULTS];
        this.inc({ result }, n - (counted[key] ?? 0));
        counted[key] = n;
      }
    },
  });
  new Gauge({ name: 'newsnap_heavy_reads_running', help: 'Heavy reads running now, each in a reader process (at most serve.maxHeavyReads)', registers: [registry], collect() { this.set(probe.reads().running); } });
  new Gauge({
    name: 'newsnap_search_index_behind_lines',
    help: 'Manifest lines the search index does not hold yet (-1 when this run keeps no index)',
    registers: [registry],
    collect() {
      this.set(probe.indexBehind() ?? -1);
    },
  });
}
