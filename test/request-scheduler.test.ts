import { describe, expect, it } from 'vitest';
import { FetchError } from '../src/fetch/fetch-error.js';
import { RequestScheduler } from '../src/engine/request-scheduler.js';
import { LANE_RANK } from '../src/engine/lane.js';

describe('the request scheduler', () => {
  it('a Retry-After holds the request already queued behind the one that got it', async () => {
    const scheduler = new RequestScheduler({ rate: 0, concurrency: 1, retries: 2, backoffBaseMs: 10, backoffMaxMs: 10, maxRetryAfterMs: 60_000 });
    const started: Array<{ label: string; at: number }> = [];
    let failedAt = 0;
    let first = true;
    const tooMany = scheduler.run('a', async () => {
      started.push({ label: 'a', at: performance.now() });
      if (first) {
        first = false;
        failedAt = performance.now();
        throw new FetchError('http-status', 'http://127.0.0.1/a', 'HTTP 429', { status: 429, retryAfterMs: 300 });
      }
      return 'a';
    }, undefined, 0, { url: 'http://127.0.0.1/a', kind: 'page' });
    // Queued while the first is running: it starts the moment that slot frees.
    const queued = scheduler.run('b', async () => {
      started.push({ label: 'b', at: performance.now() });
      return 'b';
    }, undefined, 0, { url: 'http://127.0.0.1/b', kind: 'page' });
    expect(await Promise.all([tooMany, queued])).toEqual(['a', 'b']);
    const b = started.find((s) => s.label === 'b')!;
    expect(b.at - failedAt).toBeGreaterThanOrEqual(290);
    expect(started.map((s) => s.label)).toEqual(['a', 'b', 'a']);
  });
});

/** What the requests are for: nothing checks it here (no robots entry in the scheduler's own chain). */
const TARGET = { url: 'http://127.0.0.1/x', kind: 'page' as const };

/** A one-slot scheduler owing due checks 0.25, its slot held by a first request until open(): what comes next queues behind it. */
function heldScheduler() {
  const scheduler = new RequestScheduler({ rate: 0, concurrency: 1, retries: 1, backoffBaseMs: 1, backoffMaxMs: 1, maxRetryAfterMs: 1000, revisitShare: 0.25 });
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const first = scheduler.run('hold', async () => gate, undefined, undefined, TARGET);
  return { scheduler, first, open };
}

describe('the lanes in their order', () => {
  it('serves manual > watch > schedule > revisit > sweep > backfill, due checks owed crawl.revisitShare of the requests', async () => {
    const { scheduler, first, open } = heldScheduler();
    const order: string[] = [];
    const add = (lane: keyof typeof LANE_RANK, n: number) => Array.from({ length: n }, (_, i) => scheduler.run(`${lane}${i}`, async () => void order.push(lane), undefined, LANE_RANK[lane], TARGET));
    const jobs = [...add('backfill', 2), ...add('sweep', 1), ...add('revisit', 4), ...add('schedule', 12), ...add('watch', 1), ...add('manual', 1)];
    open();
    await Promise.all([first, ...jobs]);
    expect(order.slice(0, 2)).toEqual(['manual', 'watch']);
    // Of every four requests while due checks wait behind new work, one is a due check.
    const head = order.slice(2, 18);
    expect(head.filter((l) => l === 'revisit')).toHaveLength(4);
    expect(head.filter((l) => l === 'schedule')).toHaveLength(12);
    for (let i = 0; i + 4 <= 16; i += 4) expect(head.slice(i, i + 4)).toContain('revisit');
    expect(order.slice(18)).toEqual(['sweep', 'backfill', 'backfill']);
  });

  it('due checks sent one at a time (the next queued only when the last ends) still get their share', async () => {
    const { scheduler, first, open } = heldScheduler();
    const order: string[] = [];
    const schedule = Array.from({ length: 40 }, (_, i) => scheduler.run(`schedule${i}`, async () => void order.push('schedule'), undefined, LANE_RANK.schedule, TARGET));
    // The revisit lane as a crawl with one slot runs it: each check queued when the last is done.
    const revisits = (async () => {
      for (let i = 0; i < 10; i++) await scheduler.run(`revisit${i}`, async () => void order.push('revisit'), undefined, LANE_RANK.revisit, TARGET);
    })();
    open();
    await Promise.all([first, revisits, ...schedule]);
    const head = order.slice(0, 40);
    expect(head.filter((l) => l === 'revisit').length, head.join(' ')).toBeGreaterThanOrEqual(10);
  });

  it('a queued request whose signal aborts leaves the queue', async () => {
    const { scheduler, first, open } = heldScheduler();
    const controller = new AbortController();
    const dropped = scheduler.run('dropped', async () => 'ran', controller.signal, LANE_RANK.backfill, TARGET);
    const kept = scheduler.run('kept', async () => 'kept', undefined, LANE_RANK.revisit, TARGET);
    expect(scheduler.waiting).toBe(2);
    controller.abort(new Error('stopped'));
    expect(scheduler.waiting).toBe(1);
    open();
    await expect(dropped).rejects.toThrow('stopped');
    expect(await kept).toBe('kept');
    await first;
  });
});
