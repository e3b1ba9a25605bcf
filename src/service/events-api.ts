import type { EventPage } from '../delivery/change-feed.js';
import { MAX_EVENTS_PAGE, type ChangeFeed } from '../delivery/change-feed.js';
import type { ManifestRecord } from '../storage/manifest.js';

/** What `GET /events` reads: the change feed, and news of every line state applies. */
export interface ChangeSource {
  feed: ChangeFeed;
  onLine(listener: (record: ManifestRecord) => void): () => void;
  /** The `seq` of the last line state has applied (what a consumer can have seen). */
  lastSeq(): number;
  /** The storage folder's own id: a consumer keeps it with its cursor. */
  storageId: string;
}

export const DEFAULT_EVENTS_PAGE = 100;
export const MAX_WAIT_SECONDS = 60;
/** Held `wait=` requests at once; more are told to come back (503 with Retry-After). */
export const MAX_WAITERS = 256;

/**
 * `after` names an event this storage never had: the consumer's cursor belongs to another
 * storage folder, or to this one before it was restored from an older backup. Answered at once
 * (409), never with an empty page that would stall the consumer forever.
 */
export class CursorPastEnd extends Error {
  override readonly name = 'CursorPastEnd';
  constructor(
    readonly after: number,
    readonly last: number,
    readonly storageId: string,
  ) {
    super(`after=${after} is past the last event of this storage (seq ${last}, storage ${storageId}): your cursor is from another storage folder or from before a restore; start again from after=0 (duplicates are recognised by webhook-id / seq) or from a seq up to ${last}`);
  }
}

/** Counts the held requests, so that their number is bounded. */
export class Waiters {
  private held = 0;
  constructor(private readonly max = MAX_WAITERS) {}

  /** Takes a place, or returns null when all are taken. */
  take(): (() => void) | null {
    if (this.held >= this.max) return null;
    this.held++;
    let released = false;
    return () => {
      if (!released) this.held--;
      released = true;
    };
  }

  get count(): number {
    return this.held;
  }
}

/** `?after=SEQ&limit=N&wait=S`, checked; a string says what is wrong. */
export function eventsQuery(q: URLSearchParams): { after: number; limit: number; waitMs: number } | string {
  const int = (name: string, fallback: number, max: number): number | string => {
    const raw = q.get(name);
    if (raw === null || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) return `${name} must be a whole number, 0 or more; got ${JSON.stringify(raw)}`;
    return Math.min(n, max);
  };
  const after = int('after', 0, Number.MAX_SAFE_INTEGER);
  const limit = int('limit', DEFAULT_EVENTS_PAGE, MAX_EVENTS_PAGE);
  const wait = int('wait', 0, MAX_WAIT_SECONDS);
  for (const v of [after, limit, wait]) if (typeof v === 'string') return v;
  return { after: after as number, limit: Math.max(1, limit as number), waitMs: (wait as number) * 1000 };
}

/**
 * The events after `after`; when there are none yet and `waitMs` > 0, the answer waits until a
 * line after it is applied (then it is read at once), `waitMs` pass, or `signal` aborts (the
 * client hung up, or serve stops). Throws CursorPastEnd when `after` is past the last event.
 */
export async function eventsAfter(source: ChangeSource, q: { after: number; limit: number; waitMs: number }, signal: AbortSignal): Promise<EventPage> {
  const last = source.lastSeq();
  if (q.after > last) throw new CursorPastEnd(q.after, last, source.storageId);
  let wake: () => void = () => undefined;
  const news = new Promise<void>((resolve) => (wake = resolve));
  // Listening first: a line applied while the feed is read is not missed.
  const stop = source.onLine((record) => {
    if (record.seq > q.after) wake();
  });
  try {
    const page = await source.feed.read(q.after, q.limit);
    if (page.events.length > 0 || q.waitMs <= 0 || signal.aborted) return page;
    const timer = setTimeout(wake, q.waitMs);
    signal.addEventListener('abort', wake, { once: true });
    await news;
    clearTimeout(timer);
    signal.removeEventListener('abort', wake);
    return await source.feed.read(q.after, q.limit);
  } finally {
    stop();
  }
}
