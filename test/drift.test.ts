import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { baselineOf, emptyStats, findDrift, type ExtractionStats } from '../src/engine/policies/drift.js';
import { extractArticle } from '../src/extract/extract-article.js';
import type { RunRecord } from '../src/storage/state/state-store.js';
import { MirrorServer } from '../src/mirror/index.js';
import { articlePage, challengePage } from '../src/mirror/page-templates.js';
import { articlePath, articleUrl } from '../src/mirror/site-model.js';
import { sputnikTurkiye } from '../src/site/profile.js';
import { logRecords, runCli } from './helpers/cli.js';
import { articleRequests, compareWithMirror } from './helpers/mirror.js';
import { startServe, until } from './helpers/serve.js';
import { readManifest, tempDir } from './helpers/storage.js';

const NOW = '2025-12-15T12:00:00Z';
const env = { NEWSNAP_NOW: NOW };
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const stats = (pages: number, notArticle: number, fields: Partial<ExtractionStats['fields']> = {}): ExtractionStats => {
  const articles = pages - notArticle;
  return { pages, notArticle, articles, fields: { siteName: articles, description: articles, image: articles, ...fields } };
};
const run = (id: number, extraction: ExtractionStats | null): RunRecord => ({ id, kind: 'incremental', startedAt: '', finishedAt: 'x', status: 'done', summary: extraction ? { extraction } : {} });

describe('the drift alarm, as rules', () => {
  it('needs 10 pages; a no-article share of 20% and 3× the baseline; or a field below half its coverage', () => {
    expect(findDrift(stats(9, 9), null)).toEqual([]);
    expect(findDrift(stats(10, 2), null)).toEqual([{ what: 'pages that yield no article', from: 0, to: 0.2 }]);
    expect(findDrift(stats(10, 1), null)).toEqual([]);
    // 25% against a baseline of 10%: not 3×.
    expect(findDrift(stats(100, 25), stats(100, 10))).toEqual([]);
    expect(findDrift(stats(100, 30), stats(100, 10))).toEqual([{ what: 'pages that yield no article', from: 0.1, to: 0.3 }]);
    expect(findDrift(stats(100, 0, { image: 40 }), stats(100, 0))).toEqual([{ what: 'image coverage', from: 1, to: 0.4 }]);
    expect(findDrift(stats(100, 0, { image: 60 }), stats(100, 0))).toEqual([]);
  });

  it('the baseline is runs 8–14 back, pooled; with fewer than 8 runs, all there are', () => {
    // Newest first: runs 1–7 back drift slowly, 8–14 back are healthy.
    const slow = Array.from({ length: 7 }, (_, i) => run(20 - i, stats(100, 30)));
    const healthy = Array.from({ length: 7 }, (_, i) => run(13 - i, stats(100, 2)));
    expect(baselineOf([...slow, ...healthy])).toEqual(stats(700, 14));
    expect(baselineOf([...slow.slice(0, 3), run(9, null)])).toEqual(stats(300, 90));
    expect(baselineOf([])).toBeNull();
    expect(findDrift(stats(100, 30), baselineOf([...slow, ...healthy]))).toHaveLength(1);
  });

  it('a drifted page is the site\'s page with no article; a challenge page carries none of the site\'s markup', () => {
    const m = new MirrorServer({ articles: 3, days: 1, lastDay: '20251215' });
    const a = m.all()[0]!;
    a.drifted = true;
    expect(extractArticle(articlePage(a), articleUrl(a), sputnikTurkiye)).toMatchObject({ ok: false, reason: 'empty-body' });
    for (const status of [200, 403, 451]) expect(extractArticle(challengePage(status), articleUrl(a), sputnikTurkiye)).toMatchObject({ ok: false, reason: 'foreign-page' });
    expect(emptyStats().pages).toBe(0);
  });
});

describe('drift and blocked pages, end to end', () => {
  it('half of 80 articles drift: the crawl exits 7 with the alarm at --rate 50 and stops sending empty pages to the browser; serve shows it; with the selector fixed and the site unreachable, reextract writes all 80 exact', async () => {
    const mirror = new MirrorServer({ articles: 82, days: 3, lastDay: '20251215', crawlDelay: 0 });
    const real = mirror.all().filter((a) => !a.gallery);
    expect(real).toHaveLength(80);
    real.forEach((a, i) => (i % 2 === 0 ? mirror.drift(a.id) : undefined));
    const origin = await mirror.listen();
    cleanup.push(() => mirror.close());
    const storage = await tempDir();
    const res = await runCli(['crawl', '--since', mirror.all()[0]!.day, '--origin', origin, '--storage', storage, '--rate', '50'], { env });
    expect(res.code, res.stderr.slice(-3000)).toBe(7);
    const alarm = logRecords(res.stderr).find((r) => r.msg === 'extraction drift')!;
    expect(alarm).toMatchObject({ level: 50, remedy: expect.stringContaining('fix site.selectors in the config') });
    expect(alarm.remedy).toContain('newsnap reextract');
    expect((alarm.drift as string[])[0]).toMatch(/^pages that yield no article rose from 0% to 5\d%$/);
    expect(res.stdout.toString()).toMatch(/^EXTRACTION DRIFT: pages that yield no article rose from 0% to 5\d%/m);
    // Once drift was suspected, empty pages stopped going to the browser (the engine's drift policy, for every lane).
    expect(logRecords(res.stderr).some((r) => r.msg === 'extraction drift suspected: pages with an empty body are no longer sent to the browser')).toBe(true);

    // serve: the alarm in /metrics and /status.
    const served = await startServe(['--origin', origin, '--storage', await tempDir(), '--schedule', '* * * * * *', '--rate', '50'], { env });
    cleanup.push(() => served.kill());
    const status = await until('a finished run', async () => {
      const s = (await (await fetch(`${served.api}/status`)).json()) as { alarms: { drift: { said: string[]; remedy: string } | null } };
      return s.alarms.drift ? s : undefined;
    });
    expect(status.alarms.drift!.said[0]).toMatch(/^pages that yield no article rose from 0% to 5\d%$/);
    const metrics = await (await fetch(`${served.api}/metrics`)).text();
    expect(metrics).toMatch(/^newsnap_extraction_drift 1$/m);
    served.child.kill('SIGTERM');
    expect((await served.done).code).toBe(0);

    // The selector fixed; the site unreachable: reextract sends no request and rebuilds them all.
    await mirror.close();
    const config = join(await tempDir(), 'fixed.json');
    writeFileSync(config, JSON.stringify({ site: { selectors: { ...sputnikTurkiye.selectors, body: 'div.article__body, div.article__content' } } }));
    const before = (await readManifest(storage)).length;
    const rebuilt = await runCli(['reextract', '--config', config, '--storage', storage], { env });
    expect(rebuilt.code, rebuilt.stderr.slice(-2000)).toBe(0);
    expect(rebuilt.stdout.toString()).toContain(': 82 archived pages, 40 written (reextracted), 40 unchanged, 2 not articles, 0 failed');
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
    const lines = (await readManifest(storage)).slice(before);
    expect(lines.map((l) => l.event)).toEqual(Array(40).fill('reextracted'));
    expect(lines.map((l) => l.id).sort()).toEqual(real.filter((a) => a.drifted).map((a) => a.id).sort());
    const again = await runCli(['reextract', '--config', config, '--storage', storage], { env });
    expect(again.stdout.toString()).toContain(': 82 archived pages, 0 written (reextracted), 80 unchanged, 2 not articles, 0 failed');
    expect(await readManifest(storage)).toHaveLength(before + 40);
  });

  it('challenge pages and HTTP 403/451 count as blocked, not drift; three in a row pause the run; they stay pending for the next run', async () => {
    const mirror = new MirrorServer({ articles: 30, days: 2, lastDay: '20251215', crawlDelay: 0 });
    // The newest come first: six blocked in a row, then the rest.
    const newest = [...mirror.all()].reverse().filter((a) => !a.gallery).slice(0, 6);
    newest.forEach((a, i) => mirror.challenge(a.id, [200, 403, 451][i % 3]!));
    const origin = await mirror.listen();
    cleanup.push(() => mirror.close());
    const storage = await tempDir();
    const res = await runCli(['crawl', '--since', mirror.all()[0]!.day, '--origin', origin, '--storage', storage, '--rate', '0', '--concurrency', '1', '--render', 'never'], {
      env: { ...env, NEWSNAP_CRAWL_BLOCKED_PAUSE_MS: '1500' },
    });
    // The blocked alarm (block pages in a row paused the run): its own exit code.
    expect(res.code, res.stderr.slice(-2000)).toBe(8);
    expect(res.stdout.toString()).toContain('6 blocked (not the site\'s page)');
    expect(res.stdout.toString()).not.toContain('EXTRACTION DRIFT');
    expect(res.stdout.toString()).toMatch(/^BLOCKED: the site answered with block pages 6 times; the run paused 2 time\(s\)$/m);
    const blocked = logRecords(res.stderr).filter((r) => r.msg === "blocked: not the site's page");
    expect(blocked.map((r) => r.reason).sort()).toEqual(['HTTP 403', 'HTTP 403', 'HTTP 451', 'HTTP 451', "a challenge or block page: none of the site's markup", "a challenge or block page: none of the site's markup"]);
    // After the third blocked page the run paused: like a 429, the pause holds every request not
    // yet started (the one already admitted with a request in flight goes out).
    const times = articleRequests(mirror.log).map((r) => r.t);
    const third = articleRequests(mirror.log).findIndex((r) => r.path === articlePath(newest[2]!));
    expect(Math.max(times[third + 1]! - times[third]!, times[third + 2]! - times[third + 1]!)).toBeGreaterThanOrEqual(1400);

    for (const a of newest) mirror.challenge(a.id, null);
    mirror.clearLog();
    const next = await runCli(['crawl', '--since', mirror.all()[0]!.day, '--origin', origin, '--storage', storage, '--rate', '0', '--render', 'never'], { env });
    expect(next.code).toBe(0);
    expect(articleRequests(mirror.log).map((r) => r.path).sort()).toEqual(newest.map(articlePath).sort());
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
  });
});
