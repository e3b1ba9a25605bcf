import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, envName, loadConfig, requireOperatorContact } from '../src/config/index.js';
import { collect, logRecords, runCli, startCli } from './helpers/cli.js';
import { PROJECT } from './helpers/paths.js';
import { tempDir } from './helpers/storage.js';

describe('configuration', () => {
  it('the shipped config/newsnap.json loads and equals the defaults', () => {
    const { config, file } = loadConfig({ file: join(PROJECT, 'config/newsnap.json'), env: {} });
    const defaults = loadConfig({ env: { NEWSNAP_CONFIG: '' } }).config;
    expect(file).toMatch(/config\/newsnap.json$/);
    expect(config).toEqual(defaults);
  });

  it('env overrides the file, flags override env, and provenance is kept', async () => {
    const dir = await tempDir();
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ crawl: { rate: 3, concurrency: 2 } }));
    const { config, sources } = loadConfig({ file, env: { NEWSNAP_CRAWL_RATE: '5' }, flags: [{ key: 'crawl.concurrency', value: '9', flag: '--concurrency' }] });
    expect([config.crawl.rate, config.crawl.concurrency]).toEqual([5, 9]);
    expect(sources.get('crawl.rate')).toBe('env NEWSNAP_CRAWL_RATE');
    expect(sources.get('crawl.concurrency')).toBe('flag --concurrency');
    expect(envName('http.userAgent')).toBe('NEWSNAP_HTTP_USER_AGENT');
  });

  it('NEWSNAP_<KEY>_FILE reads the value from a file (a mounted secret); the plain variable wins', async () => {
    const dir = await tempDir();
    const secret = join(dir, 'token');
    writeFileSync(secret, 's3cret-from-file\n');
    const fromFile = loadConfig({ env: { NEWSNAP_SERVE_TOKEN_FILE: secret } });
    expect(fromFile.config.serve.token).toBe('s3cret-from-file');
    expect(fromFile.sources.get('serve.token')).toBe('env NEWSNAP_SERVE_TOKEN_FILE');
    expect(loadConfig({ env: { NEWSNAP_SERVE_TOKEN_FILE: secret, NEWSNAP_SERVE_TOKEN: 'plain' } }).config.serve.token).toBe('plain');
    expect(() => loadConfig({ env: { NEWSNAP_SERVE_TOKEN_FILE: join(dir, 'missing') } })).toThrow(`NEWSNAP_SERVE_TOKEN_FILE=${join(dir, 'missing')} cannot be read: ENOENT`);
  });

  it('an unknown key or a bad value names the key', async () => {
    const dir = await tempDir();
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ crawl: { rat: 3 } }));
    expect(() => loadConfig({ file, env: {} })).toThrow(/unknown configuration key crawl.rat/);
    writeFileSync(file, JSON.stringify({ crawl: { rate: 'fast' } }));
    expect(() => loadConfig({ file, env: {} })).toThrow(/crawl.rate must be a number, got string/);
    expect(() => loadConfig({ env: { NEWSNAP_CRAWL_CONCURRENCY: '0' } })).toThrow(/crawl.concurrency must be a whole number of at least 1/);
    expect(() => loadConfig({ env: { NEWSNAP_RENDER_POLICY: 'sometimes' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { NEWSNAP_CRAWL_REVISIT_SHARE: '1' } })).toThrow(/crawl.revisitShare must be at least 0 and below 1/);
    expect(loadConfig({ env: { NEWSNAP_CRAWL_REVISIT_SHARE: '0.5' } }).config.crawl.revisitShare).toBe(0.5);
    expect(() => loadConfig({ env: { NEWSNAP_ORIGIN: 'ftp://x' } })).toThrow(/origin must be an http\(s\) origin/);
  });

  it('a reader that goes away (| head) is no crash: output is dropped, the exit code stays', async () => {
    const child = startCli(['config']);
    child.stdout!.destroy();
    const res = await collect(child);
    expect(res.stderr).not.toContain('EPIPE');
    expect(res.code).toBe(0);
  });

  it('the CLI exits with the usage code on a bad config value', async () => {
    const res = await runCli(['extract', 'x.html'], { env: { NEWSNAP_LOG_LEVEL: 'loud' } });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/logLevel must be one of/);
  });

  it('a variable NEWSNAP_… that names no key warns at start with the nearest key', async () => {
    const res = await runCli(['config', '--json'], { env: { NEWSNAP_CRAWL_RETIRES: '9', NEWSNAP_HTTP_RETRIES: '0' } });
    expect(res.code).toBe(0);
    const warnings = logRecords(res.stderr).filter((r) => r.level === 40);
    expect(warnings.map((r) => r.variable)).toEqual(['NEWSNAP_CRAWL_RETIRES', 'NEWSNAP_HTTP_RETRIES']);
    expect(warnings[0]).toMatchObject({ nearest: 'NEWSNAP_CRAWL_RETRIES', key: 'crawl.retries', msg: 'NEWSNAP_CRAWL_RETIRES names no configuration key and is ignored: did you mean NEWSNAP_CRAWL_RETRIES (crawl.retries)?' });
    // The variables newsnap reads that are no keys, and the _FILE forms, are no typos.
    const quiet = await runCli(['config'], { env: { NEWSNAP_NOW: '2025-12-15T12:00:00Z', NEWSNAP_SERVE_TOKEN_FILE: '/dev/null' } });
    expect(logRecords(quiet.stderr).filter((r) => r.level === 40)).toEqual([]);
  });

  it('against the site itself, crawl, fetch and serve refuse a User-Agent that still carries a placeholder contact, before any request', async () => {
    const url = 'https://anlatilaninotesi.com.tr/20251220/lavrov-1102014239.html';
    for (const [command, ua] of [
      [['crawl'], undefined],
      [['fetch', url], undefined],
      [['serve', '--port', '0'], undefined],
      [['crawl'], 'newsnap/0.1 (+mailto:you@example.org; polite archive crawler)'],
    ] as const) {
      const storage = await tempDir();
      const res = await runCli([...command, '--storage', storage], { env: ua ? { NEWSNAP_HTTP_USER_AGENT: ua } : {} });
      expect(res.code, `${command[0]} ${ua}`).toBe(2);
      expect(res.stderr).toMatch(/^newsnap: configuration key http\.userAgent still carries a placeholder contact \(".+"\): the site's operators must be able to reach you\. Set it to your own before crawling https:\/\/anlatilaninotesi\.com\.tr, e\.g\. NEWSNAP_HTTP_USER_AGENT='newsnap\/0\.2 \(\+https:\/\/your-domain\.example\/crawler; mailto:crawler@your-domain\.example\)'/m);
      // Refused before storage was even opened.
      expect(existsSync(join(storage, 'state.sqlite'))).toBe(false);
    }
    // The example itself is a placeholder, so copying it does not pass.
    expect(() => requireOperatorContact(loadConfig({ env: { NEWSNAP_HTTP_USER_AGENT: 'newsnap/0.2 (+https://your-domain.example/crawler; mailto:crawler@your-domain.example)' } }).config)).toThrow(ConfigError);
    expect(() => requireOperatorContact(loadConfig({ env: { NEWSNAP_HTTP_USER_AGENT: 'newsnap/0.2 (+https://archive.acme.org/crawler; mailto:crawler@acme.org)' } }).config)).not.toThrow();
    // A mirror needs no contact: tests, the demo and benchmarks run with the default.
    expect(() => requireOperatorContact(loadConfig({ env: { NEWSNAP_ORIGIN: 'http://127.0.0.1:8080' } }).config)).not.toThrow();
  });
});
