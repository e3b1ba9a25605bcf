import type Database from 'better-sqlite3';
import { nowIso } from '../../clock/clock.js';

/** One event waiting for (or done with) one webhook endpoint. */
export interface Delivery {
  endpoint: string;
  seq: number;
  attempts: number;
}

/** An endpoint's deliveries by state, and whether a 410 turned it off. */
export interface EndpointTally {
  endpoint: string;
  pending: number;
  delivered: number;
  dead: number;
  disabled: { at: string; reason: string } | null;
  /** The last error of a delivery still pending or dead, if any. */
  lastError: string | null;
}

/**
 * The durable outbox of webhook deliveries: a row per (endpoint, manifest event), written in the
 * same transaction as the event's line is applied to state, so an event committed to the
 * manifest is delivered to every endpoint or is visibly dead. It survives restarts and kill -9.
 */
export interface OutboxStore {
  /** Queues an event for these endpoints (once: a replayed line adds nothing). */
  enqueue(seq: number, endpoints: readonly string[]): void;
  /** Pending deliveries of these endpoints (those not disabled) due at `now`, oldest first. */
  due(now: string, limit: number, endpoints: readonly string[]): Delivery[];
  /** When the next pending delivery of these endpoints (those not disabled) falls due, or null. */
  nextDue(endpoints: readonly string[]): string | null;
  delivered(d: Delivery, status: number): void;
  /** A failed attempt, tried again at `nextAt`. */
  retry(d: Delivery, nextAt: string, status: number | null, error: string): void;
  /** The last attempt failed: kept, counted, replayable. */
  dead(d: Delivery, status: number | null, error: string): void;
  /** Pending deliveries, of every endpoint. */
  backlog(): number;
  tally(): EndpointTally[];
  /** An endpoint answered 410: nothing more is sent to it until it is enabled again. */
  disable(endpoint: string, reason: string): void;
  /** Removes delivered rows settled before `before` (their count stays in the totals); returns how many. */
  prune(before: string, limit?: number): number;
  enable(endpoint: string): void;
  /**
   * Sends again: dead deliveries (of `endpoints`, after `after` when given) become pending; with
   * `after`, every event after it of the kinds each endpoint takes does, delivered or not
   * queued before. Returns how many are pending again.
   */
  replay(o: { endpoints: ReadonlyArray<{ url: string; events: readonly string[] }>; after?: number }): number;
}

export class SqliteOutbox implements OutboxStore {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      enqueue: db.prepare(`INSERT OR IGNORE INTO deliveries (endpoint, seq, state, attempts, next_at, updated_at) VALUES (?, ?, 'pending', 0, ?, ?)`),
      dueOf: db.prepare<[string, string, number], Delivery & { next_at: string }>(
        `SELECT endpoint, seq, attempts, next_at FROM deliveries WHERE endpoint = ? AND state = 'pending' AND next_at <= ? ORDER BY next_at, seq LIMIT ?`,
      ),
      nextOf: db.prepare<[string], { at: string | null }>(`SELECT MIN(next_at) AS at FROM deliveries WHERE endpoint = ? AND state = 'pending'`),
      settle: db.prepare(
        `UPDATE deliveries SET state = @state, attempts = @attempts, next_at = @nextAt, last_status = @status, last_error = @error, updated_at = @now WHERE endpoint = @endpoint AND seq = @seq`,
      ),
      backlog: db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM deliveries WHERE state = 'pending'`),
      // Read through the partial indexes and the totals: the cost follows the backlog and the dead
      // deliveries, never the delivered ones (of which there may be millions).
      tally: db.prepare<[], { endpoint: string; state: string; n: number; last_error: string | null }>(
        `SELECT endpoint, state, COUNT(*) AS n, MAX(last_error) AS last_error FROM deliveries WHERE state = 'pending' GROUP BY endpoint
         UNION ALL SELECT endpoint, state, COUNT(*) AS n, MAX(last_error) AS last_error FROM deliveries WHERE state = 'dead' GROUP BY endpoint
         UNION ALL SELECT endpoint, 'delivered' AS state, delivered AS n, NULL AS last_error FROM delivery_totals`,
      ),
      countDelivered: db.prepare(`INSERT INTO delivery_totals (endpoint, delivered) VALUES (?, 1) ON CONFLICT (endpoint) DO UPDATE SET delivered = delivered + 1`),
      prune: db.prepare(`DELETE FROM deliveries WHERE (endpoint, seq) IN (SELECT endpoint, seq FROM deliveries WHERE state = 'delivered' AND updated_at < ? LIMIT ?)`),
      endpoints: db.prepare<[], { url: string; disabled_at: string | null; disabled_reason: string | null }>(`SELECT * FROM webhook_endpoints`),
      disable: db.prepare(
        `INSERT INTO webhook_endpoints (url, disabled_at, disabled_reason) VALUES (?, ?, ?) ON CONFLICT (url) DO UPDATE SET disabled_at = excluded.disabled_at, disabled_reason = excluded.disabled_reason`,
      ),
      enable: db.prepare(`UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL WHERE url = ?`),
      replayDead: db.prepare(`UPDATE deliveries SET state = 'pending', attempts = 0, next_at = @now, updated_at = @now WHERE endpoint = @endpoint AND state = 'dead' AND seq > @after`),
    };
  }

  enqueue(seq: number, endpoints: readonly string[]): void {
    const now = nowIso();
    for (const endpoint of endpoints) this.s.enqueue.run(endpoint, seq, now, now);
  }

  due(now: string, limit: number, endpoints: readonly string[]): Delivery[] {
    // One index seek per endpoint (few of them), merged: a paused endpoint's backlog is never scanned.
    const rows = this.active(endpoints).flatMap((e) => this.s.dueOf.all(e, now, limit));
    return rows.sort((a, b) => (a.next_at === b.next_at ? a.seq - b.seq : a.next_at < b.next_at ? -1 : 1)).slice(0, limit).map(({ next_at: _, ...d }) => d);
  }

  nextDue(endpoints: readonly string[]): string | null {
    const times = this.active(endpoints)
      .map((e) => this.s.nextOf.get(e)?.at ?? null)
      .filter((t): t is string => t !== null);
    return times.length === 0 ? null : times.reduce((a, b) => (a < b ? a : b));
  }

  /** Of these endpoints, those a 410 did not turn off. */
  private active(endpoints: readonly string[]): string[] {
    const off = new Set(this.s.endpoints.all().filter((e) => e.disabled_at).map((e) => e.url));
    return endpoints.filter((e) => !off.has(e));
  }

  delivered(d: Delivery, status: number): void {
    this.db.transaction(() => {
      const changed = this.s.settle.run({ ...key(d), state: 'delivered', attempts: d.attempts + 1, nextAt: null, status, error: null, now: nowIso() }).changes;
      if (changed > 0) this.s.countDelivered.run(d.endpoint);
    })();
  }

  prune(before: string, limit = 10_000): number {
    return this.s.prune.run(before, limit).changes;
  }

  retry(d: Delivery, nextAt: string, status: number | null, error: string): void {
    this.s.settle.run({ ...key(d), state: 'pending', attempts: d.attempts + 1, nextAt, status, error, now: nowIso() });
  }

  dead(d: Delivery, status: number | null, error: string): void {
    this.s.settle.run({ ...key(d), state: 'dead', attempts: d.attempts + 1, nextAt: null, status, error, now: nowIso() });
  }

  backlog(): number {
    return this.s.backlog.get()?.n ?? 0;
  }

  tally(): EndpointTally[] {
    const out = new Map<string, EndpointTally>();
    const entry = (endpoint: string) => {
      let t = out.get(endpoint);
      if (!t) out.set(endpoint, (t = { endpoint, pending: 0, delivered: 0, dead: 0, disabled: null, lastError: null }));
      return t;
    };
    for (const row of this.s.tally.all()) {
      const t = entry(row.endpoint);
      t[row.state as 'pending' | 'delivered' | 'dead'] = row.n;
      if (row.last_error) t.lastError = row.last_error;
    }
    for (const e of this.s.endpoints.all()) if (e.disabled_at) entry(e.url).disabled = { at: e.disabled_at, reason: e.disabled_reason ?? '' };
    return [...out.values()];
  }

  disable(endpoint: string, reason: string): void {
    this.s.disable.run(endpoint, nowIso(), reason);
  }

  enable(endpoint: string): void {
    this.s.enable.run(endpoint);
  }

  replay(o: { endpoints: ReadonlyArray<{ url: string; events: readonly string[] }>; after?: number }): number {
    const now = nowIso();
    return this.db.transaction(() => {
      let n = 0;
      for (const e of o.endpoints) {
        if (o.after === undefined) {
          n += this.s.replayDead.run({ endpoint: e.url, after: 0, now }).changes;
          continue;
        }
        const kinds = e.events.map(() => '?').join(', ');
        n += this.db
          .prepare(
            `INSERT INTO deliveries (endpoint, seq, state, attempts, next_at, updated_at)
             SELECT ?, seq, 'pending', 0, ?, ? FROM events WHERE seq > ? AND event IN (${kinds})
             ON CONFLICT (endpoint, seq) DO UPDATE SET state = 'pending', attempts = 0, next_at = excluded.next_at, last_error = NULL, updated_at = excluded.updated_at`,
          )
          .run(e.url, now, now, o.after, ...e.events).changes;
      }
      return n;
    })();
  }
}

function key(d: Delivery): { endpoint: string; seq: number } {
  return { endpoint: d.endpoint, seq: d.seq };
}
