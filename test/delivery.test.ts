import { describe, expect, it } from 'vitest';
import type { MirrorServer } from '../src/mirror/index.js';
import { mirrorFor, stopsAfterEach } from './helpers/lifecycle.js';
import { articleUrl } from '../src/mirror/site-model.js';
import { collect, logRecords, runCli, startCli } from './helpers/cli.js';
import { startServe, until, type Served } from './helpers/serve.js';
import { queryState, readManifest, tempDir } from './helpers/storage.js';
import { newSecret, WebhookReceiver } from './helpers/webhook-receiver.js';

// No NEWSNAP_NOW here: a receiver checks a signature's timestamp against its own clock.
const env = { NEWSNAP_RENDER_POLICY: 'never', NEWSNAP_CRAWL_RATE: '0' };
const stopLater = stopsAfterEach();
const mirrorOf = (articles: number): Promise<MirrorServer> => mirrorFor(stopLater, { articles, days: 2, crawlDelay: 0 });

async function receiver(answer?: ConstructorParameters<typeof WebhookReceiver>[1]): Promise<WebhookReceiver> {
  const r = new WebhookReceiver(newSecret(), answer);
  await r.start();
  stopLater(() => r.stop());
  return r;
}

const hooks = (...rs: Array<{ url: string; secret: string; events?: string[] }>) => JSON.stringify(rs.map((r) => ({ url: r.url, secret: r.secret, ...(r.events ? { events: r.events } : {}) })));

async function serve(args: string[], extra: Record<string, string>): Promise<Served> {
  const s = await startServe(args, { env: { ...env, ...extra } });
  stopLater(() => s.kill());
  return s;
}

function outbox(storage: string): Array<{ state: string; n: number }> {
  return queryState(storage, 'SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state ORDER BY state');
}

describe('the change feed', () => {
  it('every manifest line has its seq; events --after and GET /events resume from one; wait= wakes on a new event; --follow prints new ones', async () => {
    const mirror = await mirrorOf(30);
    const storage = await tempDir();
    expect((await runCli(['crawl', '--origin', mirror.baseUrl, '--storage', storage], { env })).code).toBe(0);
    const lines = await readManifest(storage);
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    expect(Object.keys(lines[0]!)[0]).toBe('seq');

    const after = await runCli(['events', '--storage', storage, '--after', '20']);
    expect(after.code).toBe(0);
    const printed = after.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as { seq: number; id: string });
    expect(printed.map((e) => e.seq)).toEqual(lines.slice(20).map((l) => l.seq));
    expect(printed.map((e) => e.id)).toEqual(lines.slice(20).map((l) => l.id));

    const served = await serve(['--origin', mirror.baseUrl, '--storage', storage, '--schedule', '0 0 1 1 *'], {});
    const page = (await (await fetch(`${served.api}/events?after=5&limit=3`)).json()) as { events: Array<{ seq: number }>; next: number };
    expect(page).toEqual({ events: lines.slice(5, 8), next: 8 });
    expect((await fetch(`${served.api}/events?limit=many`)).status).toBe(400);
    const last = lines.length;
    expect(((await (await fetch(`${served.api}/events?after=${last}`)).json()) as { events: unknown[]; next: number })).toEqual({ events: [], next: last });

    // A follower beside the running serve (no lock), and a held request, both see the next event.
    const follower = startCli(['events', '--storage', storage, '--after', String(last), '--follow']);
    const followed = collect(follower);
    let out = '';
    follower.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const started = performance.now();
    const held = fetch(`${served.api}/events?after=${last}&wait=60`).then((r) => r.json() as Promise<{ events: Array<{ seq: number; event: string }>; next: number }>);
    const [fresh] = mirror.publish(1);
    const posted = await fetch(`${served.api}/fetch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: articleUrl(fresh!) }) });
    expect(posted.status).toBe(200);
    const woken = await held;
    // It woke on the event: the end of its wait would have come 60 s after it was asked.
    expect(performance.now() - started).toBeLessThan(60_000);
    expect(woken).toMatchObject({ events: [{ seq: last + 1, event: 'new', id: fresh!.id }], next: last + 1 });
    await until('the follower printed the new event', () => (out.includes(`"seq":${last + 1}`) ? true : undefined));
    follower.kill('SIGTERM');
    expect((await followed).code).toBe(130);
    expect(JSON.parse(out.trim())).toMatchObject({ seq: last + 1, id: fresh!.id });
  });
});

describe('webhooks', () => {
  it('signed as Standard Webhooks; 503 then 200; down across a kill -9 of serve: in the end every event arrives, duplicates only under a repeated webhook-id', async () => {
    const mirror = await mirrorOf(30);
    const storage = await tempDir();
    // The first six answers are 503 with Retry-After: 1.
    const hook = await receiver((n) => (n <= 6 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 204 }));
    const config = { NEWSNAP_DELIVERY_WEBHOOKS: hooks(hook), NEWSNAP_DELIVERY_RETRY_SCHEDULE: '1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s' };
    const args = ['--origin', mirror.baseUrl, '--storage', storage, '--schedule', '* * * * * *'];
    const first = await serve(args, config);
    await until('ten deliveries', () => (hook.deliveredSeqs().length >= 10 ? true : undefined));
    // The receiver goes down; new articles keep coming; the service is killed with deliveries pending.
    await hook.stop();
    mirror.publish(5);
    await until('deliveries pending while the receiver is down', async () => {
      const s = (await (await fetch(`${first.api}/status`)).json()) as { webhooks: Array<{ pending: number }>; articles: { done: number } };
      return s.webhooks[0]!.pending >= 5 && s.articles.done >= 34 ? true : undefined;
    });
    first.child.kill('SIGKILL');
    await first.done;
    expect(outbox(storage).find((r) => r.state === 'pending')!.n).toBeGreaterThan(0);

    hook.answer = () => ({ status: 204 });
    await hook.start();
    const second = await serve(args, config);
    const lines = await readManifest(storage);
    await until('every event delivered', async () => {
      const s = (await (await fetch(`${second.api}/status`)).json()) as { webhooks: Array<{ pending: number; delivered: number; dead: number }> };
      return s.webhooks[0]!.pending === 0 && s.webhooks[0]!.delivered >= lines.length ? true : undefined;
    });
    const all = (await readManifest(storage)).map((l) => l.seq as number);
    expect(hook.deliveredSeqs()).toEqual(all);
    expect(hook.received.every((r) => r.valid)).toBe(true);
    // A repeat is the same event: the same id, the same body.
    const bodies = new Map<string, Set<string>>();
    for (const r of hook.received) bodies.set(r.id, (bodies.get(r.id) ?? new Set()).add(r.body));
    expect([...bodies.values()].every((b) => b.size === 1)).toBe(true);
    expect(bodies.size).toBe(all.length);
    const body = JSON.parse(hook.received.find((r) => r.status === 204)!.body) as { type: string; timestamp: string; data: Record<string, unknown> };
    expect(body.type).toBe(`article.${body.data.event}`);
    expect(body.data).toMatchObject({ seq: expect.any(Number), id: expect.any(String), url: expect.any(String), path: expect.any(String), sha256: expect.any(String), capturedAt: body.timestamp });
    const metrics = await (await fetch(`${second.api}/metrics`)).text();
    expect(metrics).toMatch(/^newsnap_webhook_backlog 0$/m);
    expect(metrics).toMatch(/^newsnap_webhook_deliveries_total\{outcome="delivered"\} \d+$/m);
  });

  it('a 410 turns an endpoint off; a receiver that keeps failing makes dead deliveries; both are shown, and deliver --replay sends them again', async () => {
    const mirror = await mirrorOf(6);
    const storage = await tempDir();
    const gone = await receiver(() => ({ status: 410 }));
    const failing = await receiver(() => ({ status: 500 }));
    const config = { NEWSNAP_DELIVERY_WEBHOOKS: hooks(gone, { ...failing, url: failing.url, events: ['new'] }), NEWSNAP_DELIVERY_RETRY_SCHEDULE: '1s', NEWSNAP_DELIVERY_DRAIN_SECONDS: '5' };
    const crawl = await runCli(['crawl', '--origin', mirror.baseUrl, '--storage', storage], { env: { ...env, ...config } });
    expect(crawl.code, crawl.stderr.slice(-1000)).toBe(0);
    const events = (await readManifest(storage)).length;
    // The 410 endpoint is off after its first answer: only the POSTs already in flight (up to
    // delivery.concurrency) reached it; the failing one had its two attempts at each event.
    expect(gone.received.length).toBeGreaterThanOrEqual(1);
    expect(gone.received.length).toBeLessThanOrEqual(8);
    expect(failing.received).toHaveLength(2 * events);
    expect(logRecords(crawl.stderr).some((r) => /^webhook endpoint disabled: it answered HTTP 410 Gone/.test(String(r.msg)))).toBe(true);

    const served = await serve(['--origin', mirror.baseUrl, '--storage', storage, '--schedule', '0 0 1 1 *'], config);
    const status = (await (await fetch(`${served.api}/status`)).json()) as { webhooks: Array<{ url: string; pending: number; dead: number; disabled: unknown }>; alarms: { webhooks: { dead: number; disabled: string[] } } };
    expect(status.webhooks).toEqual([
      expect.objectContaining({ url: gone.url, pending: events, dead: 0, disabled: expect.objectContaining({ reason: expect.stringMatching(/^it answered HTTP 410 Gone to event \d+$/) }) }),
      expect.objectContaining({ url: failing.url, pending: 0, dead: events, disabled: null }),
    ]);
    expect(status.alarms.webhooks).toMatchObject({ dead: events, disabled: [gone.url] });
    const page = await (await fetch(`${served.api}/`)).text();
    expect(page).toContain('data-alarm="webhooks"');
    expect(page).toContain('data-health="alarm"');
    served.child.kill('SIGTERM');
    await served.done;

    gone.answer = () => ({ status: 200 });
    failing.answer = () => ({ status: 200 });
    const replayed = await runCli(['deliver', '--replay', '--url', failing.url, '--storage', storage], { env: { ...env, ...config } });
    expect(replayed.code, replayed.stderr.slice(-1000)).toBe(0);
    expect(replayed.stdout.toString()).toBe(`deliver: ${events} deliveries pending again (the dead ones) for ${failing.url}\ndeliver: ${events} delivered, 0 dead after their last attempt; ${events} pending (retried later, or by serve)\n`);
    const enabled = await runCli(['deliver', '--replay', '--url', gone.url, '--storage', storage], { env: { ...env, ...config } });
    expect(enabled.stdout.toString()).toContain(`deliver: ${events} delivered, 0 dead after their last attempt; 0 pending`);
    expect(gone.deliveredSeqs()).toHaveLength(events);
    expect(failing.deliveredSeqs()).toHaveLength(events);
    expect(outbox(storage)).toEqual([{ state: 'delivered', n: 2 * events }]);
  });

  it('three dead endpoints do not stop a crawl: it captures everything, exits 0, and leaves their deliveries queued', async () => {
    const mirror = await mirrorOf(20);
    const storage = await tempDir();
    const dead = [1, 2, 3].map((port) => ({ url: `http://127.0.0.1:${port}/hook`, secret: newSecret() }));
    const res = await runCli(['crawl', '--origin', mirror.baseUrl, '--storage', storage], { env: { ...env, NEWSNAP_DELIVERY_WEBHOOKS: hooks(...dead) } });
    expect(res.code, res.stderr.slice(-1000)).toBe(0);
    const events = (await readManifest(storage)).length;
    expect(events).toBeGreaterThan(15);
    expect(outbox(storage)).toEqual([{ state: 'pending', n: 3 * events }]);
  });
});
