import type { Article } from '../extract/article.js';

/** The snapshot text of an article: FORMAT.md v1, to the byte. */
export function formatSnapshot(article: Article): string {
  const fields = [` date ${article.date} ${article.url}`, article.title];
  for (const optional of [article.siteName, article.description, article.image]) {
    if (optional) fields.push(optional);
  }
  fields.push(article.body);
  return fields.map((field) => `${field}\n\n`).join('');
}
