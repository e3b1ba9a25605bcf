import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/config/config.js';
import { ArticleRecorder } from '../src/engine/pipeline/article-recorder.js';
import { revisitPolicy } from '../src/engine/revisit-policy.js';
import { Storage } from '../src/storage/storage.js';
import { tempDir } from './helpers/storage.js';

const opened: Storage[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

describe('robots.txt vetoes an article on the slow retry schedule', () => {
  it('a given-up article keeps its runs and when it was given up, and moves to its next slow slot (it never heads the due list for ever)', async () => {
    const storage = await Storage.open(await tempDir(), { search: { index: false, siteName: 'Sputnik Türkiye' } });
    opened.push(storage);
    const policy = revisitPolicy(DEFAULTS.revisit, DEFAULTS.crawl.maxFailedRuns);
    const ref = { id: '1100000001', day: '20251201', url: 'https://anlatilaninotesi.com.tr/20251201/haber-1100000001.html' };
    const givenUpAt = '2025-12-02T00:00:00.000Z';
    storage.update(ref.id, ref.url, { state: 'failed', attempts: DEFAULTS.crawl.maxFailedRuns, givenUpAt, nextCheckAt: '2025-12-03T00:00:00.000Z', lastError: 'HTTP 500' });
    const known = storage.state.articles.get(ref.id)!;
    new ArticleRecorder(storage, policy).record(ref, known, 'disallowed', {});
    const after = storage.state.articles.get(ref.id)!;
    expect(after).toMatchObject({ state: 'failed', attempts: DEFAULTS.crawl.maxFailedRuns, givenUpAt });
    expect(after.nextCheckAt).not.toBeNull();
    expect(Date.parse(after.nextCheckAt!)).toBeGreaterThan(Date.now());

    // One never tried stays as it was: pending, no run counted, nothing due.
    const fresh = { id: '1100000002', day: '20251201', url: 'https://anlatilaninotesi.com.tr/20251201/haber-1100000002.html' };
    storage.state.frontier.addDiscovered([fresh]);
    new ArticleRecorder(storage, policy).record(fresh, storage.state.articles.get(fresh.id), 'disallowed', {});
    expect(storage.state.articles.get(fresh.id)).toMatchObject({ state: 'pending', attempts: 0, givenUpAt: null, nextCheckAt: null });
  });
});
