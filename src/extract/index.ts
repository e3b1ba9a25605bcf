export type { Article, Extraction, NotArticleReason } from './article.js';
export { extractArticle } from './extract-article.js';
export { normalizeText } from './normalize-text.js';
