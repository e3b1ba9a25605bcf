import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../log/logger.js';
import { ChildPool, TaskAborted, TaskTimedOut } from '../../threads/child-pool.js';
import { send } from '../http-send.js';
import type { HeavyReadsStatus } from '../service-status.js';
import type { ReadAnswer, ReaderData, ReadTask } from './read-task.js';

export interface HeavyReadsOptions {
  data: ReaderData;
  /** serve.maxHeavyReads: reads at once, one reader process each. */
  max: number;
  /** serve.readTimeoutMs. */
  timeoutMs: number;
  /** Added to the reader processes' niceness (threads/cpu-plan.ts). */
  nice: number;
  log: Logger;
}

/** Seconds a refused reader is told to wait: most reads end within a second or two, and a place with them. */
const RETRY_AFTER_S = 2;

/**
 * serve's heavy reads (search, counts, the status page's search, histories and diffs), each in
 * a reader process of its own, so that the engine's thread never waits on one. Bounded in number
 * (past `max`, 503 at once) and in time (past `timeoutMs` the process is killed: 503); a client
 * that hangs up has its read's process killed and its place freed at once.
 */
export class HeavyReads {
  private readonly pool: ChildPool<ReadTask, ReadAnswer>;
  private readonly counts = { answered: 0, refused: 0, timedOut: 0, hungUp: 0, failed: 0 };

  constructor(private readonly o: HeavyReadsOptions) {
    this.pool = new ChildPool({ module: new URL('./read-task.js', import.meta.url), size: o.max, nice: o.nice, data: o.data, idleMs: 10 * 60_000 });
  }

  /** Runs `task` in a reader process and sends its answer (or why there is none) on `res`; `okHeaders` go with a 200 only (a feed's ETag). */
  async serve(_req: IncomingMessage, res: ServerResponse, task: ReadTask, okHeaders: Record<string, string> = {}): Promise<void> {
    if (this.pool.running + this.pool.queued >= this.o.max) {
      this.count('refused');
      return sendJson(res, 503, { error: `${this.o.max} heavy reads are running (serve.maxHeavyReads); try again in ${RETRY_AFTER_S} s` }, { 'retry-after': String(RETRY_AFTER_S) });
    }
    const hungUp = new AbortController();
    const onClose = () => {
      if (!res.writableEnded) hungUp.abort();
    };
    // The response's close, not the request's: a request's 'close' comes once its body is read.
    res.on('close', onClose);
    try {
      const answer = await this.pool.run(task, { signal: hungUp.signal, timeoutMs: this.o.timeoutMs });
      this.count('answered');
      res.writeHead(answer.status, answer.status === 200 ? { ...answer.headers, ...okHeaders } : answer.headers);
      res.end(answer.body);
    } catch (err) {
      this.failure(res, task, err as Error, hungUp.signal.aborted);
    } finally {
      res.off('close', onClose);
    }
  }

  status(): HeavyReadsStatus {
    return { running: this.pool.running, max: this.o.max, timeoutMs: this.o.timeoutMs, ...this.counts };
  }

  /** The reader processes' ids (tests check none outlives serve). */
  get pids(): number[] {
    return this.pool.pids;
  }

  /** Reads in flight are abandoned (their processes killed): serve is stopping. */
  close(): Promise<void> {
    return this.pool.close();
  }

  /** A forced exit's last resort: synchronous. */
  killAll(): void {
    this.pool.killAll();
  }

  private failure(res: ServerResponse, task: ReadTask, err: Error, hungUp: boolean): void {
    if (err instanceof TaskTimedOut) {
      this.count('timedOut');
      this.o.log.warn({ read: task.kind, path: 'path' in task ? task.path : undefined, query: task.query.slice(0, 300), timeoutMs: this.o.timeoutMs }, 'heavy read stopped at serve.readTimeoutMs');
      // No Retry-After: the same read would take as long again.
      return sendJson(res, 503, { error: `the read took longer than serve.readTimeoutMs (${this.o.timeoutMs} ms) and was stopped: narrow the query (fewer prefix terms such as abc*, a since/until range, versions=current) or raise serve.readTimeoutMs` });
    }
    if (err instanceof TaskAborted && hungUp) return this.count('hungUp');
    if (err instanceof TaskAborted) return sendJson(res, 503, { error: 'newsnap is stopping; try again later' }, { 'retry-after': '30' });
    this.count('failed');
    this.o.log.error({ read: task.kind, err: err.message }, 'heavy read failed');
    return sendJson(res, 500, { error: `the read failed: ${err.message}` });
  }

  private count(key: keyof HeavyReads['counts']): void {
    this.counts[key]++;
  }
}

/** A JSON answer, unless the client is gone or an answer began. */
function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (!res.headersSent && !res.destroyed) send(res, status, body, headers);
}
