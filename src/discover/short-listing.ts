import type { SourceStore } from '../storage/state/run-store.js';

/** Fewer lost than this is never held: a few removals a month are the site's normal life. */
export const SHORT_LISTING_MIN_DROP = 20;

/**
 * A sitemap read whole that no longer lists most of its days' captured articles is more likely
 * cut short by the site (a document half built, a cache that kept half) than a mass removal, and
 * taking it at its word makes every one of them due at once: hundreds of requests for nothing.
 * Such a read is held once: nothing is marked, its validators are not kept (so the next read is
 * whole, not a 304), and it counts as a failed read (its month backs off and is read again). The
 * same short listing read twice in a row is believed. Returns why a read is held, or null.
 */
export function heldAsShort(sources: SourceStore, key: string, url: string, drop: { listed: number; unlisted: number }): string | null {
  const markerKey = `short:${key}`;
  const marker = sources.get(markerKey)?.body ?? null;
  const short = drop.unlisted >= SHORT_LISTING_MIN_DROP && drop.unlisted > drop.listed;
  if (short && marker !== String(drop.listed)) {
    sources.save(markerKey, { etag: null, lastModified: null, body: String(drop.listed) });
    const known = drop.listed + drop.unlisted;
    return `${url}: lists ${drop.listed} of the ${known} captured articles it listed before; held as a short read (nothing marked removed), read again before it is believed`;
  }
  if (marker !== null) sources.save(markerKey, { etag: null, lastModified: null, body: null });
  return null;
}
