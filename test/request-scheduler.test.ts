import { describe, expect, it } from 'vitest';
import { FetchError } from '../src/fetch/fetch-error.js';
import { RequestScheduler } from '../src/engine/request-scheduler.js';

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
