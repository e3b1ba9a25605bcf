import type { Article } from '../extract/article.js';
import { parseSnapshot } from '../snapshot/parse.js';

/**
 * What search indexes of one version: its title, description and body blocks, as the page has
 * them. The snapshot joins the body's blocks with nothing between them (a heading's last word
 * runs into the next paragraph: "yaptıRusya"), so the blocks are kept apart here and the index
 * gets them with a line break between.
 */
export interface SearchDoc {
  title: string;
  description: string | null;
  blocks: readonly string[];
}

/** What separates two blocks of the body in the index (and in its snippets, shown as a space). */
export const BLOCK_SEPARATOR = '\n';

/** A version being written: the extracted blocks when the article has them, else its body as one block. */
export function searchDocOf(article: Pick<Article, 'title' | 'description' | 'blocks'>, text: string): SearchDoc {
  return {
    title: article.title,
    description: article.description ?? null,
    blocks: article.blocks ?? [bodyOf(text)],
  };
}

/**
 * A version read back from its snapshot file (the site's name tells it from a description);
 * `blocks`, when the archive gave them, replace the joined body. Null when the text is no snapshot.
 */
export function searchDocFromSnapshot(text: string, siteName: string, blocks?: readonly string[] | null): SearchDoc | null {
  const fields = parseSnapshot(text, siteName);
  if (!fields) return null;
  return { title: fields.title, description: fields.description, blocks: blocks ?? [fields.body] };
}

/**
 * Whether a joined body may hide a place where two blocks ran together into one word: a small
 * letter before a capital or a digit ("yaptıRusya", "yaptı2024"), a digit before a capital. Only
 * such a body is worth its archived page's blocks; any other junction of two blocks falls on a
 * character the tokenizer separates at anyway (the end of a sentence, a space, a quote).
 */
export function mayHideBlocks(body: string): boolean {
  // A loop over char codes, not /\p{Ll}[\p{Lu}\p{N}]/u: a rebuild asks this of every version, and
  // the Unicode classes cost a rebuild a tenth of its time. Capitals and digits are few: the case
  // of a non-ASCII letter is asked only of those and of the letter before them.
  for (let i = 1; i < body.length; i++) {
    const c = body.charCodeAt(i);
    const digit = c >= 48 && c <= 57;
    if (!digit && !(c >= 65 && c <= 90) && !(c > 127 && isUpper(body[i] as string))) continue;
    const p = body.charCodeAt(i - 1);
    if ((p >= 97 && p <= 122) || (p > 127 && isLower(body[i - 1] as string))) return true;
    if (!digit && p >= 48 && p <= 57) return true;
  }
  return false;
}

const isUpper = (ch: string) => ch !== ch.toLowerCase();
const isLower = (ch: string) => ch !== ch.toUpperCase();

/** The body of a snapshot text: its last field. */
function bodyOf(text: string): string {
  return text.replace(/\n\n$/, '').split('\n\n').at(-1) ?? '';
}

/** The body as the index stores it: the blocks, one per line. */
export function indexedBody(doc: SearchDoc): string {
  return doc.blocks.join(BLOCK_SEPARATOR);
}
