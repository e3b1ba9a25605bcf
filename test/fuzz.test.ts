import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { NotArticleReason } from '../src/extract/article.js';
import { extractArticle } from '../src/extract/index.js';
import { seededRandom } from '../src/mirror/site-model.js';
import { sputnikTurkiye } from '../src/site/profile.js';
import { formatSnapshot } from '../src/snapshot/format.js';
import { REFERENCE_CASES } from './helpers/paths.js';

/** NEWSNAP_FUZZ_COUNT=10000 for the full run; CI keeps a smaller count with the same seed. */
const COUNT = Number(process.env.NEWSNAP_FUZZ_COUNT ?? 1500);
const SEED = Number(process.env.NEWSNAP_FUZZ_SEED ?? 7);
/** Every reason extraction can give for no article (extract/article.ts): a new one fails to compile here until it is listed. */
const EXTRACTION_FAILURES = Object.keys({ 'no-article-url': true, 'no-title': true, 'no-date': true, 'empty-body': true, 'foreign-page': true } satisfies Record<NotArticleReason, true>);
const HEADER = /^ date \d{4}-\d{2}-\d{2} https:\/\/anlatilaninotesi\.com\.tr\/\S+-\d{10}\.html$/;

function mutate(rnd: () => number, page: string): string {
  const at = () => Math.floor(rnd() * page.length);
  const pick = Math.floor(rnd() * 9);
  switch (pick) {
    case 0:
      return page.slice(0, at());
    case 1:
      return page.replace(/<\/?(div|span|a|strong|h3|head|body|html)\b[^>]*>/g, (m) => (rnd() < 0.1 ? '' : m));
    case 2:
      return page.replace(/<(div|a|strong)\b[^>]*>/g, (m) => (rnd() < 0.1 ? m + m : m));
    case 3:
      return page.replace(/="[^"]*"/g, (m) => (rnd() < 0.05 ? m.slice(0, Math.floor(rnd() * m.length)) : m));
    case 4: {
      const i = page.indexOf('<div class="article__text">');
      return `${page.slice(0, i)}${'<div>'.repeat(10_000)}x${'</div>'.repeat(10_000)}${page.slice(i)}`;
    }
    case 5:
      return page.replace('<meta property="og:title" content="', `<meta property="og:title" data-x="${'A'.repeat(1 << 20)}" content="`);
    case 6: {
      const junk = Array.from({ length: 2000 }, () => String.fromCharCode(Math.floor(rnd() * 0x3000))).join('');
      const i = at();
      return page.slice(0, i) + junk + page.slice(i);
    }
    case 7:
      return page.replace(/&[a-z]+;/g, () => (rnd() < 0.5 ? '&#x110000;' : '&#0;'));
    default:
      return page.replace(/<div class="article__block"/g, (m) => (rnd() < 0.3 ? '<div class="article__block" data-type="text"><div class="article__text">\u0000\u0007\u2028</div></div>' + m : m));
  }
}

describe(`extractor fuzz: ${COUNT} mutated reference pages, seed ${SEED}`, () => {
  it('never throws, says why when it gives no article, and every snapshot is well-formed', { timeout: Math.max(120_000, COUNT * 60) }, () => {
    const rnd = seededRandom(SEED);
    const pages = REFERENCE_CASES.map((c) => ({ html: readFileSync(c.page, 'utf8'), url: c.url }));
    let articles = 0;
    const reasons = new Set<string>();
    for (let i = 0; i < COUNT; i++) {
      const { html, url } = pages[i % pages.length]!;
      const mutated = mutate(rnd, html);
      const result = extractArticle(mutated, i % 2 ? url : null, sputnikTurkiye);
      if (!result.ok) {
        // Every reason the extractor can give: a page cut down to none of the site's markup is a foreign page.
        expect(EXTRACTION_FAILURES).toContain(result.reason);
        reasons.add(result.reason);
        continue;
      }
      articles++;
      const text = formatSnapshot(result.article);
      expect(text.endsWith('\n\n')).toBe(true);
      const fields = text.slice(0, -2).split('\n\n');
      expect(fields.length).toBeGreaterThanOrEqual(3);
      expect(fields.length).toBeLessThanOrEqual(6);
      expect(fields[0]).toMatch(HEADER);
      for (const [k, f] of fields.entries()) {
        expect(f).not.toMatch(/[\n\r\u2028\u2029]/);
        expect(f).not.toMatch(/[\u0000-\u0008\u000e-\u001f\u007f-\u009f]/);
        // The header's leading space is part of the format; every other field is trimmed.
        if (k > 0) expect(f.trim()).toBe(f);
        expect(f.length).toBeGreaterThan(0);
      }
    }
    expect(articles).toBeGreaterThan(COUNT / 3);
    expect(reasons.size).toBeGreaterThan(0);
  });

  it('a page cut to its first bytes carries none of the site\'s markup: foreign-page, whatever the seed', () => {
    const html = readFileSync(REFERENCE_CASES[0]!.page, 'utf8');
    expect(extractArticle(html.slice(0, 40), REFERENCE_CASES[0]!.url, sputnikTurkiye)).toMatchObject({ ok: false, reason: 'foreign-page' });
    expect(EXTRACTION_FAILURES).toContain('foreign-page');
  });
});
