import { STOP_SIGNALS } from '../exit-codes.js';
import type { Logger } from '../log/logger.js';

const SIGNALS = STOP_SIGNALS;

/** How long a graceful stop may take before the exit is forced: under the 10 s that orchestrators and users are promised. */
export const SHUTDOWN_DEADLINE_MS = 8000;

/**
 * How a command stops on SIGINT, SIGTERM or SIGHUP. The first signal aborts `signal`: the command
 * stops taking work, aborts what is in flight (requests, renders), lets writes finish, saves
 * state and releases the lock last. If that has not ended the process within the deadline, or a
 * second signal comes, the exit is forced: the last-resort hooks run (kill the browser's process
 * group, release the lock) and the process exits with the command's interrupted code. SIGHUP is
 * handled too: without a listener Node dies of it without running any exit handler, and the
 * browser would outlive us.
 */
export class Shutdown {
  private readonly controller = new AbortController();
  private readonly lastResort: Array<() => void> = [];
  private received: NodeJS.Signals | null = null;
  private readonly onSignal = (sig: NodeJS.Signals) => this.handle(sig);

  constructor(
    private readonly log: Logger,
    private readonly options: { exitCode: number; deadlineMs?: number; message?: string },
  ) {
    for (const sig of SIGNALS) process.on(sig, this.onSignal);
  }

  /** Aborted by the first signal. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The signal that stopped the command, if any. */
  get by(): NodeJS.Signals | null {
    return this.received;
  }

  /** Runs `hook` (synchronously) if the exit has to be forced. */
  onForce(hook: () => void): void {
    this.lastResort.push(hook);
  }

  /** Stops listening. A deadline already armed stays armed: it is what ends a process that hangs. */
  dispose(): void {
    for (const sig of SIGNALS) process.off(sig, this.onSignal);
  }

  private handle(sig: NodeJS.Signals): void {
    if (this.received) {
      this.force(`second ${sig}`);
      return;
    }
    this.received = sig;
    this.log.warn({ signal: sig }, this.options.message ?? 'stopping: in-flight requests and renders aborted, writes finishing, state saved');
    const deadline = this.options.deadlineMs ?? SHUTDOWN_DEADLINE_MS;
    setTimeout(() => this.force(`still running ${deadline} ms after ${sig}`), deadline).unref();
    this.controller.abort(new Error(`stopped by ${sig}`));
  }

  /**
   * Ends the process at once with `code`, running the last-resort hooks (the browser killed, the
   * lock released): for a fault the process cannot go on from, so that the orchestrator's restart
   * policy acts.
   */
  exitNow(code: number, why: string): never {
    this.log.fatal({ why, exitCode: code }, 'exiting at once: the browser is killed and the lock released; a restart repairs the rest');
    this.runLastResort();
    process.exit(code);
  }

  private runLastResort(): void {
    for (const hook of this.lastResort) {
      try {
        hook();
      } catch {
        // Forcing the exit must not fail on a hook: the next run repairs what is left.
      }
    }
  }

  private force(why: string): void {
    this.log.error({ why }, 'forcing exit: the browser is killed and the lock released; the next run resumes');
    this.runLastResort();
    process.exit(this.options.exitCode);
  }
}
