import { exporterOf, exportSite, type ExportSelection } from '../export/exporters.js';
import { stagedOutput } from '../export/staged-output.js';
import { ReadOnlyStorage } from '../storage/read-only.js';
import type { State } from '../storage/state/state-store.js';
import type { Context } from './context.js';
import { progressLog } from './export-command.js';

export type { ExportSelection };

/**
 * serve's `/export.wacz` of today (src/service/wacz-exports.ts, on serve's main thread), through
 * the export registry like the CLI. It goes once serve answers exports with ExportBuilds
 * (src/service/export-builds.ts), which builds them in a child process.
 */
export async function exportWacz(ctx: Context, _state: State, out: string, sel: ExportSelection, onProblem: (path: string, why: string) => void) {
  const storage = new ReadOnlyStorage(ctx.config.storage);
  const wacz = exporterOf('wacz')!;
  try {
    return await stagedOutput(out, 'file', (path, scratch) => wacz.produce({ storage, site: exportSite(ctx.config), selection: sel, staging: scratch, onProblem, onProgress: progressLog(ctx, 'wacz export') }, { path }));
  } finally {
    storage.close();
  }
}
