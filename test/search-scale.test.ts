import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Article } from '../src/extract/article.js';
import { seededRandom } from '../src/mirror/site-model.js';
import { compileQuery, parseQuery, QUERY_LIMITS, QueryError } from '../src/search/query.js';
import { fullTextPage } from '../src/service/pages/search-page.js';
import { searchApi } from '../src/service/search-api.js';
import { formatSnapshot } from '../src/snapshot/format.js';
import { countOverTime } from '../src/storage/search/count-over-time.js';
import { SearchReader, SearchUnavailable, VERSIONS_MODES, type SearchFilter, type VersionsMode } from '../src/storage/search/search-reader.js';
import { docIdRange, FTS_TABLES, SEARCH_FILE, SEARCH_SCHEMA_VERSION } from '../src/storage/search/search-schema.js';
import { Storage } from '../src/storage/storage.js';
import { tempDir } from './helpers/storage.js';

const SITE = 'Sputnik Türkiye';
const opened: Array<Storage | SearchReader> = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
});

function article(id: number, title: string, blocks: string[], date: string): Article {
  const url = `https://anlatilaninotesi.com.tr/${date.replace(/-/g, '')}/haber-${id}.html`;
  return { id: String(id), url, date, title, siteName: SITE, body: blocks.join(''), blocks };
}

async function openStorage(root: string, index = true): Promise<Storage> {
  const s = await Storage.open(root, { search: { index, siteName: SITE } });
  opened.push(s);
  return s;
}

async function put(storage: Storage, a: Article, capturedAt: string): Promise<void> {
  const known = storage.state.articles.get(a.id);
  const previous = known?.sha256 && known.path && known.capturedAt ? { sha256: known.sha256, path: known.path, capturedAt: known.capturedAt } : null;
  await storage.commit({ event: previous ? 'updated' : 'new', article: a, text: formatSnapshot(a), capturedAt, previous });
}

async function close(o: Storage | SearchReader): Promise<void> {
  opened.splice(opened.indexOf(o), 1);
  await o.close();
}

function reader(root: string): SearchReader {
  const r = SearchReader.open(root);
  opened.push(r);
  return r;
}

const WORDS = ['nato', 'kırım', 'nükleer', 'santral', 'akkuyu', 'bakanlık', 'birlik', 'birim', 'verdi', 'veriler', 'olay', 'olacak', 'ankara', 'ılık'];

/**
 * A small store with edits: 40 articles over 8 days, a third of them edited once or twice, every
 * text drawn from a few words (seeded), so each mode has hits, misses and edge cases.
 */
async function editedStore(): Promise<string> {
  const root = await tempDir();
  const storage = await openStorage(root);
  const rnd = seededRandom(11);
  const text = (n: number) => Array.from({ length: n }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(' ');
  for (let id = 1; id <= 40; id++) {
    const date = `2025-12-0${1 + (id % 8)}`;
    const edits = id % 3 === 0 ? 1 + (id % 2) : 0;
    for (let v = 0; v <= edits; v++) await put(storage, article(id, `Haber ${text(2)}`, [`${text(3)}.`, `${text(3)}.`], date), `2025-12-10T1${v}:00:00.000Z`);
  }
  await close(storage);
  return root;
}

/**
 * What each mode must find, from every version alone: each asked whether it matches one at a
 * time (the way the queries did before they scaled), the modes decided here in plain code.
 */
function bruteForce(r: SearchReader, f: SearchFilter): Array<{ id: string; version: number }> {
  const fts = f.exact ? FTS_TABLES.exact.table : FTS_TABLES.folded.table;
  const q = compileQuery(f.query, f.exact ? 'exact' : 'folded');
  const probe = r.db.prepare(`SELECT 1 FROM ${fts} WHERE ${fts} MATCH ? AND rowid = CAST(? AS INTEGER)`);
  const rows = r.db.prepare(`SELECT doc_id, article_id, version, current FROM docs ORDER BY article_id, seq`).all() as Array<{ doc_id: number; article_id: string; version: number; current: number }>;
  const byArticle = new Map<string, Array<(typeof rows)[number] & { match: boolean }>>();
  for (const row of rows) byArticle.set(row.article_id, [...(byArticle.get(row.article_id) ?? []), { ...row, match: probe.get(q, row.doc_id) !== undefined }]);
  const range = docIdRange(f.since, f.until);
  const found: Array<{ id: string; version: number; doc: number }> = [];
  for (const [id, versions] of byArticle) {
    const current = versions.at(-1)!;
    const newest = versions.filter((v) => v.match).at(-1);
    const pick: Record<VersionsMode, (typeof versions)[number] | undefined> = {
      current: current.match ? current : undefined,
      any: newest,
      removed: newest && newest !== current ? newest : undefined,
      added: current.match && versions.slice(0, -1).some((v) => !v.match) ? current : undefined,
    };
    const v = pick[f.versions ?? 'current'];
    if (v && v.doc_id >= range.low && v.doc_id <= range.high) found.push({ id, version: v.version, doc: v.doc_id });
  }
  return found.sort((a, b) => b.doc - a.doc).map(({ id, version }) => ({ id, version }));
}

/** Every page of a search, 3 at a time (the keyset cursor carried over). */
function allPages(r: SearchReader, f: SearchFilter): Array<{ id: string; version: number }> {
  const out: Array<{ id: string; version: number }> = [];
  let after: string | undefined;
  do {
    const page = r.search(f, { limit: 3, ...(after ? { after } : {}) });
    out.push(...page.hits.map((h) => ({ id: h.id, version: h.version })));
    after = page.next ?? undefined;
  } while (after);
  return out;
}

describe('versions any, removed and added without a probe per version', () => {
  it('give, page by page and in their counts, what a brute force over every version gives', async () => {
    const root = await editedStore();
    const r = reader(root);
    const queries = ['nato', 'kır*', 'bir* OR ver* OR ola*', 'nato NOT kırım', '"nükleer santral"', 'title:ankara OR akkuyu', 'ılık'];
    const filters: SearchFilter[] = queries.flatMap((query) =>
      VERSIONS_MODES.flatMap((versions) => [{ query, versions }, { query, versions, since: '2025-12-03', until: '2025-12-06' }, { query, versions, exact: true }]),
    );
    const wrong = filters.flatMap((f) => {
      const expected = bruteForce(r, f);
      const pages = allPages(r, f);
      const count = countOverTime(r, f, 'day').count;
      return JSON.stringify(pages) === JSON.stringify(expected) && count === expected.length ? [] : [{ f, expected: JSON.stringify(expected), pages: JSON.stringify(pages), count }];
    });
    expect(wrong).toEqual([]);
    // The store has cases of every kind, so the comparison says something.
    for (const versions of ['removed', 'added'] as const) expect(bruteForce(r, { query: 'nato', versions }).length).toBeGreaterThan(0);
  });
});

describe('a phrase counts by its words in the query limits', () => {
  const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');

  it('a phrase of more words than allowed is refused, naming the limit, at the phrase', () => {
    const q = `nato "${words(QUERY_LIMITS.words)}"`;
    expect(() => parseQuery(q)).toThrow(QueryError);
    try {
      parseQuery(q);
    } catch (err) {
      expect((err as QueryError).position).toBe(6);
      expect((err as QueryError).message).toMatch(new RegExp(`too many words \\(${QUERY_LIMITS.words + 1}, at most ${QUERY_LIMITS.words}; a "phrase" counts each of its words\\)`));
    }
  });

  it('words and phrases add up; a word the tokenizer splits counts as its parts; the limit itself is allowed', () => {
    expect(() => parseQuery(`"${words(QUERY_LIMITS.words)}"`)).not.toThrow();
    expect(() => parseQuery(`"${words(16)}" "${words(16)}"`)).not.toThrow();
    expect(() => parseQuery(`"${words(16)}" "${words(16)}" nato`)).toThrow(/too many words \(33/);
    expect(() => parseQuery(`${words(QUERY_LIMITS.words - 1)} istanbul'da`)).toThrow(/too many words \(33/);
  });
});

describe('index lag', () => {
  it('a reader says how many manifest lines the index lacks; /search, /search/count and the status page say it', async () => {
    const root = await tempDir();
    const on = await openStorage(root);
    for (let id = 1; id <= 3; id++) await put(on, article(id, `Nato ${id}`, ['Ankara.'], '2025-12-01'), '2025-12-10T10:00:00.000Z');
    await close(on);
    expect(reader(root).lag()).toEqual({ indexedSeq: 3, manifestSeq: 3, behind: 0 });
    // A run with the index off writes 2 lines (a new article, an edit) the index never sees.
    const off = await openStorage(root, false);
    await put(off, article(4, 'Nato 4', ['Ankara.'], '2025-12-02'), '2025-12-10T11:00:00.000Z');
    await put(off, article(1, 'Nato 1', ['Ankara, İzmir.'], '2025-12-01'), '2025-12-10T12:00:00.000Z');
    const r = reader(root);
    expect(r.lag()).toEqual({ indexedSeq: 3, manifestSeq: 5, behind: 2 });
    const lag = { behind: 2, indexedSeq: 3, manifestSeq: 5 };
    expect(searchApi(() => r, '/search', new URLSearchParams({ q: 'nato' })).body).toMatchObject({ index: lag, results: [{}, {}, {}] });
    expect(searchApi(() => r, '/search/count', new URLSearchParams({ q: 'nato' })).body).toMatchObject({ index: lag, count: 3 });
    const filter = { query: 'nato' };
    const page = fullTextPage({ filter, hits: r.search(filter).hits, next: null, counts: countOverTime(r, filter, 'auto'), problem: null });
    expect(page).toContain('the index is 2 lines behind the manifest');
    await close(off);
    // The next writer start catches it up: nothing behind, nothing said.
    await close(await openStorage(root));
    const caughtUp = reader(root);
    expect(caughtUp.lag()).toEqual({ indexedSeq: 5, manifestSeq: 5, behind: 0 });
    expect(fullTextPage({ filter, hits: [], next: null, counts: countOverTime(caughtUp, filter, 'auto'), problem: null })).not.toContain('behind the manifest');
  });
});

describe('the schema version', () => {
  it('an index of an earlier schema is refused by readers and rebuilt, prefix indexes and all, by the next writer start, keeping its block boundaries', async () => {
    const root = await tempDir();
    const storage = await openStorage(root);
    // The snapshot joins the blocks ("yaptıRusya"): only the index it replaces knows where they part.
    await put(storage, article(1, 'Birlik', ['Görüşme yaptı', 'Rusya verdi.'], '2025-12-01'), '2025-12-10T10:00:00.000Z');
    await close(storage);
    const db = new Database(join(root, SEARCH_FILE));
    db.pragma(`user_version = ${SEARCH_SCHEMA_VERSION - 1}`);
    db.close();
    expect(() => SearchReader.open(root)).toThrow(SearchUnavailable);
    const again = await openStorage(root);
    expect(again.repaired.searchIndex).toEqual({ rebuilt: `it has schema ${SEARCH_SCHEMA_VERSION - 1}, this newsnap writes ${SEARCH_SCHEMA_VERSION}`, lines: 1, versions: 1 });
    await close(again);
    const r = reader(root);
    const sql = (r.db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'fts'`).get() as { sql: string }).sql;
    expect(sql).toContain("prefix='3'");
    expect(r.search({ query: 'bir*' }).hits.map((h) => h.id)).toEqual(['1']);
    expect(r.search({ query: 'rusya yaptı' }).hits.map((h) => h.id)).toEqual(['1']);
  });
});
