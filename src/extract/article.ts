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
  /** `article:published_time` as the page writes it (`20251220T1542+0300`); not part of the snapshot. */
  publishedTime?: string;
  /** `article:modified_time` as the page writes it, once the site edited the article; not part of the snapshot. */
  modifiedTime?: string;
}

/** Why a page gave no article. */
export type NotArticleReason = 'no-article-url' | 'no-title' | 'no-date' | 'empty-body';

export type Extraction =
  | { ok: true; article: Article }
  | { ok: false; reason: NotArticleReason; message: string };
