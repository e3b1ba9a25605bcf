/**
 * Text normalization of FORMAT.md, applied to strings whose entities are already decoded
 * (attribute values and text collected from the DOM).
 */

// Entities are decoded before tags are removed (FORMAT.md's order), so a decoded `&lt;b&gt;`
// is a tag too; these patterns strip what decoding may have revealed.
const RAW_TEXT_ELEMENT = /<(script|style|noscript|template)\b[^>]*>[\s\S]*?<\/\1\s*>/gi;
const BREAK_TAG = /<br\b[^>]*>/gi;
const ANY_TAG = /<\/?[A-Za-z][^<>]*>|<!--[\s\S]*?-->/g;
const CONTROL = /[\u0000-\u0008\u000E-\u001F\u007F-\u009F]/g;
const WHITESPACE_RUN = /\s+/g;

export function normalizeText(decoded: string): string {
  let s = decoded;
  if (s.includes('<')) {
    s = s.replace(RAW_TEXT_ELEMENT, '').replace(BREAK_TAG, ' ').replace(ANY_TAG, '');
  }
  return s.replace(CONTROL, '').replace(WHITESPACE_RUN, ' ').trim();
}
