import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, envName, loadConfig } from '../src/config/index.js';
import { collect, runCli, startCli } from './helpers/cli.js';
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
});
