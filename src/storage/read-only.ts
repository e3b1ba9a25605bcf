import { SqliteState } from './state/state-store.js';
import { SearchReader, SearchUnavailable } from './search/search-reader.js';

export interface ReadOnlyOptions {
  /** With false, search() says the index is off (search.index = false) instead of opening it. */
  searchIndex?: boolean;
}

/**
 * The storage folder opened for reading only: what every reader shares (the search, history,
 * export, events and verify commands, and serve's reader processes). No lock, no write, no
 * repair: it reads beside a running crawl or serve. State and the search index are each opened
 * at first use, on connections of their own, and kept until close().
 */
export class ReadOnlyStorage {
  private stateDb: SqliteState | null = null;
  private searchDb: SearchReader | null = null;

  constructor(
    readonly root: string,
    private readonly options: ReadOnlyOptions = {},
  ) {}

  /** State (articles, frontier, runs, outbox), read-only; throws when the folder has none. */
  get state(): SqliteState {
    this.stateDb ??= new SqliteState(this.root, { readonly: true });
    return this.stateDb;
  }

  /** The search index; throws SearchUnavailable (saying what builds it) when there is none to read. */
  search(): SearchReader {
    if (this.options.searchIndex === false) throw new SearchUnavailable('the search index is off (search.index = false, NEWSNAP_SEARCH_INDEX): turn it on and restart; the next start builds it');
    this.searchDb ??= SearchReader.open(this.root);
    return this.searchDb;
  }

  close(): void {
    this.searchDb?.close();
    this.searchDb = null;
    this.stateDb?.close();
    this.stateDb = null;
  }
}
