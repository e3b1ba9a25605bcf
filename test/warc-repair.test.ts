import { copyFileSync, mkdirSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/storage.js';
import { readWarcByHand } from './helpers/warc-files.js';

const env = { NEWSNAP_NOW: '2025-12-15T12:00:00Z', NEWSNAP_RENDER_POLICY: 'never' };
let mirror: MirrorServer;
let archived: string;
beforeAll(async () => {
  mirror = new MirrorServer({ articles: 12, days: 1, lastDay: '20251215', crawlDelay: 0 });
  await mirror.listen();
  const storage = await tempDir();
  const res = await runCli(['crawl', '--since', '2025-12-15', '--origin', mirror.baseUrl, '--storage', storage, '--rate', '0'], { env });
  expect(res.code, res.stderr.slice(-2000)).toBe(0);
  const dir = join(storage, 'warc');
  archived = join(dir, readdirSync(dir).find((f) => f.endsWith('.warc.gz'))!);
});
afterAll(() => mirror.close());

describe('a WARC file a kill -9 left open', () => {
  it('cut inside a large record (at a page boundary, as the kernel leaves a torn write): the next start closes it after the last whole record, and goes on', async () => {
    const members = readWarcByHand(archived).map((r) => ({ start: r.offset, end: r.offset + r.length }));
    const large = members.filter((m) => m.end - m.start > 3 * 4096);
    expect(large.length).toBeGreaterThan(2);
    // In a large member's middle (page-aligned), 3 bytes into one (its header cut), and just past the last whole one.
    const cuts = [...large.slice(0, 3).map((m) => Math.ceil((m.start + (m.end - m.start) / 2) / 4096) * 4096), large[0]!.start + 3, large[1]!.end + 1];
    for (const cut of cuts) {
      const storage = await tempDir();
      const open = join(storage, 'warc', 'newsnap-20251215120000000-00000.warc.gz.open');
      mkdirSync(join(storage, 'warc'));
      copyFileSync(archived, open);
      truncateSync(open, cut);
      // A fetch from an address nothing answers: it opens the storage (closing the file), then fails.
      const res = await runCli(['fetch', 'https://anlatilaninotesi.com.tr/20251215/x-1100000100.html', '--origin', 'http://127.0.0.1:9', '--storage', storage], { env });
      expect(res.code, `cut at ${cut}: ${res.stderr.slice(-1000)}`).toBe(3);
      const closed = open.replace(/\.open$/, '');
      const whole = members.filter((m) => m.end <= cut).at(-1)!.end;
      expect([readdirSync(join(storage, 'warc')).filter((f) => f.startsWith('newsnap-20251215120000000-00000')), statSync(closed).size], `cut at ${cut}`).toEqual([['newsnap-20251215120000000-00000.warc.gz'], whole]);
      expect(readWarcByHand(closed).length).toBe(members.filter((m) => m.end <= cut).length);
    }
  });
});
