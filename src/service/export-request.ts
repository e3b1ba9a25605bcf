import { parseDay } from '../engine/lanes/crawl-plan.js';
import { exporterOf, FORMAT_NAMES, type Exporter, type ExportSelection } from '../export/exporters.js';

export type ExportRequest = { ok: true; exporter: Exporter; selection: ExportSelection } | { ok: false; error: string };

/**
 * `?format=&since=&until=&id=&versions=` of `GET /export` (the CLI's flags: days as YYYY-MM-DD,
 * `id` repeated or comma-separated, `versions=true` for jsonl and csv). `format` from the path
 * (`/export.wacz`) wins over the query. The default format is the CLI's: jsonl.
 */
export function parseExportRequest(params: URLSearchParams, forced?: string): ExportRequest {
  const format = forced ?? params.get('format') ?? 'jsonl';
  const exporter = exporterOf(format);
  if (!exporter) return { ok: false, error: `format=${format} is not an export format: one of ${FORMAT_NAMES.join(', ')}` };
  const selection: ExportSelection = {};
  for (const name of ['since', 'until'] as const) {
    const value = params.get(name);
    if (!value) continue;
    const day = parseDay(value);
    if (!day) return { ok: false, error: `${name}=${value} is not a date (YYYY-MM-DD)` };
    selection[name] = day;
  }
  if (selection.since && selection.until && selection.since > selection.until) return { ok: false, error: `since=${params.get('since')} is after until=${params.get('until')}` };
  const ids = params.getAll('id').flatMap((v) => v.split(',')).map((v) => v.trim());
  if (ids.length > 0) {
    const bad = ids.find((id) => !/^\d{1,20}$/.test(id));
    if (bad !== undefined) return { ok: false, error: `id=${bad} is not an article id (the digits at the end of an article URL)` };
    selection.ids = [...new Set(ids)].sort();
  }
  const versions = params.get('versions');
  if (versions !== null) {
    if (!['true', 'false', '1', '0'].includes(versions)) return { ok: false, error: `versions=${versions}: true or false` };
    if (exporter.output !== 'stream' && (versions === 'true' || versions === '1')) return { ok: false, error: `versions=${versions}: ${format} always holds every version; versions is for jsonl and csv` };
    if (versions === 'true' || versions === '1') selection.versions = true;
  }
  return { ok: true, exporter, selection };
}

/** The file name a download is given: `newsnap-<since>-<until>.<ext>` (`all` for a missing bound). */
export function downloadName(exporter: Exporter, s: ExportSelection): string {
  return `newsnap-${s.since ?? 'all'}-${s.until ?? 'all'}${s.ids ? `-${s.ids.length}-articles` : ''}.${exporter.extension}`;
}
