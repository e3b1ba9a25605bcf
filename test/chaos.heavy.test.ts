import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { collect } from './helpers/cli.js';
import { PROJECT } from './helpers/paths.js';
import { tempDir } from './helpers/storage.js';
import { spawn } from 'node:child_process';

/**
 * A short seeded run of the fault campaign (bench/chaos.mjs): two minutes of faults on a seeded
 * schedule (the disk full, the state database locked, the origin down, bursts of 429/503, slow
 * answers, challenge pages, the receiver down, slow or failing, kill -9 and SIGTERM of serve),
 * then a quiet period. Nothing may be lost. How fast it recovers is the benchmark's to say.
 */
it('a seeded fault campaign loses nothing: every article, edit and removal captured, every event delivered and paged without a gap, verify whole, no crash', async () => {
  if (process.getuid?.() !== 0) throw new Error('the campaign mounts a tmpfs and needs root (CI runs as root)');
  const out = join(await tempDir(), 'chaos.json');
  const child = spawn(process.execPath, [join(PROJECT, 'bench', 'chaos.mjs'), '--minutes', '2', '--min-faults', '5', '--seed', '11', '--quiet-minutes', '6', '--json', out], { cwd: PROJECT, stdio: ['ignore', 'pipe', 'pipe'] });
  const res = await collect(child);
  const report = JSON.parse(readFileSync(out, 'utf8'));
  expect(res.code, res.stdout.toString().slice(-4000)).toBe(0);
  expect(report.lost, JSON.stringify(report.examples)).toEqual({ snapshots: 0, edits: 0, removals: 0, undelivered: 0, eventsGaps: 0, invalidSignatures: 0, total: 0 });
  expect(report.verify).toEqual({ code: 0, problems: 0 });
  expect(report.crashes).toEqual([]);
  // It really was a campaign: faults of several kinds (the schedule draws every kind once before any twice), and the site changed meanwhile.
  expect(Object.values(report.faults as Record<string, number>).filter((n) => n > 0).length).toBeGreaterThanOrEqual(4);
  expect(report.site.edits + report.site.removals + report.site.published).toBeGreaterThan(10);
  expect(report.events.delivered).toBe(report.events.lines);
  // Every SIGTERM ended serve within the 10 s promised.
  expect(report.shutdownMs.worst).toBeLessThan(10_000);
});
