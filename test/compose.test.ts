import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SHUTDOWN_DEADLINE_MS } from '../src/cli/shutdown.js';
import { envName, loadConfig, requireOperatorContact } from '../src/config/index.js';
import { PROJECT } from './helpers/paths.js';

interface ComposeService {
  build?: unknown;
  user?: string;
  init?: boolean;
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  restart?: string;
}

const compose = parse(readFileSync(join(PROJECT, 'compose.yaml'), 'utf8')) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
  secrets: Record<string, { file?: string }>;
};
const dockerfile = readFileSync(join(PROJECT, 'Dockerfile'), 'utf8');
/** The runtime stage: what `docker run` of the image does. */
const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
const service = compose.services.newsnap!;

/** Seconds of a compose duration such as `20s` or `1m30s`. */
function seconds(duration: string): number {
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+(?:\.\d+)?)(h|m|s|ms)/g)) total += Number(n) * { h: 3600, m: 60, s: 1, ms: 0.001 }[unit as 'h' | 'm' | 's' | 'ms'];
  return total;
}

describe('compose.yaml', () => {
  it('parses, and its service agrees with the Dockerfile: port, volume path, user', () => {
    expect(service.build).toBe('.');
    const port = /^EXPOSE (\d+)$/m.exec(runtime)![1]!;
    expect(runtime).toContain(`NEWSNAP_SERVE_PORT=${port}`);
    expect(service.ports).toEqual([`127.0.0.1:${port}:${port}`]);

    const volume = /^VOLUME \["([^"]+)"\]$/m.exec(runtime)![1]!;
    expect(runtime).toContain(`NEWSNAP_STORAGE=${volume}`);
    expect(service.volumes).toEqual([`newsnap-storage:${volume}`]);
    expect(compose.volumes).toHaveProperty('newsnap-storage');

    // The image's user is `node`, uid and gid 1000 in the official node images.
    expect(/^USER (\S+)$/m.exec(runtime)![1]).toBe('node');
    expect(service.user).toBe('1000:1000');
    expect(service.healthcheck!.test.join(' ')).toContain(`http://127.0.0.1:${port}/healthz`);
    expect(runtime).toMatch(/HEALTHCHECK[\s\S]*\/healthz/);
  });

  it('reads the token from a secret, outlasts the shutdown, restarts, and reaps with an init', () => {
    expect(service.environment!.NEWSNAP_SERVE_TOKEN_FILE).toBe('/run/secrets/newsnap_token');
    expect(service.environment!.NEWSNAP_SERVE_TOKEN).toBeUndefined();
    expect(service.secrets).toEqual(['newsnap_token']);
    expect(compose.secrets.newsnap_token!.file).toBe('./secrets/newsnap_token');
    expect(seconds(service.stop_grace_period!)).toBeGreaterThan(SHUTDOWN_DEADLINE_MS / 1000 + 5);
    expect(service.restart).toBe('unless-stopped');
    expect(service.init).toBe(true);
    // Every NEWSNAP_ variable it sets is a real configuration key (or a _FILE form of one).
    const names = new Set([...loadConfig({ env: {} }).sources.keys()].map(envName));
    for (const name of Object.keys(service.environment!)) expect(names.has(name.replace(/_FILE$/, '')), name).toBe(true);
  });

  it('ships no contact of its own: compose refuses to start until NEWSNAP_CONTACT is set', () => {
    expect(service.environment!.NEWSNAP_HTTP_USER_AGENT).toBe('newsnap/0.2 (+${NEWSNAP_CONTACT:?set NEWSNAP_CONTACT in .env to your contact URL and mail address}; polite archive crawler)');
    const filled = service.environment!.NEWSNAP_HTTP_USER_AGENT!.replace(/\$\{NEWSNAP_CONTACT:\?[^}]*\}/, 'https://archive.acme.org/crawler; mailto:crawler@acme.org');
    expect(() => requireOperatorContact(loadConfig({ env: { NEWSNAP_HTTP_USER_AGENT: filled } }).config)).not.toThrow();
  });
});
