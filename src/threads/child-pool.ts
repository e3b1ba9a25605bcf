import { fork, type ChildProcess } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import { wallClockMs } from '../clock/clock.js';
import type { ChildMessage, ParentMessage, TaskError } from './child-protocol.js';

/**
 * Why reads run in child processes and not worker threads: better-sqlite3 has no interrupt, and a
 * worker thread inside one statement runs until that statement returns (terminate() waits for it).
 * A child process can be killed at any instant, so a read over its time, one whose client hung up,
 * and every read at shutdown end at once, and the engine's thread never waits on them.
 */
export interface ChildPoolOptions {
  /** An ES module whose default export handles one task: `(task, output) => result`. */
  module: URL;
  /** Processes at most; a task past them waits its turn. */
  size: number;
  /** Added to the children's niceness, so that the engine's thread and the extraction pool come first on a busy machine. */
  nice?: number;
  /** Given to every child as `process.argv[3]` (JSON). */
  data?: unknown;
  /** A child kept idle this long exits (its memory given back); the next task starts one again. */
  idleMs?: number;
  /** Environment of the children (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

export interface RunOptions {
  /** Aborting it kills the task's process: a client that hung up, a stop. */
  signal?: AbortSignal;
  /** Over this, the task's process is killed and run() rejects with TaskTimedOut (as every kill: once it has exited). */
  timeoutMs?: number;
  /** Chunks the task writes (`output.write`); the child writes the next once this resolves. */
  onChunk?: (chunk: Uint8Array) => void | Promise<void>;
}

/** A task ended by its signal (client gone, shutdown): its process was killed. */
export class TaskAborted extends Error {
  override readonly name = 'TaskAborted';
}

/** A task over its time: its process was killed. */
export class TaskTimedOut extends Error {
  override readonly name = 'TaskTimedOut';
  constructor(readonly timeoutMs: number) {
    super(`the read took longer than ${timeoutMs} ms and was stopped`);
  }
}

/** A task that threw, or whose process died: `remote` is the child's error name. */
export class TaskFailed extends Error {
  override readonly name = 'TaskFailed';
  constructor(message: string, readonly remote: string, readonly details: Record<string, unknown> = {}) {
    super(message);
  }
}

interface Job {
  id: number;
  task: unknown;
  options: RunOptions;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  child?: Slot;
  /** When the task is killed (epoch ms), for the child's own watchdog; null without a limit. */
  deadline: number | null;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
}

interface Slot {
  process: ChildProcess;
  job: Job | null;
  /** Killed, not yet exited: takes no task. */
  dying: boolean;
  idle?: NodeJS.Timeout;
  exited: Promise<void>;
}

const ENTRY = new URL('./child-entry.js', import.meta.url);

/** A pool of child processes, each running one task at a time; see ChildPoolOptions. */
export class ChildPool<Task, Result> {
  private readonly slots = new Set<Slot>();
  private readonly waiting: Job[] = [];
  private serial = 0;
  private closed = false;

  constructor(private readonly o: ChildPoolOptions) {}

  /** Tasks running now. */
  get running(): number {
    let n = 0;
    for (const s of this.slots) if (s.job) n++;
    return n;
  }

  /** Tasks waiting for a process. */
  get queued(): number {
    return this.waiting.length;
  }

  /** The children's process ids (tests check none outlives serve). */
  get pids(): number[] {
    return [...this.slots].map((s) => s.process.pid).filter((p): p is number => p !== undefined);
  }

  run(task: Task, options: RunOptions = {}): Promise<Result> {
    if (this.closed) return Promise.reject(new TaskAborted('the pool is closed: the service is stopping'));
    if (options.signal?.aborted) return Promise.reject(new TaskAborted('aborted before it started'));
    return new Promise<Result>((resolve, reject) => {
      const deadline = options.timeoutMs === undefined ? null : wallClockMs() + options.timeoutMs;
      const job: Job = { id: ++this.serial, task, options, deadline, resolve: resolve as (v: unknown) => void, reject };
      if (options.signal) {
        job.onAbort = () => this.finish(job, new TaskAborted('aborted: the client went away or the service is stopping'), true);
        options.signal.addEventListener('abort', job.onAbort, { once: true });
      }
      if (options.timeoutMs !== undefined) {
        // The time counts from the request, waiting included: a reader sees one limit.
        job.timer = setTimeout(() => this.finish(job, new TaskTimedOut(options.timeoutMs!), true), options.timeoutMs);
      }
      this.waiting.push(job);
      this.dispatch();
    });
  }

  /** Kills every child at once (synchronous: a forced exit's last resort). */
  killAll(): void {
    for (const s of this.slots) this.kill(s);
  }

  private kill(slot: Slot): void {
    slot.dying = true;
    slot.process.kill('SIGKILL');
  }

  /** Ends every task (rejected with TaskAborted) and every child; resolves once they have exited. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.splice(0)) this.finish(job, new TaskAborted('the service is stopping'), false);
    const exits = [...this.slots].map((s) => s.exited);
    for (const s of this.slots) {
      if (s.job) this.finish(s.job, new TaskAborted('the service is stopping'), false);
      this.kill(s);
    }
    await Promise.all(exits);
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      // A child that died on its own (an OOM kill) is no longer connected before its exit is seen.
      let slot = [...this.slots].find((s) => s.job === null && !s.dying && s.process.connected);
      if (!slot && this.slots.size < this.o.size) {
        try {
          slot = this.spawn();
        } catch (err) {
          // fork() itself threw: the first waiting task fails with the cause, the others wait their turn.
          const job = this.waiting[0]!;
          this.finish(job, new TaskFailed(`a child process could not be started: ${(err as Error).message}`, 'SpawnError'), false);
          continue;
        }
      }
      if (!slot) return;
      const job = this.waiting.shift()!;
      if (slot.idle) clearTimeout(slot.idle);
      slot.job = job;
      job.child = slot;
      const message: ParentMessage = { type: 'task', id: job.id, task: job.task, deadline: job.deadline };
      const target = slot;
      target.process.send(message, (err) => {
        if (!err || target.job !== job) return;
        // The child was gone before it got the task: the task waits for another.
        target.job = null;
        job.child = undefined;
        this.kill(target);
        this.waiting.unshift(job);
      });
    }
  }

  private spawn(): Slot {
    const child = fork(ENTRY, [this.o.module.href, JSON.stringify(this.o.data ?? null)], {
      serialization: 'advanced',
      // Not serve's own flags (--inspect's port, heap sizes): a reader is a plain process.
      execArgv: [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: this.o.env ?? process.env,
    });
    let exited!: () => void;
    const slot: Slot = { process: child, job: null, dying: false, exited: new Promise<void>((r) => (exited = r)) };
    this.slots.add(slot);
    if (this.o.nice && child.pid !== undefined) {
      try {
        // Niceness is absolute: ours plus the steps asked for.
        setPriority(child.pid, Math.min(19, getPriority() + this.o.nice));
      } catch {
        // Not allowed here (a container without the right): the child runs at our priority.
      }
    }
    child.on('message', (m: ChildMessage) => this.onMessage(slot, m));
    child.on('error', (err) => {
      // Not started at all (no process to exit): the slot goes, its task fails with the cause.
      if (child.pid !== undefined) return;
      this.slots.delete(slot);
      if (slot.job) this.finish(slot.job, new TaskFailed(`a child process could not be started: ${err.message}`, 'SpawnError'), false);
      exited();
    });
    child.on('exit', (code, signal) => {
      this.slots.delete(slot);
      if (slot.idle) clearTimeout(slot.idle);
      if (slot.job) this.finish(slot.job, new TaskFailed(`the child process ended (${signal ?? `exit ${code}`}) during the task`, 'ProcessExit'), false);
      exited();
      if (!this.closed) this.dispatch();
    });
    return slot;
  }

  private onMessage(slot: Slot, m: ChildMessage): void {
    const job = slot.job;
    if (!job || job.id !== m.id) return;
    if (m.type === 'chunk') {
      void Promise.resolve()
        .then(() => job.options.onChunk?.(m.chunk))
        .then(() => slot.job === job && slot.process.connected && slot.process.send({ type: 'ack', id: job.id } satisfies ParentMessage))
        .catch((err: Error) => this.finish(job, new TaskAborted(`the output could not be written: ${err.message}`), true));
      return;
    }
    if (m.type === 'done') this.finish(job, null, false, m.result);
    else this.finish(job, failure(m.error), false);
  }

  /** Settles a job once; `kill` ends its process (the only way to stop a statement inside SQLite). */
  private finish(job: Job, err: Error | null, kill: boolean, result?: unknown): void {
    if (job.timer) clearTimeout(job.timer);
    job.timer = undefined;
    if (job.onAbort) job.options.signal?.removeEventListener('abort', job.onAbort);
    job.onAbort = undefined;
    const waitingAt = this.waiting.indexOf(job);
    if (waitingAt >= 0) this.waiting.splice(waitingAt, 1);
    const slot = job.child;
    let killed: Promise<void> | null = null;
    if (slot && slot.job === job) {
      slot.job = null;
      if (kill) {
        this.kill(slot);
        killed = slot.exited;
      } else this.rest(slot);
    }
    const { resolve, reject } = job;
    job.resolve = job.reject = () => undefined;
    // A killed task settles once its process has exited: the caller may then remove what it wrote.
    if (err && killed) void killed.then(() => reject(err));
    else if (err) reject(err);
    else resolve(result);
    if (!kill) this.dispatch();
  }

  private rest(slot: Slot): void {
    if (this.o.idleMs === undefined || !this.slots.has(slot)) return;
    slot.idle = setTimeout(() => slot.job === null && this.kill(slot), this.o.idleMs);
    slot.idle.unref();
  }
}

function failure(e: TaskError): Error {
  return new TaskFailed(e.message, e.name, e.details);
}
