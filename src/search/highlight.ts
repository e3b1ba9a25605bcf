import { BLOCK_SEPARATOR } from './search-doc.js';

/**
 * Highlights and snippets cut from the original text. FTS5's highlight() marks the matches in the
 * folded text the index holds; the folds keep every character in its place (fold.ts), so the
 * marks' positions are the original's, and what is shown is the page's own spelling ("İstanbul'da",
 * not "istanbul'da").
 */

/** The markers FTS5's highlight() is asked to put around a match: control characters no text keeps. */
export const MARK_OPEN = '\u0001';
export const MARK_CLOSE = '\u0002';

/** A text with the ranges [start, end) that matched. */
export interface Marked {
  text: string;
  marks: Array<[number, number]>;
}

/** The ranges `highlighted` (folded text with markers) marks, applied to `original`. */
export function marksOf(original: string, highlighted: string | null): Marked {
  const marks: Array<[number, number]> = [];
  if (highlighted) {
    let at = 0;
    let open = -1;
    for (const c of highlighted) {
      if (c === MARK_OPEN) open = at;
      else if (c === MARK_CLOSE && open >= 0) {
        marks.push([open, at]);
        open = -1;
      } else at += c.length;
    }
  }
  return { text: original, marks: marks.filter(([s, e]) => e > s && e <= original.length) };
}

/** Characters a snippet shows: about three lines. */
const SNIPPET_CHARS = 240;
/** Characters before the first match. */
const LEAD_CHARS = 70;

/**
 * A window of a long text around its first match (its start when nothing in it matched), cut at
 * spaces, with "…" where it was cut; block breaks become spaces.
 */
export function snippetOf(m: Marked): Marked {
  const text = m.text.split(BLOCK_SEPARATOR).join(' ');
  if (text.length <= SNIPPET_CHARS) return { text, marks: m.marks };
  const first = m.marks[0]?.[0] ?? 0;
  let start = Math.max(0, first - LEAD_CHARS);
  if (start > 0) {
    const space = text.indexOf(' ', start);
    start = space >= 0 && space < first ? space + 1 : start;
  }
  let end = Math.min(text.length, start + SNIPPET_CHARS);
  if (end < text.length) {
    const space = text.lastIndexOf(' ', end);
    end = space > first ? space : end;
  }
  const lead = start > 0 ? '…' : '';
  const shift = lead.length - start;
  const marks = m.marks.filter(([s, e]) => s >= start && e <= end).map(([s, e]) => [s + shift, e + shift] as [number, number]);
  return { text: `${lead}${text.slice(start, end)}${end < text.length ? '…' : ''}`, marks };
}

/** The text with each match between `open` and `close`, every piece passed through `escape`. */
export function renderMarked(m: Marked, open: string, close: string, escape: (s: string) => string = (s) => s): string {
  let out = '';
  let at = 0;
  for (const [s, e] of m.marks) {
    if (s < at) continue;
    out += escape(m.text.slice(at, s)) + open + escape(m.text.slice(s, e)) + close;
    at = e;
  }
  return out + escape(m.text.slice(at));
}
