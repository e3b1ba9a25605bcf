import { afterEach, describe, expect, it } from 'vitest';
import { MirrorServer } from '../src/mirror/index.js';
import { articlePath, articleUrl } from '../src/mirror/site-model.js';
import { collect, logRecords, runCli, startCli } from './helpers/cli.js';
import { articleRequests, compareWithMirror } from './helpers/mirror.js';
import { startServe } from './helpers/serve.js';
import { queryState, tempDir } from './helpers/storage.js';

const TODAY = '20251215';
const T0 = '2025-12-15T12:00:00Z';
const env = { NEWSNAP_NOW: T0, NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_BACKOFF_BASE_MS: '50' };
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
});

async function mirrorOn(port: number, options: Partial<ConstructorParameters<typeof MirrorServer>[0]> = {}): Promise<MirrorServer> {
  const mirror = new MirrorServer({ articles: 40, days: 3, lastDay: TODAY, crawlDelay: 0, ...options });
  await mirror.listen(port);
  cleanup.push(() => mirror.close());
  return mirror;
}

/** Requests a run sent, from its summary line `requests: N (…)`. */
function requestsOf(stdout: Buffer): number {
  return Number(/^requests: (\d+)/m.exec(stdout.toString())?.[1] ?? Number.NaN);
}

function articleRows(storage: string): Array<{ id: string; state: string; attempts: number; last_error: string | null }> {
  return queryState(storage, 'SELECT id, state, attempts, last_error FROM articles ORDER BY id');
}

describe('an unreachable site is the run\'s failure, never the article\'s', () => {
  it('the outage of issue 16: runs against a dead origin exit 3 naming it, after a handful of requests, charge no article; when it is back, all 40 are captured', async () => {
    const first = await mirrorOn(0);
    const port = Number(new URL(first.baseUrl).port);
    const origin = first.baseUrl;
    const storage = await tempDir();
    const args = ['crawl', '--origin', origin, '--storage', storage, '--rate', '0'];
    const started = await runCli([...args, '--max', '5'], { env });
    expect(started.code, started.stderr.slice(-2000)).toBe(0);
    expect(articleRows(storage).filter((r) => r.state === 'pending')).toHaveLength(35);

    await first.close();
    for (let run = 0; run < 6; run++) {
      const res = await runCli(args, { env });
      expect(res.code, res.stderr.slice(-2000)).toBe(3);
      expect(res.stdout.toString()).toMatch(/^crawl failed /m);
      expect(res.stdout.toString()).toContain(`UNREACHABLE: cannot reach 127.0.0.1:${port} (connection refused): is the origin running?`);
      // robots.txt, tried crawl.retries times: the run stops there.
      expect(requestsOf(res.stdout)).toBeLessThanOrEqual(3);
      expect(logRecords(res.stderr).find((r) => r.msg === `cannot reach 127.0.0.1:${port} (connection refused): is the origin running?`)).toMatchObject({ level: 50, address: `127.0.0.1:${port}` });
    }
    expect(articleRows(storage).filter((r) => r.attempts > 0)).toEqual([]);

    const back = await mirrorOn(port);
    const last = await runCli(args, { env });
    expect(last.code, last.stderr.slice(-2000)).toBe(0);
    // The 35 left: 34 articles and a gallery.
    expect(last.stdout.toString()).toMatch(/^crawl done .*: 0 discovered, 34 written, .* 1 not articles, 0 failed/m);
    expect(await compareWithMirror(storage, back.all())).toEqual([]);
  });

  it('an origin that goes away mid-run: the run stops after a handful of unanswered requests, exit 3; no article is charged; the next run captures the rest', async () => {
    const mirror = await mirrorOn(0, { articles: 60 });
    const port = Number(new URL(mirror.baseUrl).port);
    const storage = await tempDir();
    const args = ['crawl', '--since', mirror.all()[0]!.day, '--origin', mirror.baseUrl, '--storage', storage, '--rate', '15', '--concurrency', '2'];
    const child = startCli(args, { env });
    const done = collect(child);
    while (articleRequests(mirror.log).length < 10) await new Promise((r) => setTimeout(r, 5));
    await mirror.close();
    const res = await done;
    expect(res.code, res.stderr.slice(-2000)).toBe(3);
    expect(res.stdout.toString()).toContain(`UNREACHABLE: cannot reach 127.0.0.1:${port} (connection refused): is the origin running?`);
    // crawl.unreachableAfter (5) failures in a row stop it; what was in flight is interrupted.
    const summary = logRecords(res.stderr).find((r) => r.msg === 'crawl finished')?.summary as { requests: Record<string, number>; counts: { failed: number } };
    expect((summary.requests.connect ?? 0) + (summary.requests.reset ?? 0)).toBeLessThanOrEqual(5 + 2);
    expect(summary.counts.failed).toBe(0);
    expect(articleRows(storage).filter((r) => r.attempts > 0)).toEqual([]);

    const back = await mirrorOn(port, { articles: 60 });
    const again = await runCli(args, { env });
    expect(again.code, again.stderr.slice(-2000)).toBe(0);
    expect(await compareWithMirror(storage, back.all())).toEqual([]);
  });

  it('a host that does not resolve is named with the DNS remedy, not as a robots.txt policy', async () => {
    const res = await runCli(['crawl', '--origin', 'http://newsnap-outage-test.invalid:8080', '--storage', await tempDir()], { env: { ...env, NEWSNAP_CRAWL_RETRIES: '1' } });
    expect(res.code).toBe(3);
    expect(res.stdout.toString()).toContain('UNREACHABLE: cannot resolve newsnap-outage-test.invalid (host not found): check the network, DNS or HTTPS_PROXY');
    expect(res.stdout.toString()).not.toContain('robots.txt could not be read');
  });

  it('fetch: an unreachable origin exits 3 naming it; a blocked page exits 8; neither charges the article', async () => {
    const mirror = await mirrorOn(0, { articles: 5 });
    const a = mirror.all().find((x) => !x.gallery)!;
    const storage = await tempDir();
    const dead = await runCli(['fetch', articleUrl(a), '--origin', 'http://127.0.0.1:1', '--storage', storage], { env });
    expect(dead.code).toBe(3);
    expect(dead.stdout.toString()).toBe(`unreachable ${articleUrl(a)}: cannot reach 127.0.0.1:1 (connection refused): is the origin running?\n`);
    mirror.challenge(a.id, 403);
    const blocked = await runCli(['fetch', articleUrl(a), '--origin', mirror.baseUrl, '--storage', storage], { env });
    expect(blocked.code).toBe(8);
    expect(blocked.stdout.toString()).toBe(`blocked ${articleUrl(a)}: HTTP 403\n`);
    mirror.challenge(a.id, 200);
    const page = await runCli(['fetch', articleUrl(a), '--origin', mirror.baseUrl, '--storage', storage], { env });
    expect(page.code).toBe(8);
    expect(articleRows(storage)).toEqual([expect.objectContaining({ id: a.id, state: 'pending', attempts: 0 })]);
  });
});

describe('an article that fails all its runs is not forgotten', () => {
  it('it is retried on the slow schedule, counts as needing attention (summary, /status, /metrics, the page), and --retry-failed retries it at once', async () => {
    const mirror = await mirrorOn(0, { articles: 10, days: 1 });
    const victim = mirror.all().find((x) => !x.gallery)!;
    mirror.addFault({ path: articlePath(victim), kind: 'status', status: 500 });
    const storage = await tempDir();
    const args = ['crawl', '--since', mirror.all()[0]!.day, '--origin', mirror.baseUrl, '--storage', storage, '--rate', '0'];
    const envAt = (now: string) => ({ ...env, NEWSNAP_NOW: now, NEWSNAP_CRAWL_MAX_FAILED_RUNS: '2', NEWSNAP_CRAWL_RETRIES: '1' });
    const victimRequests = () => mirror.log.filter((r) => r.path === articlePath(victim)).length;

    expect((await runCli(args, { env: envAt(T0) })).code).toBe(1);
    // The second run has only the failing one to do: a total failure.
    const second = await runCli(args, { env: envAt(T0) });
    expect(second.code).toBe(3);
    expect(second.stdout.toString()).toContain('NEEDS ATTENTION: 1 article(s) failed all their runs (crawl.maxFailedRuns) and are retried only on revisit.givenUpSchedule; newsnap crawl --retry-failed retries them now');
    expect(victimRequests()).toBe(2);
    expect(articleRows(storage).find((r) => r.id === victim.id)).toMatchObject({ state: 'failed', attempts: 2 });

    // Given up: not asked again the same day …
    const third = await runCli(args, { env: envAt('2025-12-15T18:00:00Z') });
    expect(third.code).toBe(0);
    expect(victimRequests()).toBe(2);
    expect(third.stdout.toString()).toContain('NEEDS ATTENTION: 1 article(s)');

    const served = await startServe(['--origin', mirror.baseUrl, '--storage', storage, '--schedule', '0 0 1 1 *'], { env: envAt('2025-12-15T18:00:00Z') });
    cleanup.push(() => served.kill());
    const status = (await (await fetch(`${served.api}/status`)).json()) as { articles: { needsAttention: number }; alarms: { needsAttention: { articles: number } | null } };
    expect(status.articles.needsAttention).toBe(1);
    expect(status.alarms.needsAttention).toMatchObject({ articles: 1, maxFailedRuns: 2, schedule: '7d:1d, *:7d' });
    expect(await (await fetch(`${served.api}/metrics`)).text()).toMatch(/^newsnap_articles_needing_attention 1$/m);
    const page = await (await fetch(`${served.api}/`)).text();
    expect(page).toContain('data-health="alarm"');
    expect(page).toMatch(/data-alarm="needs-attention"><h2 class="warn">1 article failed all 2 runs<\/h2>/);
    served.child.kill('SIGTERM');
    expect((await served.done).code).toBe(0);

    // … but the next day, on the slow schedule; and --retry-failed at once.
    await runCli(args, { env: envAt('2025-12-16T13:00:00Z') });
    expect(victimRequests()).toBe(3);
    mirror.clearFaults();
    const retried = await runCli([...args, '--retry-failed'], { env: envAt('2025-12-16T13:05:00Z') });
    expect(retried.code, retried.stderr.slice(-2000)).toBe(0);
    expect(victimRequests()).toBe(4);
    expect(retried.stdout.toString()).not.toContain('NEEDS ATTENTION');
    expect(await compareWithMirror(storage, mirror.all())).toEqual([]);
  });
});
