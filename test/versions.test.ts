import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { expectedSnapshot, MirrorServer, type MirrorArticle } from '../src/mirror/index.js';
import { articlePath, articleUrl, seededRandom } from '../src/mirror/site-model.js';
import { collect, runCli, startCli } from './helpers/cli.js';
import { startServe, until } from './helpers/serve.js';
import { articleRequests, compareWithMirror, maxInWindow, snapshotPath } from './helpers/mirror.js';
import { listFiles, readManifest, tempDir } from './helpers/storage.js';

const T0 = '2025-12-15T12:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();
const env = (now: string, extra: Record<string, string> = {}) => ({ NEWSNAP_NOW: now, NEWSNAP_RENDER_POLICY: 'never', ...extra });
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

const mirrors: MirrorServer[] = [];
afterEach(async () => {
  await Promise.all(mirrors.splice(0).map((m) => m.close()));
});

async function startMirror(articles: number) {
  const mirror = new MirrorServer({ articles, days: 5, lastDay: '20251215', crawlDelay: 0 });
  mirrors.push(mirror);
  return { mirror, origin: await mirror.listen() };
}

/** Articles that give a snapshot (galleries do not). */
const real = (m: MirrorServer) => m.all().filter((a) => !a.gallery);

async function crawl(origin: string, storage: string, now: string, args: string[] = [], extraEnv: Record<string, string> = {}) {
  const res = await runCli(['crawl', '--origin', origin, '--storage', storage, '--rate', '0', ...args], { env: env(now, extraEnv) });
  expect(res.code, res.stderr.slice(-2000)).toBe(0);
  return res;
}

async function history(storage: string, id: string, ...flags: string[]) {
  const res = await runCli(['history', id, '--storage', storage, ...flags], { env: env(T0) });
  return res;
}

function historyFile(a: MirrorArticle, captured: string): string {
  return `history/${a.day.slice(0, 4)}-${a.day.slice(4, 6)}-${a.day.slice(6, 8)}/${a.id}/${captured}.txt`;
}

describe('articles over time', () => {
  it('after edits, a bare lastmod bump, a 410 and a 404, one incremental run requests only those 6 pages and records each exactly', async () => {
    const { mirror, origin } = await startMirror(60);
    const storage = await tempDir();
    await crawl(origin, storage, T0, ['--since', mirror.all()[0]!.day]);
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);

    const [titled, rewritten, extended, bumped, removed410, removed404] = real(mirror).slice(3, 9) as [MirrorArticle, MirrorArticle, MirrorArticle, MirrorArticle, MirrorArticle, MirrorArticle];
    const before = new Map([titled, rewritten, extended, bumped].map((a) => [a.id, readFileSync(join(storage, snapshotPath(a)))]));
    mirror.edit(titled.id, { at: at(2), title: 'Başlık değişti: Ankara’da yeni açıklama' });
    mirror.edit(rewritten.id, { at: at(2), paragraph: { index: 0, text: 'Düzeltme: ilk paragraf yeniden yazıldı.' } });
    mirror.edit(extended.id, { at: at(2), addParagraph: 'Güncelleme: habere yeni bir paragraf eklendi.' });
    mirror.bumpLastmod(bumped.id, at(2));
    mirror.remove(removed410.id, 410);
    mirror.remove(removed404.id, 404);
    const manifestBefore = (await readManifest(storage)).length;
    mirror.clearLog();

    const run = await crawl(origin, storage, at(5));
    expect(run.stdout.toString()).toContain('0 written, 3 updated, 1 unchanged, 1 gone, 1 answering 404 (not yet gone), 0 not articles, 0 failed');
    expect(run.stdout.toString()).toContain('revisits: 6 checked, 0 due but left for later runs');

    // Only those 6 article pages were requested; the bare bump was answered 304.
    const requested = articleRequests(mirror.log);
    expect(requested.map((r) => r.path).sort()).toEqual([titled, rewritten, extended, bumped, removed410, removed404].map(articlePath).sort());
    expect(Object.fromEntries(requested.map((r) => [r.path, r.status]))).toEqual({
      [articlePath(titled)]: 200,
      [articlePath(rewritten)]: 200,
      [articlePath(extended)]: 200,
      [articlePath(bumped)]: 304,
      [articlePath(removed410)]: 410,
      [articlePath(removed404)]: 404,
    });

    // The edited snapshots are their new expected bytes; removed articles keep theirs.
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
    const lines = (await readManifest(storage)).slice(manifestBefore);
    for (const a of [titled, rewritten, extended]) {
      const old = before.get(a.id)!;
      const file = historyFile(a, '20251215T120000Z');
      expect(readFileSync(join(storage, file)).equals(old), a.id).toBe(true);
      const line = lines.find((l) => l.id === a.id);
      expect(line).toMatchObject({ event: 'updated', previousSha256: sha(old), sha256: sha(expectedSnapshot(a)!), historyPath: file, capturedAt: at(5), modifiedTime: a.modifiedTime });
    }
    // The bare bump wrote nothing: no line, no history.
    expect(lines.some((l) => l.id === bumped.id)).toBe(false);
    expect(readFileSync(join(storage, snapshotPath(bumped))).equals(before.get(bumped.id)!)).toBe(true);
    const files = await listFiles(storage);
    expect(files.filter((f) => f.startsWith('history/'))).toEqual([titled, rewritten, extended].map((a) => historyFile(a, '20251215T120000Z')).sort());
    // The 410 is gone at once; the 404 is not yet.
    expect(lines.filter((l) => l.event === 'gone')).toEqual([expect.objectContaining({ id: removed410.id, reason: 'HTTP 410', path: snapshotPath(removed410), capturedAt: at(5) })]);
    expect(lines).toHaveLength(4);
    expect(JSON.parse((await history(storage, removed410.id, '--json')).stdout.toString()).state).toBe('gone');
    expect(JSON.parse((await history(storage, removed404.id, '--json')).stdout.toString()).state).toBe('done');
    expect(files).toContain(snapshotPath(removed410));
    expect(files.filter((f) => f.startsWith('journal/') || f.endsWith('.tmp'))).toEqual([]);

    // Nothing due: a run costs the discovery requests only, all 304 once today's sitemap range
    // was read (the run before read the month whole).
    await crawl(origin, storage, at(6));
    mirror.clearLog();
    await crawl(origin, storage, at(7));
    expect(mirror.log.length).toBeLessThanOrEqual(4);
    expect(mirror.log.every((r) => r.status === 304)).toBe(true);

    // Two and four hours on, the 404 article is checked again and gone after its third 404.
    await crawl(origin, storage, at(125));
    expect(JSON.parse((await history(storage, removed404.id, '--json')).stdout.toString()).state).toBe('done');
    // (The log was cleared after the first 404.)
    expect(mirror.log.filter((r) => r.path === articlePath(removed404)).map((r) => r.status)).toEqual([404]);
    await crawl(origin, storage, at(245));
    const gone = JSON.parse((await history(storage, removed404.id, '--json')).stdout.toString()) as { state: string; versions: Array<{ event: string; reason: string | null; at: string }> };
    expect(gone.state).toBe('gone');
    expect(gone.versions.map((v) => v.event)).toEqual(['new', 'gone']);
    expect(gone.versions[1]).toMatchObject({ reason: 'HTTP 404 ×3', at: at(245) });
    expect(mirror.log.filter((r) => r.path === articlePath(removed404)).map((r) => r.status)).toEqual([404, 404]);
    // Nothing newsnap wrote was deleted.
    for (const f of files) expect(await listFiles(storage)).toContain(f);
    // Rebuilt from the archive, nothing changed: no line, and the gone articles stay gone.
    const lines404 = (await readManifest(storage)).length;
    const rebuilt = await runCli(['reextract', '--storage', storage], { env: env(at(250)) });
    expect(rebuilt.stdout.toString()).toContain(' 0 written (reextracted)');
    expect(await readManifest(storage)).toHaveLength(lines404);
    expect(JSON.parse((await history(storage, removed410.id, '--json')).stdout.toString()).state).toBe('gone');
  });

  it('a gone article that answers again is restored; fetch and POST /fetch of an edited article go through the same version logic', async () => {
    const { mirror, origin } = await startMirror(20);
    const storage = await tempDir();
    await crawl(origin, storage, T0, ['--since', mirror.all()[0]!.day]);
    const [back, viaFetch, viaApi] = real(mirror).slice(2, 5) as [MirrorArticle, MirrorArticle, MirrorArticle];
    mirror.remove(back.id, 410);
    await crawl(origin, storage, at(5));
    mirror.restore(back.id);
    mirror.edit(back.id, { at: at(30), title: 'Geri döndü' });
    // Gone articles are checked a day later by default.
    const restored = await crawl(origin, storage, at(24 * 60 + 10));
    expect(restored.stdout.toString()).toMatch(/1 restored/);
    const h = JSON.parse((await history(storage, back.id, '--json')).stdout.toString()) as { state: string; versions: Array<{ event: string }> };
    expect(h.state).toBe('done');
    expect(h.versions.map((v) => v.event)).toEqual(['new', 'gone', 'restored']);

    mirror.edit(viaFetch.id, { at: at(40), addParagraph: 'Ek bilgi.' });
    const fetched = await runCli(['fetch', articleUrl(viaFetch), '--origin', origin, '--storage', storage], { env: env(at(45)) });
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stdout.toString()).toBe(`updated ${snapshotPath(viaFetch)} ${articleUrl(viaFetch)}\n`);
    const again = await runCli(['fetch', articleUrl(viaFetch), '--origin', origin, '--storage', storage], { env: env(at(46)) });
    expect(again.stdout.toString()).toBe(`unchanged ${snapshotPath(viaFetch)} ${articleUrl(viaFetch)}\n`);

    mirror.edit(viaApi.id, { at: at(40), title: 'API ile güncellendi' });
    const { child, api, done } = await startServe(['--origin', origin, '--storage', storage, '--schedule', '0 0 1 1 *', '--rate', '0'], { env: env(at(50)) });
    const answer = await fetch(`${api}/fetch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: articleUrl(viaApi) }) });
    expect(await answer.json()).toMatchObject({ result: 'updated', path: snapshotPath(viaApi) });
    child.kill('SIGTERM');
    expect((await done).code).toBe(0);
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
    const manifest = await readManifest(storage);
    expect(manifest.filter((l) => l.event === 'updated').map((l) => l.id).sort()).toEqual([viaFetch.id, viaApi.id].sort());
  });

  it('every lastmod of a month jumping at once: each run checks at most revisit.maxPerRun, the longest due first, inside the rate limit', async () => {
    const { mirror, origin } = await startMirror(60);
    const storage = await tempDir();
    await crawl(origin, storage, T0, ['--since', mirror.all()[0]!.day]);
    for (const a of mirror.all()) mirror.bumpLastmod(a.id, at(2));
    // Three articles edited earlier are due earlier: they come first.
    const early = real(mirror).slice(-3);
    for (const a of early) mirror.bumpLastmod(a.id, at(1));
    const captured = real(mirror).map((a) => a.id).sort();
    const order = [...early.map((a) => a.id).sort(), ...captured.filter((id) => !early.some((a) => a.id === id))];
    const seen: string[] = [];
    for (const [i, now] of [at(5), at(6), at(7)].entries()) {
      mirror.clearLog();
      const run = await crawl(origin, storage, now, ['--rate', '5'], { NEWSNAP_REVISIT_MAX_PER_RUN: '20' });
      const ids = articleRequests(mirror.log).map((r) => /-(\d{10})\.html/.exec(r.path)![1]!);
      expect(ids.length).toBe(Math.min(20, captured.length - 20 * i));
      expect(maxInWindow(mirror.log)).toBeLessThanOrEqual(5);
      expect(run.stdout.toString()).toContain(`revisits: ${ids.length} checked, ${Math.max(0, captured.length - 20 * (i + 1))} due but left for later runs`);
      seen.push(...ids.sort((a, b) => order.indexOf(a) - order.indexOf(b)));
    }
    expect(seen).toEqual(order);
    // Bare bumps: every page answered 304 and nothing was written.
    expect((await readManifest(storage)).every((l) => l.event === 'new')).toBe(true);
  });

  it('kill -9 at seeded moments during runs that write updates: after the rerun, snapshots, history and manifest equal those of an uninterrupted run', async () => {
    const { mirror, origin } = await startMirror(120);
    const reference = await tempDir();
    const victim = await tempDir();
    const since = mirror.all()[0]!.day;
    await crawl(origin, reference, T0, ['--since', since]);
    await crawl(origin, victim, T0, ['--since', since]);
    const rnd = seededRandom(10);
    const edited = real(mirror).filter(() => rnd() < 0.5);
    edited.forEach((a, i) => mirror.edit(a.id, i % 2 ? { at: at(2), title: `Düzeltilmiş başlık ${i}` } : { at: at(2), addParagraph: `Eklenen paragraf ${i}.` }));
    // Edited pages answer slowly, so the kills land among the updates.
    for (const a of edited) mirror.addFault({ path: articlePath(a), kind: 'slow', delayMs: 60 });
    await crawl(origin, reference, at(5), ['--concurrency', '4']);

    const args = ['crawl', '--origin', origin, '--storage', victim, '--rate', '0', '--concurrency', '4'];
    const updatedAfterKill: number[] = [];
    const updatedLines = async () => (await readManifest(victim)).filter((l) => l.event === 'updated').length;
    for (let trial = 0; trial < 8; trial++) {
      const written = await updatedLines();
      const child = startCli(args, { env: env(at(5)) });
      const done = collect(child);
      let exited = false;
      void done.then(() => (exited = true));
      // Each kill lands while this run writes updates (however long the start took on a busy
      // machine): after its first one, at a seeded moment. A run with none left ends by itself.
      await until('an update written or the run over', async () => (exited || (await updatedLines()) > written ? true : undefined));
      if (!exited) {
        await new Promise((r) => setTimeout(r, Math.floor(rnd() * 400)));
        child.kill('SIGKILL');
      }
      await done;
      updatedAfterKill.push(await updatedLines());
    }
    // At least one kill landed among the updates, not before the first or after the last.
    expect(updatedAfterKill.some((n) => n > 0 && n < edited.length), `updated lines after each kill: ${updatedAfterKill.join(', ')}`).toBe(true);
    const final = await runCli(args, { env: env(at(5)) });
    expect(final.code, final.stderr.slice(-2000)).toBe(0);

    const files = async (root: string) => {
      const out: Record<string, string> = {};
      for (const f of await listFiles(root)) if (f.startsWith('snapshots/') || f.startsWith('history/')) out[f] = sha(readFileSync(join(root, f)));
      return out;
    };
    const refFiles = await files(reference);
    expect(Object.keys(refFiles).filter((f) => f.startsWith('history/'))).toHaveLength(edited.length);
    expect(await files(victim)).toEqual(refFiles);
    // The same lines, whatever order the kills gave them; each numbered by its place, without gaps.
    const key = (l: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(l).filter(([k]) => k !== 'seq').sort(([a], [b]) => a.localeCompare(b))));
    const victimLines = await readManifest(victim);
    expect(victimLines.map(key).sort()).toEqual((await readManifest(reference)).map(key).sort());
    expect(victimLines.map((l) => l.seq)).toEqual(victimLines.map((_, i) => i + 1));
    expect((await listFiles(victim)).filter((f) => f.endsWith('.tmp') || f.startsWith('journal/'))).toEqual([]);
    expect(await compareWithMirror(victim, mirror.all())).toEqual([]);
  });

  it('history and history --diff print the versions as documented', async () => {
    const { mirror, origin } = await startMirror(12);
    const storage = await tempDir();
    await crawl(origin, storage, T0, ['--since', mirror.all()[0]!.day]);
    const a = real(mirror)[4]!;
    const oldTitle = a.title;
    mirror.edit(a.id, { at: at(2), title: 'Yeni başlık' });
    await crawl(origin, storage, at(5));
    const newBytes = readFileSync(join(storage, snapshotPath(a)));
    const oldFile = historyFile(a, '20251215T120000Z');
    const oldBytes = readFileSync(join(storage, oldFile));

    const text = await history(storage, a.id);
    expect(text.code).toBe(0);
    const lines = text.stdout.toString().split('\n');
    expect(lines[0]).toBe(`${a.id} ${articleUrl(a)} (done)`);
    expect(lines[1]).toBe('');
    expect(lines[2]).toMatch(/^captured \(UTC\)\s+event\s+bytes\s+sha256\s+path$/);
    expect(lines[3]!.split(/\s+/)).toEqual([T0, 'new', String(oldBytes.length), sha(oldBytes), oldFile]);
    expect(lines[4]!.split(/\s+/)).toEqual([at(5), 'updated', String(newBytes.length), sha(newBytes), snapshotPath(a)]);
    expect(lines.slice(5)).toEqual(['']);

    const diff = (await history(storage, a.id, '--diff')).stdout.toString();
    expect(diff.startsWith(text.stdout.toString().trimEnd())).toBe(true);
    expect(diff).toContain(`--- ${oldFile}\t${T0}\n+++ ${snapshotPath(a)}\t${at(5)}\n`);
    expect(diff).toContain(`\n-${oldTitle.replace(/\s+/g, ' ').trim()}\n+Yeni başlık\n`);

    const json = JSON.parse((await history(storage, a.id, '--json', '--diff')).stdout.toString()) as { versions: Array<Record<string, unknown>> };
    expect(json.versions).toEqual([
      expect.objectContaining({ at: T0, event: 'new', sha256: sha(oldBytes), path: oldFile, diff: null }),
      expect.objectContaining({ at: at(5), event: 'updated', sha256: sha(newBytes), previousSha256: sha(oldBytes), path: snapshotPath(a), diff: expect.stringContaining('+Yeni başlık') }),
    ]);
    const unknown = await history(storage, '1999999999');
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('no article 1999999999');
  });
});
