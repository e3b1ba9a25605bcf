// A reader process's work (see threads/child-pool.ts): the heavy reads of serve's API, on storage
// opened read-only, answered as the bytes to send. The engine's thread only passes them on.
import { ReadOnlyStorage } from '../../storage/read-only.js';
import type { TaskHandler } from '../../threads/child-protocol.js';
import { articleFeed, changesFeed, searchFeed } from '../atom-feed.js';
import { searchApi, searchError, searchParams } from '../search-api.js';
import { articlePages, PAGE_HEADERS } from '../status-pages.js';

/** One heavy read, as the API route hands it over. */
export type ReadTask =
  | { kind: 'search'; path: '/search' | '/search/count'; query: string }
  | { kind: 'search-feed'; query: string; base: string }
  /** `/feed.atom` (no id) and `/articles/<id>/feed.atom`: every entry of an edit carries its diff. */
  | { kind: 'changes-feed'; id: string | null; query: string; base: string }
  | { kind: 'page'; path: string; query: string };

/** The answer to send: status, headers and body. */
export interface ReadAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What every reader process is started with. */
export interface ReaderData {
  root: string;
  searchIndex: boolean;
  siteName: string;
  siteHost: string;
  storageId: string;
}

/**
 * Tests only: a read whose query holds this word blocks its process as one long SQLite statement
 * would (synchronously, until the process is killed), so that no test needs a big store.
 */
export const HOLD_VARIABLE = 'NEWSNAP_TEST_HOLD_READS';

let storage: ReadOnlyStorage | null = null;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
const ATOM_HEADERS = { 'content-type': 'application/atom+xml; charset=utf-8', 'cache-control': 'no-cache' };

const read: TaskHandler<ReadTask, ReadAnswer> = async (task, _output, data) => {
  const d = data as ReaderData;
  storage ??= new ReadOnlyStorage(d.root, { searchIndex: d.searchIndex });
  holdIfAsked(task.query);
  const s = storage;
  if (task.kind === 'search') {
    const answer = searchApi(() => s.search(), task.path, new URLSearchParams(task.query));
    return { status: answer.status, headers: JSON_HEADERS, body: `${JSON.stringify(answer.body)}\n` };
  }
  if (task.kind === 'search-feed') {
    const q = new URLSearchParams(task.query);
    try {
      const p = searchParams((name) => q.get(name));
      const xml = await searchFeed({ state: s.state, root: d.root, storageId: d.storageId, siteName: d.siteName, siteHost: d.siteHost, base: task.base }, s.search(), p.filter);
      return { status: 200, headers: ATOM_HEADERS, body: xml };
    } catch (err) {
      const answer = searchError(err);
      return { status: answer.status, headers: JSON_HEADERS, body: `${JSON.stringify(answer.body)}\n` };
    }
  }
  if (task.kind === 'changes-feed') {
    const context = { state: s.state, root: d.root, storageId: d.storageId, siteName: d.siteName, siteHost: d.siteHost, base: task.base };
    const xml = task.id ? await articleFeed(context, task.id) : await changesFeed(context);
    if (xml === null) return { status: 404, headers: JSON_HEADERS, body: `${JSON.stringify({ error: `no article ${task.id} in this storage` })}\n` };
    return { status: 200, headers: ATOM_HEADERS, body: xml };
  }
  const page = await articlePages({ state: s.state, storage: d.root, search: () => s.search() }, task.path, new URLSearchParams(task.query));
  if (!page) return { status: 404, headers: JSON_HEADERS, body: `${JSON.stringify({ error: `not found: ${task.path}` })}\n` };
  return { status: page.status, headers: { ...PAGE_HEADERS, ...page.headers }, body: page.body };
};

export default read;

function holdIfAsked(query: string): void {
  const word = process.env[HOLD_VARIABLE];
  if (!word || !new URLSearchParams(query).get('q')?.includes(word)) return;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600_000);
}
