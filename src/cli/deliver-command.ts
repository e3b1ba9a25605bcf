import { LockedError } from '../storage/run-lock.js';
import { SqliteState } from '../storage/state/state-store.js';
import { redactUrl } from '../fetch/proxy.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Context } from './context.js';
import { startDeliverer, webhookTargets } from './delivery.js';
import { openStorage } from './open-storage.js';
import { Shutdown } from './shutdown.js';
import { requireExistingStorage } from './command-flags.js';
import { UsageError } from './usage-error.js';

export interface DeliverFlags {
  replay?: boolean;
  after?: string;
  url?: string;
  wait?: string;
}

/**
 * `newsnap deliver [--replay [--after SEQ] [--url URL]] [--wait SECONDS]`: sends the webhook
 * outbox now. `--replay` first makes dead deliveries pending again (with `--after`, every event
 * after that seq, delivered or not; with `--url`, only that endpoint, which a 410 had turned off
 * is enabled again). Beside a running serve (which holds the lock) it only marks them: the serve
 * sends them.
 */
export async function deliverCommand(ctx: Context, flags: DeliverFlags): Promise<ExitCodeValue> {
  const targets = webhookTargets(ctx);
  if (targets.length === 0) throw new UsageError('no webhook is configured: set delivery.webhooks (NEWSNAP_DELIVERY_WEBHOOKS, as JSON)');
  if ((flags.after !== undefined || flags.url !== undefined) && !flags.replay) throw new UsageError('--after and --url go with --replay');
  const after = flags.after === undefined ? undefined : Number(flags.after);
  if (after !== undefined && !(Number.isInteger(after) && after >= 0)) throw new UsageError(`--after ${flags.after} must be a seq: a whole number, 0 or more`);
  const chosen = flags.url === undefined ? targets : targets.filter((t) => t.url === flags.url);
  if (chosen.length === 0) throw new UsageError(`--url ${redactUrl(flags.url ?? '')} is not a configured webhook; configured: ${targets.map((t) => redactUrl(t.url)).join(', ')}`);
  const waitSeconds = flags.wait === undefined ? 60 : Number(flags.wait);
  if (!(waitSeconds >= 0)) throw new UsageError(`--wait ${flags.wait} must be seconds, 0 or more`);
  const root = ctx.config.storage;
  requireExistingStorage(root);

  if (flags.replay) {
    // Marking is a transaction in state.sqlite: safe beside the running command that holds the lock.
    const state = new SqliteState(root);
    try {
      for (const t of chosen) state.outbox.enable(t.url);
      const again = state.outbox.replay({ endpoints: chosen, ...(after === undefined ? {} : { after }) });
      process.stdout.write(`deliver: ${again} deliveries pending again${after === undefined ? ' (the dead ones)' : ` (every event after seq ${after})`} for ${chosen.map((t) => redactUrl(t.url)).join(', ')}\n`);
    } finally {
      state.close();
    }
  }

  const shutdown = new Shutdown(ctx.log, { exitCode: ExitCode.INTERRUPTED, message: 'stopping: deliveries in flight stay queued' });
  try {
    let storage;
    try {
      storage = await openStorage(ctx, shutdown, { warc: false });
    } catch (err) {
      if (!(err instanceof LockedError)) throw err;
      process.stdout.write(`deliver: ${err.holder ? `"${err.holder.command}" (pid ${err.holder.pid} on ${err.holder.host})` : 'a running newsnap'} holds the storage and delivers them\n`);
      return ExitCode.OK;
    }
    try {
      const before = tallyOf(storage.state.outbox.tally());
      const deliverer = startDeliverer(ctx, storage, shutdown);
      await deliverer.drain(waitSeconds * 1000);
      await deliverer.stop();
      const now = tallyOf(storage.state.outbox.tally());
      process.stdout.write(
        `deliver: ${now.delivered - before.delivered} delivered, ${now.dead - before.dead} dead after their last attempt; ${now.pending} pending (retried later, or by serve)\n`,
      );
      if (shutdown.signal.aborted) return ExitCode.INTERRUPTED;
      return now.dead > before.dead ? ExitCode.PARTIAL : ExitCode.OK;
    } finally {
      await storage.close();
    }
  } finally {
    shutdown.dispose();
  }
}

function tallyOf(rows: Array<{ pending: number; delivered: number; dead: number }>): { pending: number; delivered: number; dead: number } {
  return rows.reduce((a, r) => ({ pending: a.pending + r.pending, delivered: a.delivered + r.delivered, dead: a.dead + r.dead }), { pending: 0, delivered: 0, dead: 0 });
}
