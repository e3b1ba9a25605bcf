import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractArticle } from '../src/extract/index.js';
import { sputnikTurkiye } from '../src/site/profile.js';
import { formatSnapshot } from '../src/snapshot/format.js';
import { runCli } from './helpers/cli.js';
import { REFERENCE, REFERENCE_CASES, SEED } from './helpers/paths.js';

const staticCases = REFERENCE_CASES.filter((c) => c.id !== '1100000002');

describe('reference pages give their expected snapshots, byte for byte', () => {
  for (const c of staticCases) {
    it(`${c.id} (pure extractor, page URL known)`, () => {
      const result = extractArticle(readFileSync(c.page, 'utf8'), c.url, sputnikTurkiye);
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(Buffer.from(formatSnapshot(result.article), 'utf8').equals(readFileSync(c.expected))).toBe(true);
    });

    it(`${c.id} (newsnap extract, as a child process)`, async () => {
      const res = await runCli(['extract', c.page]);
      expect(res.code).toBe(0);
      expect(res.stdout.equals(readFileSync(c.expected))).toBe(true);
    });
  }

  it('the seed page gives the seed file', async () => {
    const res = await runCli(['extract', `${REFERENCE}/pages/1102014239.html`]);
    expect(res.code).toBe(0);
    expect(res.stdout.equals(readFileSync(SEED))).toBe(true);
  });

  it('the JavaScript-built page has an empty static body: not an article', async () => {
    const res = await runCli(['extract', `${REFERENCE}/pages/1100000002.html`]);
    expect(res.code).toBe(5);
    expect(res.stdout.length).toBe(0);
    expect(res.stderr).toMatch(/^not an article \(empty-body\)/m);
  });

  it('a section page is not an article', async () => {
    const res = await runCli(['extract', `${REFERENCE}/pages/section-world.html`]);
    expect(res.code).toBe(5);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/not an article \(no-article-url\)/);
  });

  it('a missing file is a usage error', async () => {
    const res = await runCli(['extract', '/nonexistent/page.html']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/cannot read \/nonexistent\/page.html: ENOENT/);
  });
});
