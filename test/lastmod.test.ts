import { afterEach, describe, expect, it } from 'vitest';
import { MirrorServer, type MirrorArticle } from '../src/mirror/index.js';
import { articlePath, articleUrl } from '../src/mirror/site-model.js';
import { runCli } from './helpers/cli.js';
import { articleRequests, compareWithMirror } from './helpers/mirror.js';
import { readManifest, tempDir } from './helpers/storage.js';

// A capture 30 s into the site's minute: the site writes `<lastmod>` to the minute (or second), so
// an edit made in that minute reads as older than our capture, or as the same instant.
const CAPTURE = '2025-12-15T12:00:30.000Z';
const SAME_MINUTE = '2025-12-15T12:00:00.000Z';
const later = (minutes: number) => new Date(Date.parse(CAPTURE) + minutes * 60_000).toISOString();
const env = (now: string) => ({ NEWSNAP_NOW: now, NEWSNAP_RENDER_POLICY: 'never' });

const mirrors: MirrorServer[] = [];
afterEach(async () => {
  await Promise.all(mirrors.splice(0).map((m) => m.close()));
});

async function startMirror() {
  const mirror = new MirrorServer({ articles: 40, days: 3, lastDay: '20251215', crawlDelay: 0 });
  mirrors.push(mirror);
  return { mirror, origin: await mirror.listen() };
}

async function run(args: string[], now: string) {
  const res = await runCli([...args, '--rate', '0'], { env: env(now) });
  expect(res.code, res.stderr.slice(-2000)).toBe(0);
  return res;
}

/** Article pages the mirror was asked for, each request with its answer's status, sorted. */
const requested = (mirror: MirrorServer) => articleRequests(mirror.log).map((r) => `${r.path} ${r.status}`).sort();
const real = (mirror: MirrorServer, day: string) => mirror.all().filter((a) => a.day === day && !a.gallery);

describe('a sitemap <lastmod> is a hint: any move is one conditional check', () => {
  it('a lastmod moved to a time before or equal to the capture (same minute) is checked once: an edit captured, a bare bump answered 304; unmoved ones are not asked', async () => {
    const { mirror, origin } = await startMirror();
    const storage = await tempDir();
    await run(['crawl', '--since', mirror.all()[0]!.day, '--origin', origin, '--storage', storage], CAPTURE);
    const [edited, bumped] = real(mirror, '20251215') as [MirrorArticle, MirrorArticle];
    // Both new lastmods are no later than the capture: the old rule (later than the capture) skipped them.
    mirror.edit(edited.id, { at: SAME_MINUTE, title: 'Düzeltme: başlık aynı dakikada değişti' });
    mirror.bumpLastmod(bumped.id, CAPTURE);
    const linesBefore = (await readManifest(storage)).length;
    mirror.clearLog();

    await run(['crawl', '--origin', origin, '--storage', storage], later(5));
    // Every other article was listed again with the lastmod already seen: none was asked for.
    // One request each; the bare bump's was conditional (the page's validators), so a 304.
    expect(requested(mirror)).toEqual([`${articlePath(edited)} 200`, `${articlePath(bumped)} 304`].sort());
    const lines = (await readManifest(storage)).slice(linesBefore);
    expect(lines.map((l) => [l.event, l.id])).toEqual([['updated', edited.id]]);
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);

    // Read again, the moved lastmods are the ones seen: they are not checked a second time.
    const third = real(mirror, '20251215')[2]!;
    mirror.clearLog();
    mirror.bumpLastmod(third.id, later(6));
    await run(['crawl', '--origin', origin, '--storage', storage], later(10));
    expect(requested(mirror)).toEqual([`${articlePath(third)} 304`]);
  });

  it('a first lastmod of an article captured without one (from the feed) counts only past the capture', async () => {
    const { mirror, origin } = await startMirror();
    const storage = await tempDir();
    // Captured by URL: no sitemap read, no lastmod seen. Yesterday's pages: their lastmod is older than the capture.
    const [older, moved] = real(mirror, '20251214') as [MirrorArticle, MirrorArticle];
    await run(['fetch', articleUrl(older), articleUrl(moved), '--origin', origin, '--storage', storage], CAPTURE);
    mirror.bumpLastmod(moved.id, later(2));
    mirror.clearLog();

    await run(['crawl', '--origin', origin, '--storage', storage], later(5));
    const asked = articleRequests(mirror.log);
    // The run fetched the rest of the site (all new to it); of the two captured, only the one
    // whose first lastmod is past its capture, once and conditionally.
    expect(asked.length).toBeGreaterThan(10);
    expect(asked.filter((r) => r.path === articlePath(older))).toEqual([]);
    expect(asked.filter((r) => r.path === articlePath(moved)).map((r) => r.status)).toEqual([304]);
  });
});
