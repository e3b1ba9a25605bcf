export type { Article, Extraction, NotArticleReason, PageText } from './article.js';
export { extractArticle, extractArticleFromDom } from './extract-article.js';
export { normalizeText } from './normalize-text.js';
