/**
 * How a run walks its work, shared by `crawl` and `reextract`: rows read from state a page at a
 * time behind a cursor (so in-flight rows are never selected twice and 100 000 ids are never in
 * memory at once), and at most a bounded number of jobs in flight.
 */

/** Rows read from state in pages: `read` gets the cursor of the last row given, `cursorOf` makes it. */
export function* paged<T, C>(read: (after: C | undefined) => T[], cursorOf: (row: T) => C): Iterable<T> {
  let after: C | undefined;
  for (;;) {
    const batch = read(after);
    if (batch.length === 0) return;
    for (const row of batch) {
      after = cursorOf(row);
      yield row;
    }
  }
}

export function* take<T>(items: Iterable<T>, n: number): Iterable<T> {
  if (n <= 0) return;
  let i = 0;
  for (const item of items) {
    yield item;
    if (++i >= n) return;
  }
}

/** The items in arrays of `size` (the last one may be shorter). */
export function* chunked<T>(items: Iterable<T>, size: number): Iterable<T[]> {
  let chunk: T[] = [];
  for (const item of items) {
    chunk.push(item);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

export function* chain<T>(...parts: Array<Iterable<T>>): Iterable<T> {
  for (const part of parts) yield* part;
}

/**
 * Starts `start(item)` for each item, at most `limit` at a time, until the items end or `signal`
 * aborts (`start` may return null for an item it settles at once). The first failure, of a job or
 * of the loop itself, stops new starts and calls `onFailure` (to abort what is in flight); every
 * started job is then waited for before that failure is thrown, so nothing writes after it.
 */
export async function runBounded<T>(
  items: Iterable<T>,
  o: { limit: number; signal: AbortSignal; onFailure?: () => void },
  start: (item: T) => Promise<void> | null,
): Promise<void> {
  const inflight = new Set<Promise<void>>();
  let failure: { error: unknown } | null = null;
  const fail = (error: unknown) => {
    if (failure) return;
    failure = { error };
    o.onFailure?.();
  };
  try {
    for (const item of items) {
      if (o.signal.aborted || failure) break;
      const job = start(item);
      if (!job) continue;
      const tracked: Promise<void> = job.then(() => undefined, fail).finally(() => inflight.delete(tracked));
      inflight.add(tracked);
      while (inflight.size >= o.limit && !failure) await Promise.race(inflight);
    }
  } catch (err) {
    fail(err);
  }
  await Promise.all(inflight);
  if (failure) throw (failure as { error: unknown }).error;
}
