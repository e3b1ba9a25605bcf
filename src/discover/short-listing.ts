import { FetchError } from '../fetch/fetch-error.js';
import type { SourceStore } from '../storage/state/run-store.js';

/** Fewer lost than this is never held: a few removals a month are the site's normal life. */
export const SHORT_LISTING_MIN_DROP = 20;

/** A read held as short: a failed read of its source, but no reason to read its days' listings instead. */
export class ShortListing extends FetchError {
  constructor(url: string, drop: { listed: number; unlisted: number }) {
    const known = drop.listed + drop.unlisted;
    super('decode', url, `${url}: lists ${drop.listed} of the ${known} captured articles it listed before; held as a short read (nothing marked removed), believed if the next read is as short`);
  }
}

const markerKey = (key: string) => `short:${key}`;

/**
 * A sitemap read whole that no longer lists most of its days' captured articles is more likely
 * cut short by the site (a document half built, a cache that kept half) than a mass removal, and
 * taking it at its word makes every one of them due at once: hundreds of requests for nothing.
 * Such a read is held: nothing is marked, its validators are not kept (those of the last whole
 * read stay, so a 304 means the document is whole again), and it counts as a failed read (read
 * again soon). The next read of the same source
 * decides: short again, it is believed; whole (or unchanged), the hold is forgotten. Throws the
 * ShortListing to hold a read; returns when the read may be taken as it is.
 */
export function checkListing(sources: SourceStore, key: string, url: string, drop: { listed: number; unlisted: number }): void {
  const held = sources.get(markerKey(key))?.body != null;
  const short = drop.unlisted >= SHORT_LISTING_MIN_DROP && drop.unlisted > drop.listed;
  if (short && !held) {
    sources.save(markerKey(key), { etag: null, lastModified: null, body: String(drop.listed) });
    throw new ShortListing(url, drop);
  }
  if (held) forgetHold(sources, key);
}

/** The read after a held one was not short (or was a 304): the hold is forgotten. */
export function forgetHold(sources: SourceStore, key: string): void {
  if (sources.get(markerKey(key))?.body != null) sources.save(markerKey(key), { etag: null, lastModified: null, body: null });
}
