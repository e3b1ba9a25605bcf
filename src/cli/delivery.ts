import type { Storage } from '../storage/storage.js';
import { ChangeFeed } from '../delivery/change-feed.js';
import { WebhookDeliverer, type DeliveryOutcome } from '../delivery/webhook-deliverer.js';
import { parseDuration, parseSchedule } from '../clock/durations.js';
import { join } from 'node:path';
import { StorageError } from '../disk/storage-error.js';
import { MANIFEST_EVENTS } from '../storage/manifest.js';
import type { Context } from './context.js';
import type { Shutdown } from './shutdown.js';

/** The endpoints as the storage queues for them: each with the kinds it takes. */
export function webhookTargets(ctx: Context): Array<{ url: string; events: readonly string[] }> {
  return ctx.config.delivery.webhooks.map((w) => ({ url: w.url, events: w.events ?? MANIFEST_EVENTS }));
}

/** The change feed of a storage folder, starting where state knows a line's offset. */
export function changeFeed(storage: Storage): ChangeFeed {
  return new ChangeFeed(storage.root, (seq) => storage.state.reports.offsetOfSeq(seq), () => storage.appliedOffset);
}

/**
 * The webhook deliverer of a command that writes the storage folder: started now, told of every
 * new manifest line, stopped by the shutdown's first signal (what is in flight stays queued).
 */
export function startDeliverer(ctx: Context, storage: Storage, shutdown: Shutdown, onOutcome?: (o: DeliveryOutcome) => void): WebhookDeliverer {
  const d = ctx.config.delivery;
  const deliverer = new WebhookDeliverer({
    endpoints: d.webhooks,
    outbox: storage.state.outbox,
    feed: changeFeed(storage),
    scheduleMs: parseSchedule(d.retrySchedule),
    timeoutMs: d.timeoutMs,
    concurrency: d.concurrency,
    userAgent: ctx.config.http.userAgent,
    log: ctx.log,
    storageId: storage.id,
    keepDeliveredMs: parseDuration(d.keepDelivered),
    outboxHealth: {
      failed: (err) => storage.health.failed('outbox', StorageError.from(err, join(storage.root, 'state.sqlite'), 'write the webhook outbox in')),
      ok: () => storage.health.ok('outbox'),
    },
    ...(onOutcome ? { onOutcome } : {}),
  });
  if (!deliverer.enabled) return deliverer;
  const stopListening = storage.onLine(() => deliverer.notify());
  const stopping = () => {
    stopListening();
    void deliverer.stop();
  };
  shutdown.signal.addEventListener('abort', stopping, { once: true });
  deliverer.start();
  return deliverer;
}

/** A one-shot command's end: what is due goes out for up to delivery.drainSeconds; the rest waits for the next run. */
export async function finishDeliveries(ctx: Context, storage: Storage, deliverer: WebhookDeliverer): Promise<void> {
  if (!deliverer.enabled) return;
  await deliverer.drain(ctx.config.delivery.drainSeconds * 1000);
  await deliverer.stop();
  const backlog = storage.state.outbox.backlog();
  if (backlog > 0) ctx.log.info({ backlog }, 'webhook deliveries left for the next run or serve');
}
