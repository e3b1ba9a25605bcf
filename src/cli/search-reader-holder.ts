import { SearchReader, SearchUnavailable } from '../storage/search/search-reader.js';
import type { Context } from './context.js';

/**
 * The search index as `serve` reads it: opened at the first search (its own read-only
 * connection), kept open; with `search.index` off, or no index yet, each search says why.
 */
export function searchReaderHolder(ctx: Context): { get: () => SearchReader; close: () => void } {
  let reader: SearchReader | null = null;
  return {
    get: () => {
      if (!ctx.config.search.index) throw new SearchUnavailable('the search index is off (search.index = false, NEWSNAP_SEARCH_INDEX): turn it on and restart; the next start builds it');
      reader ??= SearchReader.open(ctx.config.storage);
      return reader;
    },
    close: () => {
      reader?.close();
      reader = null;
    },
  };
}
