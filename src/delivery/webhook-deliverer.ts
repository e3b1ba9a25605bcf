import { Webhook } from 'standardwebhooks';
import { EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import { nowIso, nowMs, wallClockMs } from '../clock/clock.js';
import { deadline } from '../clock/deadline.js';
import { delay } from '../clock/delay.js';
import type { WebhookEndpoint } from '../config/config.js';
import { parseRetryAfter } from '../fetch/fetch-error.js';
import { redactUrl } from '../fetch/proxy.js';
import type { Delivery, OutboxStore } from '../storage/state/outbox-store.js';
import type { Logger } from '../log/logger.js';
import type { ManifestRecord } from '../storage/manifest.js';
import type { ChangeFeed } from './change-feed.js';
import { EndpointPauses } from './endpoint-pauses.js';

/** What one attempt at one delivery came to. */
type Settlement = { delivered: number } | { disabled: string } | { failed: string; status?: number; retryAfterMs?: number };

/** What became of one attempt at one delivery. */
export type DeliveryOutcome = 'delivered' | 'retried' | 'dead' | 'disabled';

export interface DelivererOptions {
  endpoints: readonly WebhookEndpoint[];
  outbox: OutboxStore;
  /** Where each event's manifest line is read from. */
  feed: ChangeFeed;
  /** Waits between attempts, in ms: after the last one fails, the delivery is dead. */
  scheduleMs: readonly number[];
  timeoutMs: number;
  concurrency: number;
  userAgent: string;
  log: Logger;
  /**
   * This storage folder's own id: in every `webhook-id`, so a receiver fed by two folders (or by
   * one that was reset, whose `seq` starts again) never takes a new event for a duplicate.
   */
  storageId: string;
  /** Delivered rows are pruned once older than this (ms); their count stays. */
  keepDeliveredMs: number;
  /** Hears whether the outbox could be read and written (the storage's health record). */
  outboxHealth?: { failed(error: unknown): void; ok(): void };
  onOutcome?: (outcome: DeliveryOutcome) => void;
  /** Source of jitter; tests pass a seeded one. */
  random?: () => number;
}

/** Statuses that ask to come back later, when `Retry-After` says. */
const BUSY = new Set([429, 502, 503, 504]);
/** Longest `Retry-After` honoured: a day, the schedule's own longest wait. */
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;
/** An idle deliverer looks at the outbox at least this often (rows another process queued). */
const IDLE_MS = 30_000;
/** After the outbox itself failed (a full disk, a locked database), the next look waits this long. */
const OUTBOX_RETRY_MS = 5_000;
/** Delivered rows are pruned at most this often. */
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Delivers the outbox: each manifest event as one POST to each endpoint that takes its kind, as
 * the Standard Webhooks spec says (`webhook-id` stable across retries, `webhook-timestamp`,
 * `webhook-signature` by the `standardwebhooks` package). At least once: a 2xx settles it;
 * 429/502/503/504 come back after `Retry-After`; timeouts and other answers after the next wait
 * of the schedule (with jitter); after the last the delivery is dead, kept and replayable; a 410
 * disables the endpoint. Its requests go out on their own connections, beside the crawl and never
 * through the site's rate limit, so a slow or dead receiver never slows a crawl.
 */
export class WebhookDeliverer {
  private readonly signers = new Map<string, Webhook>();
  private readonly dispatcher: Dispatcher;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly stopper = new AbortController();
  private readonly random: () => number;
  private readonly cache = new Map<number, ManifestRecord>();
  private wakeTimer: NodeJS.Timeout | null = null;
  private idle: Array<() => void> = [];
  private pumping = false;
  private stopped: Promise<void> | null = null;
  private prunedAt = Number.NEGATIVE_INFINITY;
  /** While the outbox cannot be written, nothing is sent before this (ms): a delivery it cannot record would only be sent again. */
  private outboxRetryAt = 0;
  /** Endpoints that answered (any HTTP status) in this process: worth waiting for when draining. */
  private readonly answering = new Set<string>();
  /** Endpoints that did not answer several times in a row, paused as a whole. */
  private readonly pauses = new EndpointPauses();

  constructor(private readonly o: DelivererOptions) {
    for (const e of o.endpoints) this.signers.set(e.url, new Webhook(e.secret));
    this.random = o.random ?? Math.random;
    // The environment's proxies (HTTPS_PROXY, NO_PROXY), as curl reads them: receivers are not the site.
    this.dispatcher = new EnvHttpProxyAgent({ connections: o.concurrency * 2, connect: { timeout: o.timeoutMs } });
  }

  get enabled(): boolean {
    return this.o.endpoints.length > 0;
  }

  /** Delivers what is due now and whatever falls due later, until stopped. */
  start(): void {
    this.pump();
  }

  /** New events were queued: deliver them now. */
  notify(): void {
    this.pump();
  }

  /**
   * A one-shot command's last step: delivers what is due, and what falls due within `ms` for an
   * endpoint that answers (a 503's `Retry-After`), then aborts what is still in flight (not
   * counted). An endpoint that refuses or does not answer is not waited for: a dead receiver
   * costs a cron run nothing. Later retries stay queued for the next run.
   */
  async drain(ms: number): Promise<void> {
    if (!this.enabled) return;
    const end = nowMs() + ms;
    const deadline = setTimeout(() => this.stopper.abort(), ms);
    try {
      for (;;) {
        this.pump();
        if (this.inflight.size > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
        const next = this.o.outbox.nextDue(this.reachable(this.pauses.paused()).filter((url) => this.answering.has(url)));
        if (this.stopper.signal.aborted || next === null || Date.parse(next) > end) return;
        await delay(Date.parse(next) - nowMs(), this.stopper.signal);
      }
    } finally {
      clearTimeout(deadline);
    }
  }

  /** Aborts what is in flight (those deliveries stay as they were) and closes the connections; once. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopper.abort();
      if (this.wakeTimer) clearTimeout(this.wakeTimer);
      await Promise.allSettled([...this.inflight.values()]);
      for (const resolve of this.idle.splice(0)) resolve();
      await this.dispatcher.close();
    })();
    return this.stopped;
  }

  /** Starts due deliveries up to the concurrency; sleeps until the next one falls due when none is. */
  private pump(): void {
    if (!this.enabled || this.stopper.signal.aborted || this.pumping) return;
    if (performance.now() < this.outboxRetryAt) {
      if (this.inflight.size === 0) this.sleep(this.outboxRetryAt - performance.now());
      return;
    }
    this.pumping = true;
    try {
      if (this.wakeTimer) clearTimeout(this.wakeTimer);
      this.wakeTimer = null;
      this.prune();
      const free = this.o.concurrency - this.inflight.size;
      const paused = this.pauses.paused();
      if (free > 0) {
        const due = this.o.outbox.due(nowIso(), this.inflight.size + free * 2, this.reachable(paused)).filter((d) => !this.inflight.has(keyOf(d)));
        for (const d of due.slice(0, free)) this.launch(d);
      }
      if (this.inflight.size === 0) {
        for (const resolve of this.idle.splice(0)) resolve();
        const next = this.o.outbox.nextDue(this.reachable(paused));
        const resume = this.pauses.resumeAt(paused);
        this.sleep(Math.min(IDLE_MS, next === null ? IDLE_MS : Math.max(0, Date.parse(next) - nowMs()), Math.max(0, resume - performance.now())));
      }
    } catch (err) {
      this.outboxFailed(err, 'webhook outbox could not be read');
    } finally {
      this.pumping = false;
    }
  }

  /**
   * One delivery in flight. Whatever it throws (the outbox's own write failing: a full disk, a
   * locked database) is caught here: the delivery stays as the outbox has it, and is tried again.
   */
  private launch(d: Delivery): void {
    const job = this.deliver(d)
      .then(
        () => this.o.outboxHealth?.ok(),
        (err: unknown) => this.outboxFailed(err, 'webhook outbox could not be written'),
      )
      .finally(() => {
        this.inflight.delete(keyOf(d));
        // A drain waits for the last one in flight, even once stopped (pump then does nothing).
        if (this.inflight.size === 0) for (const resolve of this.idle.splice(0)) resolve();
        this.pump();
      });
    this.inflight.set(keyOf(d), job);
  }

  /** The outbox failed: logged, told to the health record, looked at again shortly. */
  private outboxFailed(err: unknown, what: string): void {
    this.o.log.error({ err: (err as Error).message }, `${what}; trying again in ${OUTBOX_RETRY_MS / 1000} s`);
    this.o.outboxHealth?.failed(err);
    this.outboxRetryAt = performance.now() + OUTBOX_RETRY_MS;
  }

  private sleep(ms: number): void {
    if (this.stopper.signal.aborted) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => this.pump(), ms);
    this.wakeTimer.unref();
  }

  /** Delivered rows older than delivery.keepDelivered go, a batch at a time, at most hourly. */
  private prune(): void {
    if (performance.now() - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = performance.now();
    const pruned = this.o.outbox.prune(new Date(nowMs() - this.o.keepDeliveredMs).toISOString());
    if (pruned > 0) this.o.log.info({ pruned }, 'delivered webhook rows past delivery.keepDelivered pruned');
    // A large backlog of old rows is pruned over the next looks, not in one long transaction.
    if (pruned >= 10_000) this.prunedAt = Number.NEGATIVE_INFINITY;
  }

  /** One attempt at one delivery, and what it leaves in the outbox. */
  private async deliver(d: Delivery): Promise<void> {
    const signer = this.signers.get(d.endpoint);
    if (!signer) return; // an endpoint no longer configured: its rows wait, visible, for a replay
    const record = await this.event(d.seq);
    if (!record) {
      this.settle(d, { dead: `manifest line ${d.seq} could not be read` });
      return;
    }
    const id = `evt_${this.o.storageId}_${d.seq}`;
    // The real time, even when NEWSNAP_NOW pins newsnap's clock: receivers check it against theirs.
    const at = new Date(wallClockMs());
    const body = JSON.stringify({ type: `article.${record.event}`, timestamp: record.capturedAt, data: record });
    const limit = deadline(this.o.timeoutMs, this.stopper.signal);
    let result: Settlement;
    try {
      const res = await request(d.endpoint, {
        method: 'POST',
        dispatcher: this.dispatcher,
        signal: limit.signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': this.o.userAgent,
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signer.sign(id, at, body),
        },
        body,
      });
      await res.body.dump();
      const status = res.statusCode;
      this.answering.add(d.endpoint);
      this.pauses.answered(d.endpoint);
      const retryAfter = BUSY.has(status) ? parseRetryAfter(header(res.headers['retry-after']), header(res.headers.date)) : undefined;
      result =
        status >= 200 && status < 300
          ? { delivered: status }
          : status === 410
            ? { disabled: `it answered HTTP 410 Gone to event ${d.seq}` }
            : { failed: `HTTP ${status}`, status, ...(retryAfter === undefined ? {} : { retryAfterMs: Math.min(retryAfter, MAX_RETRY_AFTER_MS) }) };
    } catch (err) {
      if (this.stopper.signal.aborted) return; // stopping: the delivery stays as it was
      const pause = this.pauses.noAnswer(d.endpoint);
      if (pause !== null) this.o.log.warn({ endpoint: redactUrl(d.endpoint), pauseMs: pause }, 'webhook endpoint does not answer: its deliveries wait until it is tried again');
      result = { failed: limit.signal.aborted ? `no answer within ${this.o.timeoutMs} ms` : `${(err as Error).message}${codeOf(err)}` };
    } finally {
      limit.clear();
    }
    // Outside the request's try: the outbox failing to record it is not the receiver's silence.
    this.settle(d, result);
  }

  private settle(d: Delivery, r: Settlement | { dead: string }): void {
    const where = redactUrl(d.endpoint);
    if ('delivered' in r) {
      this.o.outbox.delivered(d, r.delivered);
      this.o.log.debug({ endpoint: where, seq: d.seq, attempt: d.attempts + 1 }, 'webhook delivered');
      this.o.onOutcome?.('delivered');
    } else if ('disabled' in r) {
      this.o.outbox.disable(d.endpoint, r.disabled);
      this.o.log.error({ endpoint: where, seq: d.seq }, `webhook endpoint disabled: ${r.disabled}; its deliveries wait (newsnap deliver --replay --url URL enables it again)`);
      this.o.onOutcome?.('disabled');
    } else if ('dead' in r || d.attempts >= this.o.scheduleMs.length) {
      const error = 'dead' in r ? r.dead : r.failed;
      this.o.outbox.dead(d, 'status' in r ? (r.status ?? null) : null, error);
      this.o.log.warn({ endpoint: where, seq: d.seq, attempts: d.attempts + 1, err: error }, 'webhook delivery dead after its last attempt; newsnap deliver --replay sends it again');
      this.o.onOutcome?.('dead');
    } else {
      const wait = r.retryAfterMs ?? jitter(this.o.scheduleMs[d.attempts] as number, this.random);
      const nextAt = new Date(nowMs() + wait).toISOString();
      this.o.outbox.retry(d, nextAt, r.status ?? null, r.failed);
      this.o.log.info({ endpoint: where, seq: d.seq, attempt: d.attempts + 1, err: r.failed, nextAt }, 'webhook delivery failed; retried later');
      this.o.onOutcome?.('retried');
    }
  }

  /** The configured endpoints but the paused ones. */
  private reachable(paused: readonly string[]): string[] {
    return this.o.endpoints.map((e) => e.url).filter((url) => !paused.includes(url));
  }

  /** The manifest line numbered `seq` (recent ones cached: several endpoints want the same). */
  private async event(seq: number): Promise<ManifestRecord | null> {
    const cached = this.cache.get(seq);
    if (cached) return cached;
    const { events } = await this.o.feed.read(seq - 1, 1);
    const record = events[0]?.seq === seq ? events[0] : null;
    if (record) {
      this.cache.set(seq, record);
      if (this.cache.size > 256) this.cache.delete(this.cache.keys().next().value as number);
    }
    return record;
  }
}

function keyOf(d: Delivery): string {
  return `${d.seq} ${d.endpoint}`;
}

/** ±10% around the wait, so many deliveries that failed together do not come back together. */
function jitter(ms: number, random: () => number): number {
  return Math.round(ms * (0.9 + random() * 0.2));
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function codeOf(err: unknown): string {
  const code = (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
  return code ? ` (${code})` : '';
}
