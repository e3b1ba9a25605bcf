import * as cheerio from 'cheerio/slim';
import type { AnyNode, Element } from 'domhandler';
import { parseDocument } from 'htmlparser2';
import type { SiteProfile } from '../site/profile.js';
import { SiteUrls } from '../site/site-urls.js';
import type { Article, Extraction, NotArticleReason, PageText } from './article.js';
import { IndexOfTokenizer } from './indexof-tokenizer.js';
import { normalizeText } from './normalize-text.js';
import { parsePrunedDocument, simpleSelectors, type SimpleSelector } from './pruned-dom.js';
import { dashed } from '../site/calendar.js';
import { calendarDateOf } from './published-date.js';

interface CompiledProfile {
  urls: SiteUrls;
  titleTail: RegExp;
  /** Elements whose subtrees a pruned DOM keeps; null when a selector needs the full DOM. */
  keep: SimpleSelector[] | null;
}

const compiled = new WeakMap<SiteProfile, CompiledProfile>();

function compile(profile: SiteProfile): CompiledProfile {
  let c = compiled.get(profile);
  if (!c) {
    const headline = simpleSelectors(profile.selectors.headline);
    const body = simpleSelectors(profile.selectors.body);
    c = { urls: new SiteUrls(profile), titleTail: new RegExp(profile.titleTail), keep: headline && body ? [...headline, ...body] : null };
    compiled.set(profile, c);
  }
  return c;
}

/**
 * Extracts the article of a page, following FORMAT.md. Pure: no I/O, never throws on any
 * input string.
 *
 * @param html the page's markup (static HTML or a browser's rendered DOM)
 * @param pageUrl the page's own URL on the site (production form, after redirects), or null
 *   when unknown (a saved file): then only an article URL in the page itself identifies it
 */
export function extractArticle(html: PageText, pageUrl: string | null, profile: SiteProfile, options: { dom?: 'pruned' | 'full' } = {}): Extraction {
  const { keep } = compile(profile);
  // cheerio over htmlparser2's DOM (a seventh of the cost of cheerio's default parse5 mode),
  // pruned to what the selectors can match when they are simple enough; `dom: 'full'` builds
  // the whole page, and the tests hold both to the same output.
  const dom =
    keep && options.dom !== 'full'
      ? parsePrunedDocument(html, keep)
      : parseDocument(typeof html === 'string' ? html : html.join(''), { decodeEntities: true, Tokenizer: IndexOfTokenizer });
  return extractArticleFromDom(cheerio.load(dom), pageUrl, profile);
}

/**
 * The same extraction over a page already parsed into cheerio: a peer crawler's `$` (the
 * benchmark runs it on the one Crawlee built), or a whole DOM.
 */
export function extractArticleFromDom($: cheerio.CheerioAPI, pageUrl: string | null, profile: SiteProfile): Extraction {
  const { urls, titleTail } = compile(profile);
  const meta = collectMeta($);

  const declared = declaredUrl($, meta);
  // Only a page that gives no article is asked whether it is the site's page at all: one in the
  // site's place that carries none of its markup is a challenge or block page, not drift.
  const notArticle = (reason: NotArticleReason, message: string): Extraction => {
    const sitePage =
      meta.first('property', 'og:site_name') === profile.name ||
      (declared !== undefined && urls.parseSiteUrl(declared, pageUrl ?? urls.base.href) !== null) ||
      $(profile.selectors.headline).length > 0 ||
      $(profile.selectors.body).length > 0;
    if (pageUrl && !sitePage) return { ok: false, reason: 'foreign-page', message: "the page carries none of the site's markup (a challenge or block page?)" };
    return { ok: false, reason, message };
  };
  const ref = articleRef(urls, declared, pageUrl);
  if (!ref) return notArticle('no-article-url', 'the page has no article URL of the site');

  const title =
    meta.first('property', 'og:title') ??
    nonEmpty(textOfFirst($, profile.selectors.headline)) ??
    nonEmpty(textOfFirst($, 'title').replace(titleTail, '').trim());
  if (!title) return notArticle('no-title', 'the page has no title');

  const date = publishedDate($, meta, ref.day);
  if (!date) return notArticle('no-date', 'the page has no publication date');

  const blocks = articleBlocks($, profile);
  const body = blocks.join('');
  if (!body) return notArticle('empty-body', 'the article body is empty');

  const article: Article = { id: ref.id, url: ref.url, date, title, body, blocks };
  const siteName = meta.first('property', 'og:site_name');
  const description = meta.first('name', 'description') ?? meta.first('property', 'og:description');
  const image = meta.first('property', 'og:image') ?? meta.first('name', 'twitter:image');
  if (siteName) article.siteName = siteName;
  if (description) article.description = description;
  if (image) article.image = image;
  const published = meta.first('property', 'article:published_time');
  const modified = meta.first('property', 'article:modified_time');
  if (published) article.publishedTime = published;
  if (modified) article.modifiedTime = modified;
  return { ok: true, article };
}

/** The `<meta>` tags of a page, read once: first non-empty normalized value per key. */
interface MetaIndex {
  first(attr: 'name' | 'property', key: string): string | undefined;
}

function collectMeta($: cheerio.CheerioAPI): MetaIndex {
  const values = new Map<string, string>();
  for (const el of $('meta').toArray()) {
    const content = el.attribs.content;
    if (content === undefined) continue;
    for (const attr of ['name', 'property'] as const) {
      const key = el.attribs[attr];
      if (key === undefined) continue;
      const mapKey = `${attr}\u0000${key}`;
      if (values.has(mapKey)) continue;
      const value = normalizeText(content);
      if (value) values.set(mapKey, value);
    }
  }
  return { first: (attr, key) => values.get(`${attr}\u0000${key}`) };
}

/** The page's own statement of its URL: `link[rel=canonical]`, then `og:url`. */
function declaredUrl($: cheerio.CheerioAPI, meta: MetaIndex): string | undefined {
  return nonEmpty(normalizeText($('link[rel=canonical]').first().attr('href') ?? '')) ?? meta.first('property', 'og:url');
}

function articleRef(urls: SiteUrls, declared: string | undefined, pageUrl: string | null) {
  const pageBase = pageUrl ?? urls.base.href;
  if (declared) {
    const ref = urls.parseArticle(declared, pageBase);
    if (ref) return ref;
  }
  return pageUrl ? urls.parseArticle(pageUrl) : null;
}

function publishedDate($: cheerio.CheerioAPI, meta: MetaIndex, urlDay: string): string | null {
  const published = meta.first('property', 'article:published_time');
  const fromMeta = published ? calendarDateOf(published) : null;
  if (fromMeta) return fromMeta;
  if (urlDay) return dashed(urlDay);
  return jsonLdDatePublished($);
}

function jsonLdDatePublished($: cheerio.CheerioAPI): string | null {
  for (const el of $('script[type="application/ld+json"]').toArray()) {
    let data: unknown;
    try {
      data = JSON.parse($(el).text());
    } catch {
      continue;
    }
    const found = findDatePublished(data, 0);
    if (found) return found;
  }
  return null;
}

function findDatePublished(node: unknown, depth: number): string | null {
  if (depth > 8 || node === null || typeof node !== 'object') return null;
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = findDatePublished(item, depth + 1);
      if (found) return found;
    }
    return null;
  }
  const record = node as Record<string, unknown>;
  if (typeof record.datePublished === 'string') {
    const date = calendarDateOf(record.datePublished);
    if (date) return date;
  }
  for (const value of Object.values(record)) {
    const found = findDatePublished(value, depth + 1);
    if (found) return found;
  }
  return null;
}

/** The body's text and heading blocks, in order, each normalized; the body is their concatenation (FORMAT.md). */
function articleBlocks($: cheerio.CheerioAPI, profile: SiteProfile): string[] {
  const { body, block, text, heading } = profile.selectors;
  const pieces: string[] = [];
  for (const el of $(body).first().children(block).toArray()) {
    const kind = el.attribs['data-type'];
    const source = kind === 'text' ? text : kind === 'h2' ? heading : null;
    if (!source) continue;
    const piece = textOfFirst($(el), source);
    if (piece) pieces.push(piece);
  }
  return pieces;
}

/** Normalized text of the first element matching `selector` (in the document or below `scope`). */
function textOfFirst(scope: cheerio.CheerioAPI | cheerio.Cheerio<Element>, selector: string): string {
  const el = typeof scope === 'function' ? scope(selector).get(0) : scope.find(selector).get(0);
  if (!el) return '';
  const out: string[] = [];
  collectText(el, out);
  return normalizeText(out.join(''));
}

const DROPPED = new Set(['script', 'style', 'noscript', 'template']);

/** Text of a subtree in document order; iterative, so 10 000-deep nesting cannot overflow the stack. */
function collectText(root: AnyNode, out: string[]): void {
  const stack: AnyNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as AnyNode;
    if (node.type === 'text') {
      out.push(node.data);
      continue;
    }
    if (!('children' in node)) continue;
    if ('name' in node) {
      const name = node.name.toLowerCase();
      if (DROPPED.has(name)) continue;
      if (name === 'br') {
        out.push(' ');
        continue;
      }
    }
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i] as AnyNode);
  }
}

function nonEmpty(s: string): string | undefined {
  return s ? s : undefined;
}
