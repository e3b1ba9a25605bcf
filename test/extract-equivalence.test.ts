import { readFileSync } from 'node:fs';
import * as cheerio from 'cheerio';
import { DomHandler } from 'domhandler';
import { Parser, parseDocument } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { extractArticle, extractArticleFromDom } from '../src/extract/index.js';
import { IndexOfTokenizer } from '../src/extract/indexof-tokenizer.js';
import { decodeHtml } from '../src/fetch/decode-html.js';
import { articlePage } from '../src/mirror/page-templates.js';
import { articleUrl, generateArticles, seededRandom } from '../src/mirror/site-model.js';
import { sputnikTurkiye } from '../src/site/profile.js';
import { REFERENCE_CASES } from './helpers/paths.js';

/** The pruned DOM is an optimisation only: it must give exactly what the full DOM gives. */
function same(html: string, url: string | null): void {
  expect(extractArticle(html, url, sputnikTurkiye, { dom: 'pruned' })).toEqual(extractArticle(html, url, sputnikTurkiye, { dom: 'full' }));
}

/** The indexOf tokenizer is an optimisation only: it must build exactly htmlparser2's own DOM. */
function sameDom(html: string): void {
  const stock = cheerio.load(parseDocument(html, { decodeEntities: true })).html();
  expect(cheerio.load(parseDocument(html, { decodeEntities: true, Tokenizer: IndexOfTokenizer })).html()).toBe(stock);
}

describe('pruned DOM and full DOM extract the same; the indexOf tokenizer builds htmlparser2\'s own DOM', () => {
  it('on the reference pages and 300 generated pages', () => {
    for (const c of REFERENCE_CASES) {
      same(readFileSync(c.page, 'utf8'), c.url);
      sameDom(readFileSync(c.page, 'utf8'));
    }
    for (const a of generateArticles({ count: 300, days: 20, lastDay: '20251215', seed: 3, jsEvery: 0 })) same(articlePage(a), articleUrl(a));
  });

  it('a page in pieces extracts as the whole page does (any piece size), as decodeHtml cuts it too', () => {
    const pieces = (html: string, size: number) => Array.from({ length: Math.ceil(html.length / size) }, (_, i) => html.slice(i * size, (i + 1) * size));
    const generated = generateArticles({ count: 40, days: 5, lastDay: '20251215', seed: 5, jsEvery: 0 }).map((a) => ({ html: articlePage(a), url: articleUrl(a) }));
    for (const { html, url } of [...REFERENCE_CASES.map((c) => ({ html: readFileSync(c.page, 'utf8'), url: c.url })), ...generated]) {
      const whole = extractArticle(html, url, sputnikTurkiye);
      for (const size of [7, 1000, 32_768]) expect(extractArticle(pieces(html, size), url, sputnikTurkiye)).toEqual(whole);
      // decodeHtml: 8 KiB byte pieces, multi-byte characters (ı, ş, ğ) never split.
      const decoded = decodeHtml(Buffer.from(html, 'utf8'), 'text/html; charset=utf-8').html;
      expect(Array.isArray(decoded)).toBe(true);
      expect((decoded as string[]).join('')).toBe(html);
      expect(extractArticle(decoded, url, sputnikTurkiye)).toEqual(whole);
    }
  });

  it("over a DOM a peer already parsed (cheerio's own parse5 \`$\`, as Crawlee builds it) the extraction is the same", () => {
    const generated = generateArticles({ count: 40, days: 5, lastDay: '20251215', seed: 9, jsEvery: 0 }).map((a) => ({ html: articlePage(a), url: articleUrl(a) }));
    for (const { html, url } of [...REFERENCE_CASES.map((c) => ({ html: readFileSync(c.page, 'utf8'), url: c.url })), ...generated]) {
      expect(extractArticleFromDom(cheerio.load(html), url, sputnikTurkiye)).toEqual(extractArticle(html, url, sputnikTurkiye));
    }
  });

  it('the indexOf tokenizer on documents where the character it scans for comes at once', () => {
    for (const html of [
      '<script>a<</script><p>x</p>',
      '<script><</script>t',
      '<script>x</script >y<i>z</i>',
      '<style>a<b</style>c<b>d</b>',
      '<div title="a">b</div><div title="">c</div>',
      '<a href=x>y</a><b>',
      "<p a='b'c=\"d\">e</p><p a=''>f</p>",
      '<!--a--><p>q</p><!---->r',
      '<br/><br ><p>s</p>',
      '<title>a&amp;b</title><p>t</p>',
      // Entities: the jump to the next `&` is kept between values and texts while it holds.
      '<a href="?a=1&amp;b=2" title=\'x&y\'>x &amp; y</a> &lt; z & w<b c="&">&</b>',
      '<p>no ampersand here</p><i title="none">either</i><p>then &amp; one</p>',
    ]) {
      sameDom(html);
    }
  });

  it('the indexOf tokenizer given a page in pieces builds the DOM the stock tokenizer builds from them', () => {
    const html = `${readFileSync(REFERENCE_CASES[0]!.page, 'utf8')}<p title="a&amp;b">c &amp; d</p>`;
    const parse = (size: number, withIndexOf: boolean) => {
      const handler = new DomHandler();
      const parser = new Parser(handler, { decodeEntities: true, ...(withIndexOf ? { Tokenizer: IndexOfTokenizer } : {}) });
      for (let i = 0; i < html.length; i += size) parser.write(html.slice(i, i + size));
      parser.end();
      return cheerio.load(handler.root).html();
    };
    for (const size of [5, 333, 4096]) expect(parse(size, true)).toBe(parse(size, false));
  });

  it('on 400 mutated reference pages (seed 11): cut, tags dropped or doubled, nested meta and bodies', () => {
    const rnd = seededRandom(11);
    const pages = REFERENCE_CASES.map((c) => readFileSync(c.page, 'utf8'));
    const mutations: Array<(s: string) => string> = [
      (s) => s.slice(0, Math.floor(rnd() * s.length)),
      (s) => s.replace(/<\/div>/g, () => (rnd() < 0.05 ? '' : '</div>')),
      (s) => s.replace(/<div class="article__block"/g, (m) => (rnd() < 0.2 ? `${m}${m.slice(4)}` : m)),
      (s) => s.replace('<div class="sidebar">', '<div class="sidebar"><meta property="og:title" content="Kenar"><h1 class="article__title">Yan</h1><div class="article__body"><div class="article__block" data-type="text"><div class="article__text">yan gövde</div></div></div>'),
      (s) => s.replace(/<head>/i, '<head><title>Önce</title><svg><title>svg</title></svg>'),
      (s) => s.replace(/<\/title>/, ''),
      (s) => s.replace(/<script>/g, '<script><!--').replace(/<\/script>/, '--></script>'),
      // What the tokenizer's scan for one character meets: unclosed quotes, a lone `<` in script
      // text, `</scrip` that is no end, a comment or tag cut at the end.
      (s) => s.replace(/content="/, 'content="unclosed '),
      (s) => s.replace(/<script>/, '<script>if (a < b && c <d) { x = "</scrip"; }'),
      (s) => `${s}<!-- never closed <div class="article__body">`,
      (s) => `${s}<div class="article__text" data-x='`,
    ];
    for (let i = 0; i < 400; i++) {
      const page = pages[i % pages.length]!;
      const mutated = mutations[Math.floor(rnd() * mutations.length)]!(page);
      same(mutated, i % 3 === 0 ? null : REFERENCE_CASES[i % REFERENCE_CASES.length]!.url);
      sameDom(mutated);
    }
  });
});
