// The campaign's figures: printed by bench/chaos.mjs, and written to bench/RESULTS.md with --write.
// Run on its own, it writes them from a report an earlier run kept (--json):
//   node bench/chaos/report.mjs /tmp/chaos30.json --write
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSection } from '../results.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** The report as lines a person reads. */
export function reportLines(r) {
  return [
    `machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memGiB} GiB, Node ${r.machine.node}`,
    `faults (seed ${r.seed}, ${r.minutes} min): ${Object.entries(r.faults).map(([k, n]) => `${k} ${n}`).join(', ')}`,
    `recovery (fault end to the next successful crawl; schedule every 10 s): median ${fmt(r.recovery.medianMs)}, worst ${fmt(r.recovery.worstMs)} (${r.recovery.measured} of ${r.recovery.of} measured); worst by kind: ${Object.entries(r.recovery.worstByKind).map(([k, ms]) => `${k} ${fmt(ms)}`).join(', ')}`,
    `site: ${r.site.articles} articles, ${r.site.published} published, ${r.site.edits} edited, ${r.site.removals} removed during the run`,
    `events: ${r.events.lines} manifest lines, ${r.events.delivered} delivered with a valid signature (${r.events.deliveries} deliveries, ${r.events.duplicates} duplicates under the same webhook-id)`,
    `lost: ${JSON.stringify(r.lost)}${r.lost.total ? ` e.g. ${JSON.stringify(r.examples)}` : ''}; converged ${fmt(r.convergedAfterMs)} into the quiet period`,
    `verify: exit ${r.verify.code}; crashes other than the kill -9s: ${r.crashes.length}; SIGTERM to exit: median ${fmt(r.shutdownMs.median)}, worst ${fmt(r.shutdownMs.worst)}`,
    `RSS of serve, peak per minute (MB): ${r.rss.perMinuteMb.join(' ')}; first third ${r.rss.firstThirdPeakMb}, last third ${r.rss.lastThirdPeakMb} (×${r.rss.growth})`,
  ];
}

/** Its section of bench/RESULTS.md. */
export function writeReport(r) {
  const body = `Produced by \`node bench/chaos.mjs --minutes ${r.minutes} --seed ${r.seed}\` (serve on a 256 MB tmpfs, schedule every 10 s,
feed watch every 5 s; the goal: nothing lost, recovery within one tick + 30 s).

${reportLines(r).map((l) => `    ${l}`).join('\n')}
`;
  writeSection(join(here, '..', 'RESULTS.md'), '## Fault campaign (`node bench/chaos.mjs`)', body);
}

function fmt(ms) {
  return ms === null || ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  for (const line of reportLines(r)) process.stdout.write(`${line}\n`);
  if (process.argv.includes('--write')) writeReport(r);
}
