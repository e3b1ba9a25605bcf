/**
 * A page's markup: one string, or its text in pieces (as a large page is decoded: many short
 * strings are collected young, where one 230 KB page string would sit in V8's large-object space
 * until a full collection).
 */
export type PageText = string | readonly string[];

/** One article as a snapshot carries it. Every string is already normalized (FORMAT.md). */
export interface Article {
  /** The site's numeric article id. */
  id: string;
  /** The article's canonical production URL. */
  url: string;
  /** Calendar date, YYYY-MM-DD. */
  date: string;
  title: string;
  siteName?: string;
  description?: string;
  image?: string;
  body: string;
  /**
   * The body's blocks (paragraphs and headings) as the page has them: `body` is their
   * concatenation, which runs a heading's last word into the next paragraph's first ("yaptıRusya").
   * Search indexes the blocks apart. Not part of the snapshot; extraction always gives them.
   */
  blocks?: string[];
  /** `article:published_time` as the page writes it (`20251220T1542+0300`); not part of the snapshot. */
  publishedTime?: string;
  /** `article:modified_time` as the page writes it, once the site edited the article; not part of the snapshot. */
  modifiedTime?: string;
}

/**
 * Why a page gave no article. `foreign-page`: the page carries none of the site's own markup (no
 * canonical or og:url on the site, no og:site_name of it, no headline): a challenge or block
 * page in the site's place, not the site's page.
 */
export type NotArticleReason = 'no-article-url' | 'no-title' | 'no-date' | 'empty-body' | 'foreign-page';

export type Extraction =
  | { ok: true; article: Article }
  | { ok: false; reason: NotArticleReason; message: string };
