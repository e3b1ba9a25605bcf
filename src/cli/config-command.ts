import { envName, type LoadedConfig } from '../config/index.js';
import { redactUrl } from '../fetch/proxy.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';

/** Secrets never printed: the API token, credentials in a proxy URL, webhook secrets (and credentials in their URLs). */
function redacted(key: string, value: unknown): unknown {
  if (key === 'delivery.webhooks' && Array.isArray(value)) {
    return value.map((w: { url: string; secret: string }) => ({ ...w, url: redactUrl(w.url), secret: '***' }));
  }
  if (typeof value !== 'string' || value === '') return value;
  if (key === 'serve.token') return '***';
  if (key === 'http.proxy') return redactUrl(value);
  return value;
}

/** Prints the effective configuration, one key a line, with where each value came from. */
export function configCommand(loaded: LoadedConfig, json: boolean): ExitCodeValue {
  const rows: Array<{ key: string; value: unknown; source: string; env: string }> = [];
  for (const [key, source] of loaded.sources) {
    let value: unknown = loaded.config;
    for (const part of key.split('.')) value = (value as Record<string, unknown>)[part];
    rows.push({ key, value: redacted(key, value), source, env: envName(key) });
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ file: loaded.file, values: rows }, null, 2)}\n`);
    return ExitCode.OK;
  }
  process.stdout.write(`# config file: ${loaded.file ?? '(none: built-in defaults)'}\n`);
  const width = Math.max(...rows.map((r) => r.key.length));
  for (const r of rows) process.stdout.write(`${r.key.padEnd(width)}  ${JSON.stringify(r.value)}  # ${r.source}\n`);
  return ExitCode.OK;
}
