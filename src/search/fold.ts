/**
 * Turkish letter folding for search, done before SQLite's `unicode61` tokenizer sees a text.
 * That tokenizer lowercases `I` to `i` (so "ışık" misses "IŞIK") and leaves `İ` alone (so
 * "istanbul" misses "İstanbul'da"). Both folds replace one UTF-16 unit by one, so a position in
 * the folded text is the same position in the original: highlights found in the folded text
 * are cut from the original.
 */

/** The default mode: `İ`, `I`, `ı` and `i` are one letter (with `remove_diacritics 2`, ğ is g, ş is s…). */
export function foldTurkish(text: string): string {
  return text.replace(/[İIı]/g, 'i');
}

/**
 * The exact mode: lower case as Turkish writes it (`İ` → i, `I` → ı), every other letter as the
 * page has it (the exact index keeps diacritics), so "ılık" and "ilik" differ.
 */
export function foldExact(text: string): string {
  return text.replace(/İ/g, 'i').replace(/I/g, 'ı');
}

export type FoldMode = 'folded' | 'exact';

export function foldFor(mode: FoldMode): (text: string) => string {
  return mode === 'exact' ? foldExact : foldTurkish;
}
