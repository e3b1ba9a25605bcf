import { verifyStorage, type VerifyReport } from '../storage/verify.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Context } from './context.js';
import { dayRangeFlags, requireExistingStorage } from './command-flags.js';

export interface VerifyFlags {
  since?: string;
  until?: string;
  json?: boolean;
}

/**
 * `newsnap verify`: the storage folder checks its own bytes, as BagIt and OCFL validators do.
 * It only reads (no lock, no request), so it works beside a running crawl or serve.
 */
export async function verifyCommand(ctx: Context, flags: VerifyFlags): Promise<ExitCodeValue> {
  const { since, until } = dayRangeFlags(flags);
  const storage = ctx.config.storage;
  requireExistingStorage(storage);
  let lastSaid = performance.now();
  const report = await verifyStorage(storage, {
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    searchIndex: ctx.config.search.index,
    onProgress: (stats) => {
      if (performance.now() - lastSaid < ctx.config.crawl.progressIntervalMs) return;
      lastSaid = performance.now();
      ctx.log.info({ ...stats }, 'verify progress');
    },
  });
  ctx.log.info({ whole: report.whole, problems: report.problemCount, ...report.stats }, 'verify finished');
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : describeVerify(report));
  return report.whole ? ExitCode.OK : ExitCode.DAMAGED;
}

export function describeVerify(r: VerifyReport): string {
  const s = r.stats;
  const seconds = Math.max(s.durationMs / 1000, 0.001);
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const out: string[] = [];
  for (const p of r.problems) {
    out.push(`${p.kind.padEnd(9)} ${p.path}${p.id ? ` (article ${p.id})` : ''}: ${p.detail}`, `          fix: ${p.fix}`);
  }
  if (r.problemCount > r.problems.length) out.push(`… and ${r.problemCount - r.problems.length} more problems (the first ${r.problems.length} are listed)`);
  const range = r.range.since || r.range.until ? ` (articles of ${r.range.since ?? 'the first day'}–${r.range.until ?? 'today'})` : '';
  out.push(
    `verify ${r.whole ? 'whole' : 'found problems'}${range}${r.runInProgress ? ' (a run holds the lock: its open files were not checked)' : ''} in ${seconds.toFixed(1)} s: ` +
      `${s.manifestLines} manifest lines, ${s.articles} articles, ${s.files} snapshot and history files (${mb(s.bytes)} MB), ` +
      `${s.warcFiles} WARC files (${mb(s.warcBytes)} MB, ${s.warcRecords} records); ${(s.files / seconds).toFixed(0)} files/s, ${(( s.bytes + s.warcBytes) / 1e6 / seconds).toFixed(1)} MB/s; ` +
      `${r.problemCount} problem${r.problemCount === 1 ? '' : 's'}`,
  );
  return `${out.join('\n')}\n`;
}
