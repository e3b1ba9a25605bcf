import { getSurt } from 'warcio';

/** What a CDXJ line says of one record, in the WACZ's own WARC files. */
export interface CdxjEntry {
  url: string;
  /** WARC-Date (UTC ISO). */
  date: string;
  mime: string | null;
  status: number | null;
  digest: string | null;
  /** Its gzip member in `filename` (a name in the WACZ's `archive/`). */
  offset: number;
  length: number;
  filename: string;
}

/**
 * The SURT key of a URL (host reversed, `www` dropped, query sorted), as pywb and ReplayWeb.page
 * look URLs up: warcio's own, so the keys match what its indexer writes.
 */
export function surtOf(url: string): string {
  return getSurt(url);
}

/** The 14-digit timestamp of a WARC-Date. */
export function timestamp14(date: string): string {
  return date.replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * One line of `index.cdxj`: `<surt> <timestamp> <json>`. Numbers are written as strings, as pywb
 * and warcio write them; the digest keeps its `sha256:` label (readers compare it as a string).
 */
export function cdxjLine(e: CdxjEntry): string {
  const json = {
    url: e.url,
    ...(e.mime ? { mime: e.mime } : {}),
    ...(e.status !== null ? { status: String(e.status) } : {}),
    ...(e.digest ? { digest: e.digest } : {}),
    length: String(e.length),
    offset: String(e.offset),
    filename: e.filename,
  };
  return `${surtOf(e.url)} ${timestamp14(e.date)} ${JSON.stringify(json)}\n`;
}
