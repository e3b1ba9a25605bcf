/**
 * A deterministic model of anlatilaninotesi.com.tr: articles as data, each with the snapshot it
 * must yield computed from that data — never by running newsnap's extractor over the page.
 */

import { dashed, shiftDay } from '../site/calendar.js';

export interface MirrorBlock {
  type: string;
  html: string;
  /** What the block contributes to the body ('' for kinds a snapshot skips). */
  text: string;
}

export interface MirrorArticle {
  id: string;
  /** YYYYMMDD, Istanbul time. */
  day: string;
  slug: string;
  /** HHMM, Istanbul time. */
  time: string;
  readonly title: string;
  /** Sparse articles carry no site name, description or image (like reference 1098700591). */
  sparse: boolean;
  readonly description: string;
  image: string;
  readonly blocks: MirrorBlock[];
  /** The body is built by JavaScript in the browser; the static HTML has an empty body. */
  jsBuilt: boolean;
  /** A photo gallery: only media blocks, so not an article by FORMAT.md (no body). */
  gallery: boolean;
  /** `article:modified_time` in the site's form (`20251215T1320+0300`) once edited; null before. */
  modifiedTime: string | null;
  /** The month sitemap's `<lastmod>` (`2025-12-15T13:20:00+03:00`); null = the publication time. */
  lastmod: string | null;
  /** Removed from the site: answers this status and leaves the sitemaps, RSS and archives. */
  removed: 404 | 410 | null;
  /** Served by a redesigned build: the body container renamed (`div.article__content`), all else as before. */
  drifted: boolean;
  /** A challenge page answers in its place, with this status (a CAPTCHA wall, a regional block). */
  challenge: number | null;
  /** Replaces the generated title or blocks (an edit by the site); the expected snapshot follows. */
  revise(content: { title?: string; blocks?: MirrorBlock[] }): void;
}

export const SITE_BASE = 'https://anlatilaninotesi.com.tr';
export const SITE_NAME = 'Sputnik Türkiye';

const WORDS = (
  'Türkiye Ankara İstanbul ekonomi dışişleri bakanı açıklama yaptı görüşme gerçekleştirdi ' +
  'işbirliği güçlendirecek bölgedeki gelişmeler değerlendirildi yeni düzenleme yürürlüğe girdi ' +
  'uzmanlar öngörüyor çalışmalar sürüyor vatandaşlar şaşırdı güvenlik konferansı ' +
  'Kahire Moskova Avrupa Birliği Şanghay enerji doğalgaz ihracat rekor kırdı ' +
  'öğrenciler üniversite sınav sonuçları açıklandı hava durumu sağanak yağış uyarısı'
).split(' ');

/** A small deterministic PRNG (mulberry32): the same seed gives the same site. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Markup and the text it stands for, built side by side. */
class Piece {
  html = '';
  text = '';
  add(html: string, text: string): this {
    this.html += html;
    this.text += text;
    return this;
  }
  /** Plain text, escaped for HTML. */
  plain(s: string): this {
    return this.add(escapeHtml(s), s);
  }
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;');
}

/** Whitespace collapsed the way a reader sees it: the model's own, independent of the extractor. */
function collapse(s: string): string {
  return s.replace(/[\s\u00a0]+/g, ' ').trim();
}

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)] as T;
}

/** A sentence of `min` to `max` words of the site's vocabulary. */
export function sentence(rnd: () => number, min: number, max: number): string {
  const n = min + Math.floor(rnd() * (max - min + 1));
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(pick(rnd, WORDS));
  const s = words.join(' ');
  return s.charAt(0).toLocaleUpperCase('tr') + s.slice(1);
}

/** A text paragraph with the inline markup the site uses: links, bold, entities, line breaks. */
function paragraph(rnd: () => number): Piece {
  const p = new Piece();
  if (rnd() < 0.3) p.add('  \n      ', ' ');
  const sentences = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < sentences; i++) {
    if (i > 0) {
      const gap = rnd();
      if (gap < 0.2) p.add('&nbsp;', ' ');
      else if (gap < 0.35) p.add('<br>', ' ');
      else if (gap < 0.45) p.add('\n\n', ' ');
      else p.add(' ', ' ');
    }
    const words = sentence(rnd, 5, 14).split(' ');
    words.forEach((word, j) => {
      if (j > 0) p.add(' ', ' ');
      const r = rnd();
      if (r < 0.06) p.add(`<a href="/person_${j}/" class="article__text-link">${escapeHtml(word)}</a>`, word);
      else if (r < 0.1) p.add(`<strong>${escapeHtml(word)}</strong>`, word);
      else if (r < 0.12) p.add(`${escapeHtml(word)}&rsquo;de`, `${word}\u2019de`);
      else if (r < 0.14) p.add(`${escapeHtml(word)} &amp; ${escapeHtml(word)}`, `${word} & ${word}`);
      else p.plain(word);
    });
    p.add('.', '.');
  }
  if (rnd() < 0.2) p.add('<script>window.counter && counter("x");</script>', '');
  if (rnd() < 0.3) p.add('   ', ' ');
  return p;
}

function textBlock(p: Piece): MirrorBlock {
  return { type: 'text', html: `<div class="article__block" data-type="text"><div class="article__text">${p.html}</div></div>`, text: collapse(p.text) };
}

/** A text block of plain words, as an editor's new or rewritten paragraph. */
export function plainTextBlock(text: string): MirrorBlock {
  return textBlock(new Piece().plain(text));
}

function skippedBlock(rnd: () => number, id: string): MirrorBlock {
  const kind = pick(rnd, ['quote', 'list', 'article', 'media', 'banner', 'social', 'vrez', 'photolenta', 'video', 'infographic']);
  const s = escapeHtml(sentence(rnd, 4, 9));
  const inner: Record<string, string> = {
    quote: `<div class="article__quote"><div class="article__quote-text">${s}</div></div>`,
    list: `<ul class="article__list"><li class="article__list-item">${s}</li><li class="article__list-item">${s}</li></ul>`,
    article: `<div class="article__article"><a href="/20250101/haber-${id}.html" class="article__article-title">${s}</a></div>`,
    media: `<div class="media"><img src="https://cdn.img.anlatilaninotesi.com.tr/img/${id}.jpg" alt="${s}"><div class="media__title">${s}</div></div>`,
    banner: `<div class="banner"><div class="banner__content">Reklam</div><script>window.ads && ads.push("body");</script></div>`,
    social: `<div class="article__social"><blockquote class="twitter-tweet"><p>${s}</p></blockquote></div>`,
    vrez: `<div class="article__vrez"><div class="article__vrez-title">Bilgi notu</div><p>${s}</p></div>`,
    photolenta: `<div class="photolenta"><div class="article__text">${s}</div></div>`,
    video: `<div class="video"><div class="article__text">${s}</div></div>`,
    infographic: `<div class="infographic"><h3 class="article__h2">${s}</h3></div>`,
  };
  return { type: kind, html: `<div class="article__block" data-type="${kind}">${inner[kind]}</div>`, text: '' };
}

/** The whole site: `count` articles spread over the `days` days that end on `lastDay`. */
export function generateArticles(options: { count: number; days: number; lastDay: string; seed: number; jsEvery: number; firstId?: number }): MirrorArticle[] {
  const out: MirrorArticle[] = [];
  const firstId = options.firstId ?? 1_100_000_100;
  for (let i = 0; i < options.count; i++) {
    // Oldest first, so ids grow with time like the site's.
    const dayIndex = Math.floor((i * options.days) / options.count);
    const day = shiftDay(options.lastDay, dayIndex - (options.days - 1));
    out.push(generateArticle(options.seed, String(firstId + i), day, options.jsEvery > 0 && i % options.jsEvery === options.jsEvery - 1, i));
  }
  return out;
}

const SECTION_SLUGS = ['ekonomi', 'dunya', 'turkiye', 'spor', 'bilim'];

/**
 * One article. What sitemaps and archives need is computed at once; title and blocks only when
 * first read, from the article's own seed, so a mirror of 100 000 articles starts at once and
 * stays small.
 */
export function generateArticle(siteSeed: number, id: string, day: string, jsBuilt: boolean, ordinal: number): MirrorArticle {
  const seed = (siteSeed * 2_654_435_761 + Number(id)) >>> 0;
  const quick = seededRandom(seed ^ 0x5bd1e995);
  // Every 9th article is published just after midnight Istanbul time: its date must stay that day.
  const hour = ordinal % 9 === 4 ? 0 : 6 + Math.floor(quick() * 17);
  // Every 41st item is a photo gallery: its blocks give no text, so it is not an article.
  const gallery = ordinal % 41 === 20;
  let content: { title: string; description: string; blocks: MirrorBlock[] } | null = null;
  const load = () => (content ??= articleContent(seededRandom(seed), id, gallery));
  return {
    id,
    day,
    slug: `haber-${SECTION_SLUGS[Number(id) % SECTION_SLUGS.length]}-${id.slice(-4)}`,
    time: `${String(hour).padStart(2, '0')}${String(Math.floor(quick() * 60)).padStart(2, '0')}`,
    sparse: ordinal % 7 === 3,
    image: `https://cdn.img.anlatilaninotesi.com.tr/img/07e9/${day.slice(4, 6)}/${day.slice(6, 8)}/${id}_0:0:1920:1080_1920x0_80_0_0_${id}.jpg`,
    jsBuilt: jsBuilt && !gallery,
    gallery,
    modifiedTime: null,
    lastmod: null,
    removed: null,
    drifted: false,
    challenge: null,
    revise(change) {
      content = { ...load(), ...change };
    },
    get title() {
      return load().title;
    },
    get description() {
      return load().description;
    },
    get blocks() {
      return load().blocks;
    },
  };
}

function articleContent(rnd: () => number, id: string, gallery: boolean): { title: string; description: string; blocks: MirrorBlock[] } {
  const title = `${sentence(rnd, 4, 9)}${rnd() < 0.2 ? ` "${pick(rnd, WORDS)}"` : ''}${rnd() < 0.15 ? ` & ${pick(rnd, WORDS)}'da` : ''}`;
  const description = sentence(rnd, 8, 16);
  const blocks: MirrorBlock[] = [];
  if (gallery) {
    blocks.push(skippedBlock(rnd, id), { type: 'photolenta', html: '<div class="article__block" data-type="photolenta"><div class="photolenta"></div></div>', text: '' });
    return { title, description, blocks };
  }
  const n = 4 + Math.floor(rnd() * 8);
  for (let b = 0; b < n; b++) {
    const r = rnd();
    if (b > 0 && r < 0.3) blocks.push(skippedBlock(rnd, id));
    else if (b > 0 && r < 0.4) {
      const h = sentence(rnd, 3, 7);
      blocks.push({ type: 'h2', html: `<div class="article__block" data-type="h2"><h3 class="article__h2"> ${escapeHtml(h)} </h3></div>`, text: h });
    } else if (r < 0.43) {
      blocks.push({ type: 'text', html: '<div class="article__block" data-type="text"><div class="article__text">  </div></div>', text: '' });
    } else blocks.push(textBlock(paragraph(rnd)));
  }
  if (!blocks.some((b) => b.text)) blocks.push(textBlock(paragraph(rnd)));
  return { title, description, blocks };
}

export function articleUrl(a: Pick<MirrorArticle, 'day' | 'slug' | 'id'>): string {
  return `${SITE_BASE}/${a.day}/${a.slug}-${a.id}.html`;
}

export function articlePath(a: Pick<MirrorArticle, 'day' | 'slug' | 'id'>): string {
  return `/${a.day}/${a.slug}-${a.id}.html`;
}

/** DD.MM.YYYY, as the site writes dates in titles and descriptions. */
export function dottedDay(day: string): string {
  return `${day.slice(6, 8)}.${day.slice(4, 6)}.${day.slice(0, 4)}`;
}

/** The snapshot the article must yield (FORMAT.md), from its data alone; null for a gallery (no body). */
export function expectedSnapshot(a: MirrorArticle): string | null {
  if (a.gallery) return null;
  const date = dashed(a.day);
  const fields = [` date ${date} ${articleUrl(a)}`, collapse(a.title)];
  if (!a.sparse) fields.push(SITE_NAME, `${collapse(a.description)} ${dottedDay(a.day)}, ${SITE_NAME}`, a.image);
  fields.push(a.blocks.map((b) => b.text).join(''));
  return fields.map((f) => `${f}\n\n`).join('');
}

