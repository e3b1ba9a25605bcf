import type { Extraction } from '../../extract/article.js';
import { extractArticle } from '../../extract/extract-article.js';
import { decodeHtml } from '../../fetch/decode-html.js';
import type { PageSource } from '../../fetch/page-fetcher.js';
import type { SiteProfile } from '../../site/profile.js';

/** A page's article, and what decoding it assumed when the page was not UTF-8 or said nothing. */
export interface ExtractedPage {
  extraction: Extraction;
  charsetNote?: string;
}

/** A fetched page through decode (by the charset of its headers or markup) and extraction. */
export function extractPage(source: PageSource, url: string | null, profile: SiteProfile): ExtractedPage {
  if ('html' in source) return { extraction: extractArticle(source.html, url, profile) };
  const { html, note } = decodeHtml(source.body, source.contentType);
  return { extraction: extractArticle(html, url, profile), ...(note ? { charsetNote: note } : {}) };
}
