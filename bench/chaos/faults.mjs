// The faults of the campaign. Each `begin()` injects one and returns what ends it; durations and
// choices come from the campaign's seeded random source.
import { lockState, sha256 } from './world.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The kinds, with their weight in the schedule and how each is injected. */
export function faultKinds(w) {
  const { rnd, mirror, volume, hook, serve, require, storage, port } = w;
  const between = (lo, hi) => lo + Math.floor(rnd() * (hi - lo));
  return [
    {
      kind: 'disk-full',
      weight: 3,
      async begin() {
        volume.fill();
        return { durationMs: between(5_000, 20_000), end: async () => volume.free() };
      },
    },
    {
      kind: 'db-locked',
      weight: 2,
      async begin() {
        const lock = lockState(require, storage);
        await lock.held;
        return { durationMs: between(3_000, 10_000), end: () => lock.release() };
      },
    },
    {
      kind: 'origin-down',
      weight: 2,
      async begin() {
        await mirror.close();
        return { durationMs: between(5_000, 25_000), end: () => mirror.listen(port) };
      },
    },
    {
      kind: 'http-429-503-burst',
      weight: 2,
      async begin() {
        const status = rnd() < 0.5 ? 429 : 503;
        mirror.addFault({ path: '/20*', kind: 'status', status, headers: { 'retry-after': String(between(1, 4)) }, times: between(5, 30) });
        return { durationMs: between(5_000, 15_000), end: async () => mirror.clearFaults() };
      },
    },
    {
      kind: 'slow-responses',
      weight: 1,
      async begin() {
        mirror.addFault({ path: '/20*', kind: 'slow', delayMs: between(1_000, 5_000), times: between(5, 20) });
        return { durationMs: between(5_000, 15_000), end: async () => mirror.clearFaults() };
      },
    },
    {
      kind: 'challenge-pages',
      weight: 1,
      async begin() {
        const listed = mirror.all().filter((a) => a.removed === null && !a.gallery);
        const hit = Array.from({ length: between(3, 8) }, () => listed[Math.floor(rnd() * listed.length)]);
        for (const a of hit) mirror.challenge(a.id, [200, 403, 451][between(0, 3)]);
        return { durationMs: between(5_000, 20_000), end: async () => hit.forEach((a) => mirror.challenge(a.id, null)) };
      },
    },
    {
      kind: 'receiver-down',
      weight: 2,
      async begin() {
        await hook.stop();
        return { durationMs: between(5_000, 30_000), end: () => hook.start() };
      },
    },
    {
      kind: 'receiver-slow',
      weight: 1,
      async begin() {
        hook.mode = 'slow';
        hook.slowMs = between(1_000, 6_000);
        return { durationMs: between(5_000, 15_000), end: async () => (hook.mode = 'ok') };
      },
    },
    {
      kind: 'receiver-500',
      weight: 1,
      async begin() {
        hook.mode = 'error';
        return { durationMs: between(5_000, 20_000), end: async () => (hook.mode = 'ok') };
      },
    },
    {
      kind: 'kill-9',
      weight: 2,
      async begin() {
        await serve.stop('SIGKILL');
        return { durationMs: between(500, 3_000), end: () => serve.start() };
      },
    },
    {
      kind: 'sigterm',
      weight: 1,
      async begin() {
        const ms = await serve.stop('SIGTERM');
        w.shutdowns.push(ms);
        return { durationMs: between(500, 3_000), end: () => serve.start() };
      },
    },
  ];
}

/**
 * The schedule: bags of faults drawn in turn, each bag every kind once (in a seeded order) and then
 * the rest of each kind's weight (shuffled). However short the run, its first faults are of as many
 * kinds as it has faults, so a short campaign on a slow machine still tries several kinds.
 */
export function schedule(kinds, rnd) {
  const shuffle = (xs) => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  };
  let bag = [];
  return function next() {
    if (bag.length === 0) bag = [...shuffle([...kinds]), ...shuffle(kinds.flatMap((k) => Array(k.weight - 1).fill(k)))];
    return bag.shift();
  };
}

/**
 * What the site does meanwhile: publishes articles, edits some once, removes others (410, or
 * 404 three times), each article touched at most once, so that every change must be seen.
 */
export function siteActivity(w) {
  const { rnd, mirror } = w;
  const touched = new Set();
  const untouched = () => mirror.all().filter((a) => !a.gallery && a.removed === null && !touched.has(a.id));
  return async function step() {
    const x = rnd();
    if (x < 0.45) {
      for (const a of mirror.publish(1 + Math.floor(rnd() * 2))) w.published.push(a.id);
    } else if (x < 0.8) {
      const pool = untouched();
      if (pool.length === 0) return;
      const a = pool[Math.floor(rnd() * pool.length)];
      touched.add(a.id);
      mirror.edit(a.id, { at: new Date().toISOString(), ...(rnd() < 0.5 ? { title: `Güncellendi: ${a.title} ${Math.floor(rnd() * 1000)}` } : { addParagraph: `Ek paragraf ${Math.floor(rnd() * 1e6)}: İstanbul'da ışık.` }) });
      // The version the edit must become: its snapshot's sha256 must appear in the manifest.
      w.edits.push({ id: a.id, at: Date.now(), sha256: sha256(w.expectedSnapshot(a)) });
    } else {
      // A removal is only news about an article newsnap has: one removed before its capture was never there to lose.
      const pool = untouched().filter((a) => w.captured(a));
      if (pool.length === 0) return;
      const a = pool[Math.floor(rnd() * pool.length)];
      touched.add(a.id);
      mirror.remove(a.id, rnd() < 0.7 ? 410 : 404);
      w.removals.push({ id: a.id, at: Date.now() });
    }
  };
}

export { sleep };
