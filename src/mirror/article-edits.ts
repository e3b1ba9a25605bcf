import { dashed, SITE_UTC_OFFSET_MS } from '../site/calendar.js';
import { plainTextBlock, type MirrorArticle } from './site-model.js';

/**
 * How the site changes an article after publication: a new headline, a rewritten or an added
 * paragraph, with `article:modified_time` and the sitemap's `<lastmod>` moved to the edit's
 * time. The expected snapshot is still computed from the article's data alone.
 */
export interface ArticleEdit {
  /** When the edit happened (an ISO 8601 instant). */
  at: string;
  title?: string;
  /** Rewrites the n-th paragraph (0-based, among the text blocks that give text). */
  paragraph?: { index: number; text: string };
  /** Appends a paragraph at the end of the body. */
  addParagraph?: string;
}

/** An instant as the site writes `article:modified_time`: `20251215T1320+0300` (Istanbul). */
export function siteTime(iso: string): string {
  const d = new Date(Date.parse(iso) + SITE_UTC_OFFSET_MS).toISOString();
  return `${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}T${d.slice(11, 13)}${d.slice(14, 16)}+0300`;
}

/** An instant as the sitemap writes `<lastmod>`: `2025-12-15T13:20:00+03:00` (Istanbul). */
export function sitemapTime(iso: string): string {
  const d = new Date(Date.parse(iso) + SITE_UTC_OFFSET_MS).toISOString();
  return `${d.slice(0, 19)}+03:00`;
}

/** The `<lastmod>` of an article never touched: its publication time. */
export function publishedLastmod(a: Pick<MirrorArticle, 'day' | 'time'>): string {
  return `${dashed(a.day)}T${a.time.slice(0, 2)}:${a.time.slice(2)}:00+03:00`;
}

export function applyEdit(a: MirrorArticle, edit: ArticleEdit): void {
  if (Number.isNaN(Date.parse(edit.at))) throw new Error(`edit of ${a.id}: "at" must be an ISO 8601 instant`);
  const blocks = [...a.blocks];
  if (edit.paragraph) {
    const texts = blocks.map((b, i) => (b.type === 'text' && b.text ? i : -1)).filter((i) => i >= 0);
    const at = texts[edit.paragraph.index];
    if (at === undefined) throw new Error(`edit of ${a.id}: no paragraph ${edit.paragraph.index} (it has ${texts.length})`);
    blocks[at] = plainTextBlock(edit.paragraph.text);
  }
  if (edit.addParagraph !== undefined) blocks.push(plainTextBlock(edit.addParagraph));
  a.revise({ ...(edit.title === undefined ? {} : { title: edit.title }), blocks });
  a.modifiedTime = siteTime(edit.at);
  a.lastmod = sitemapTime(edit.at);
}
