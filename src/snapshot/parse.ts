import type { Article } from '../extract/article.js';

/** The fields a snapshot file carries (FORMAT.md v1), absent optional ones null. */
export type SnapshotFields = Pick<Article, 'date' | 'url' | 'title' | 'body'> & {
  siteName: string | null;
  description: string | null;
  image: string | null;
};

/**
 * Reads a snapshot file back into its fields: the inverse of formatSnapshot, so that
 * formatSnapshot(parseSnapshot(text)) gives the same bytes. The optional fields keep FORMAT.md's
 * order (site name, description, image) but their labels are not written in the file: a field
 * equal to the site's name is the site name, one that is a single http(s) URL is the image, any
 * other the description. Null when the text is not a snapshot.
 */
export function parseSnapshot(text: string, siteName: string): SnapshotFields | null {
  if (!text.endsWith('\n\n')) return null;
  const fields = text.slice(0, -2).split('\n\n');
  const header = /^ date (\d{4}-\d{2}-\d{2}) (\S+)$/.exec(fields[0] ?? '');
  if (!header || fields.length < 3 || fields.length > 6) return null;
  const out: SnapshotFields = { date: header[1]!, url: header[2]!, title: fields[1]!, siteName: null, description: null, image: null, body: fields.at(-1)! };
  // The fields come in order: each takes its slot, and nothing after it takes an earlier one.
  let slot = 0;
  for (const value of fields.slice(2, -1)) {
    if (value === siteName && slot === 0) [out.siteName, slot] = [value, 1];
    else if (/^https?:\/\/\S+$/.test(value) && slot <= 2) [out.image, slot] = [value, 3];
    else if (slot <= 1) [out.description, slot] = [value, 2];
    else return null;
  }
  return out;
}
