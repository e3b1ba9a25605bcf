import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Article } from '../src/extract/article.js';
import { extractArticle } from '../src/extract/extract-article.js';
import { renderMarked } from '../src/search/highlight.js';
import { QUERY_LIMITS, QueryError, parseQuery, toFts5 } from '../src/search/query.js';
import { sputnikTurkiye } from '../src/site/profile.js';
import { formatSnapshot } from '../src/snapshot/format.js';
import { countOverTime } from '../src/storage/search/count-over-time.js';
import { SearchReader, type SearchFilter } from '../src/storage/search/search-reader.js';
import { Storage } from '../src/storage/storage.js';
import { verifyStorage } from '../src/storage/verify.js';
import { REFERENCE_CASES } from './helpers/paths.js';
import { readManifest, tempDir } from './helpers/storage.js';

const SITE = 'Sputnik Türkiye';
const opened: Array<Storage | SearchReader> = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
});

function article(id: number, title: string, blocks: string[], date = '2025-12-15', description?: string): Article {
  const url = `https://anlatilaninotesi.com.tr/${date.replace(/-/g, '')}/haber-${id}.html`;
  return { id: String(id), url, date, title, siteName: SITE, ...(description ? { description } : {}), body: blocks.join(''), blocks };
}

async function openStorage(root: string, saved: Array<{ name: string; query: string }> = []): Promise<Storage> {
  const s = await Storage.open(root, { search: { index: true, siteName: SITE, saved } });
  opened.push(s);
  return s;
}

/** Writes a version through the storage's own commit (the crawl's path): new, or an edit of the current one. */
async function put(storage: Storage, a: Article, capturedAt = '2025-12-15T12:00:00.000Z'): Promise<void> {
  const known = storage.state.articles.get(a.id);
  const previous = known?.sha256 && known.path && known.capturedAt ? { sha256: known.sha256, path: known.path, capturedAt: known.capturedAt } : null;
  await storage.commit({ event: previous ? 'updated' : 'new', article: a, text: formatSnapshot(a), capturedAt, previous });
}

function reader(root: string): SearchReader {
  const r = SearchReader.open(root);
  opened.push(r);
  return r;
}

const ids = (r: SearchReader, query: string, f: Omit<SearchFilter, 'query'> = {}) => r.search({ query, ...f }, { limit: 100 }).hits.map((h) => Number(h.id)).sort();

/** Fixed texts: every spelling the queries must reach, and words next to them that must not be reached. */
const GOLDEN = [
  article(1, "İstanbul'da IŞIK gösterisi", ['Erdoğan 16 ikili görüşme yaptı', 'Rusya Dışişleri Bakanı Lavrov açıklama yaptı.'], '2025-12-15', 'Gece boyunca süren gösteri'),
  article(2, 'Ilık bir sabah', ['Hava ılık geçecek.']),
  article(3, 'Kemik iliği bağışı', ['İLİK nakli için bağışçı aranıyor.']),
  article(4, 'Seçimler yaklaşıyor', ['Seçimde yeni dönem.', 'SEÇİM kampanyası başladı.']),
  article(5, "Ankara'da hava güneşli", ['Işıklar söndü.']),
  article(6, "Isparta'da kar", ['İspanya maçı ertelendi.']),
];

describe('the search index: Turkish done right', () => {
  it('a golden set of queries: every form finds every variant, nothing unrelated matches; exact mode keeps ı and i apart', async () => {
    const root = await tempDir();
    const storage = await openStorage(root);
    for (const a of GOLDEN) await put(storage, a);
    const r = reader(root);
    const cases: Array<[string, number[], Omit<SearchFilter, 'query'>?]> = [
      ...['istanbul', 'İSTANBUL', 'İstanbul', 'ISTANBUL', "istanbul'da"].map((q) => [q, [1]] as [string, number[]]),
      ...['ışık', 'IŞIK', 'isik', 'Işık', 'ISIK'].map((q) => [q, [1]] as [string, number[]]),
      ['ışık*', [1, 5]],
      ...['erdogan', 'Erdoğan', 'ERDOĞAN', 'erdoğan'].map((q) => [q, [1]] as [string, number[]]),
      // The heading and the paragraph after it, joined "yaptıRusya" in the snapshot, are two words here.
      ['yaptı', [1]],
      ['rusya', [1]],
      ['"ikili görüşme"', [1]],
      ['"görüşme yaptı"', [1]],
      ...['ılık', 'ilik', 'ILIK', 'İLİK'].map((q) => [q, [2, 3]] as [string, number[]]),
      ['ılık', [2], { exact: true }],
      ['ILIK', [2], { exact: true }],
      ['Ilık', [2], { exact: true }],
      ['ilik', [3], { exact: true }],
      ['İLİK', [3], { exact: true }],
      ['isik', [], { exact: true }],
      ['ışık', [1], { exact: true }],
      ...['seçim*', 'secim*', 'SEÇİM*', 'seçim'].map((q) => [q, [4]] as [string, number[]]),
      ['title:ışık', [1]],
      ['body:ışık', []],
      ['body:rusya', [1]],
      ['title:rusya', []],
      ['description:gösteri', [1]],
      ['istanbul OR ılık', [1, 2, 3]],
      ['hava NOT ılık', [5]],
      ['(ılık OR ilik) AND bağış*', [3]],
      // "iliği" is not "ilik" (nor is it ilik*: k softens to ğ); iliğ* finds it.
      ['title:(ılık OR seçim*)', [2, 4]],
      ['title:(ılık OR ilik*)', [2]],
      ['title:(ılık OR iliğ*)', [2, 3]],
    ];
    const wrong = cases.map(([q, want, f]) => ({ q, f, want, got: ids(r, q, f) })).filter((c) => JSON.stringify(c.got) !== JSON.stringify(c.want));
    expect(wrong).toEqual([]);
  });

  it('highlights and snippets come from the original text, not the folded one', async () => {
    const root = await tempDir();
    const storage = await openStorage(root);
    for (const a of GOLDEN) await put(storage, a);
    const r = reader(root);
    const mark = (m: Parameters<typeof renderMarked>[0]) => renderMarked(m, '«', '»');
    const [istanbul] = r.search({ query: 'istanbul' }).hits;
    expect(mark(istanbul!.title)).toBe("«İstanbul»'da IŞIK gösterisi");
    const [isik] = r.search({ query: 'isik' }).hits;
    expect(mark(isik!.title)).toBe("İstanbul'da «IŞIK» gösterisi");
    const [rusya] = r.search({ query: 'erdogan rusya' }).hits;
    expect(mark(rusya!.snippet)).toBe('«Erdoğan» 16 ikili görüşme yaptı «Rusya» Dışişleri Bakanı Lavrov açıklama yaptı.');
    const [ilik] = r.search({ query: 'İLİK', exact: true }).hits;
    expect(mark(ilik!.snippet)).toBe('«İLİK» nakli için bağışçı aranıyor.');
  });

  it('the reference page: its blocks reach the index apart, so "yaptı" and "Rusya" are found where the snapshot has "yaptıRusya"; the snapshot keeps its bytes', async () => {
    const c = REFERENCE_CASES[0]!;
    const result = extractArticle(readFileSync(c.page, 'utf8'), c.url, sputnikTurkiye);
    if (!result.ok) throw new Error(result.message);
    expect(Buffer.from(formatSnapshot(result.article)).equals(readFileSync(c.expected))).toBe(true);
    expect(result.article.blocks!.join('')).toBe(result.article.body);
    expect(result.article.body).toContain('görüşme yaptıRusya Dışişleri');
    const root = await tempDir();
    const storage = await openStorage(root);
    await put(storage, result.article);
    const r = reader(root);
    expect(ids(r, '"görüşme yaptı"')).toEqual([Number(c.id)]);
    expect(ids(r, '"Rusya Dışişleri"')).toEqual([Number(c.id)]);
    expect(ids(r, 'yaptırusya')).toEqual([]);
  });
});

describe('versions', () => {
  it('an edit that removes a word: versions=removed finds the article (its earlier version), the current-only search no longer does; added is the other way round', async () => {
    const root = await tempDir();
    const storage = await openStorage(root);
    await put(storage, article(7, 'Toplantı', ['NATO zirvesi yapıldı.']), '2025-12-15T10:00:00.000Z');
    await put(storage, article(8, 'Başka', ['NATO toplantısı.']), '2025-12-15T10:00:00.000Z');
    await put(storage, article(7, 'Toplantı', ['Zirve yapıldı.']), '2025-12-15T11:00:00.000Z');
    const r = reader(root);
    expect(ids(r, 'nato')).toEqual([8]);
    expect(ids(r, 'nato', { versions: 'removed' })).toEqual([7]);
    const [removed] = r.search({ query: 'nato', versions: 'removed' }).hits;
    expect(removed).toMatchObject({ id: '7', version: 1, versions: 2, current: false, capturedAt: '2025-12-15T10:00:00.000Z' });
    expect(ids(r, 'nato', { versions: 'any' })).toEqual([7, 8]);
    expect(ids(r, 'zirve', { versions: 'added' })).toEqual([7]);
    expect(ids(r, 'yapıldı', { versions: 'added' })).toEqual([]);
    expect(ids(r, 'yapıldı', { versions: 'removed' })).toEqual([]);
    // A removal marks the article gone; its versions stay searchable.
    await storage.commitGone({ id: '8', url: article(8, '', []).url, date: '2025-12-15', path: storage.state.articles.get('8')!.path!, sha256: storage.state.articles.get('8')!.sha256!, bytes: 1, capturedAt: '2025-12-15T12:00:00.000Z', reason: 'HTTP 410' });
    expect(r.search({ query: 'nato' }).hits.map((h) => [h.id, h.gone])).toEqual([['8', true]]);
  });

  it('pages of a result follow their cursor: newest published first, no article twice, none left out', async () => {
    const root = await tempDir();
    const storage = await openStorage(root);
    for (let i = 0; i < 25; i++) await put(storage, article(100 + i, `Ortak başlık ${i}`, ['Ortak metin.'], `2025-12-${String(1 + i).padStart(2, '0')}`));
    const r = reader(root);
    const seen: string[] = [];
    let after: string | undefined;
    const sizes: number[] = [];
    for (;;) {
      const page = r.search({ query: 'ortak' }, { limit: 10, ...(after ? { after } : {}) });
      sizes.push(page.hits.length);
      seen.push(...page.hits.map((h) => h.published));
      if (!page.next) break;
      after = page.next;
    }
    expect(sizes).toEqual([10, 10, 5]);
    expect(seen).toEqual([...seen].sort().reverse());
    expect(new Set(seen).size).toBe(25);
    expect(r.search({ query: 'ortak', since: '2025-12-10', until: '2025-12-12' }).hits.map((h) => h.published)).toEqual(['2025-12-12', '2025-12-11', '2025-12-10']);
  });

  it('counts over time: matching articles per day, week and month beside all published, with the ratio', async () => {
    const root = await tempDir();
    const storage = await openStorage(root);
    const days = ['2025-11-28', '2025-12-01', '2025-12-01', '2025-12-02', '2025-12-09'];
    for (const [i, d] of days.entries()) await put(storage, article(200 + i, `Haber ${i}`, [i % 2 === 0 ? 'Akkuyu santrali.' : 'Başka konu.'], d));
    const r = reader(root);
    const week = countOverTime(r, { query: 'akkuyu' }, 'week');
    expect(week.buckets.map((b) => [b.date, b.count, b.total])).toEqual([
      ['2025-11-24', 1, 1],
      ['2025-12-01', 1, 3],
      ['2025-12-08', 1, 1],
    ]);
    expect([week.count, week.total, week.ratio]).toEqual([3, 5, 0.6]);
    const month = countOverTime(r, { query: 'akkuyu' }, 'month');
    expect(month.buckets.map((b) => [b.date, b.count, b.total, b.ratio])).toEqual([
      ['2025-11-01', 1, 1, 1],
      ['2025-12-01', 2, 4, 0.5],
    ]);
    const day = countOverTime(r, { query: 'akkuyu', since: '2025-12-01', until: '2025-12-03' }, 'day');
    expect(day.buckets.map((b) => [b.date, b.count, b.total])).toEqual([
      ['2025-12-01', 1, 2],
      ['2025-12-02', 0, 1],
      ['2025-12-03', 0, 0],
    ]);
  });
});

describe('saved searches', () => {
  it('a version that matches, or an edit that removes a match, carries the saved searches\' names on its manifest line', async () => {
    const root = await tempDir();
    const storage = await openStorage(root, [
      { name: 'nato', query: 'NATO' },
      { name: 'kırım', query: 'Kırım OR "Kırım yarımadası"' },
    ]);
    await put(storage, article(300, 'Kırım', ['NATO ve Kırım.']), '2025-12-15T10:00:00.000Z');
    await put(storage, article(300, 'Kırım', ['Yalnız Kırım.']), '2025-12-15T11:00:00.000Z');
    await put(storage, article(301, 'Hava', ['Güneşli.']), '2025-12-15T11:00:00.000Z');
    await put(storage, article(302, 'KIRIM', ['kirim haberi']), '2025-12-15T11:00:00.000Z');
    const lines = await readManifest(root);
    expect(lines.map((l) => [l.id, l.event, l.matches])).toEqual([
      ['300', 'new', ['nato', 'kırım']],
      // NATO left the text: the edit is news to the "nato" search too.
      ['300', 'updated', ['nato', 'kırım']],
      ['301', 'new', undefined],
      ['302', 'new', ['kırım']],
    ]);
  });
});

const MANY_WORDS = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');

describe('hostile queries', () => {
  it('very long, unbalanced quotes or parentheses, NEAR, a lone *, dangling operators: a QueryError naming the position, before anything reaches SQLite', () => {
    const refused: Array<[string, number, RegExp]> = [
      ['a'.repeat(10_000), QUERY_LIMITS.characters + 1, /too long \(10000 characters/],
      ['nato "kırım', 6, /quote is never closed/],
      ['"', 1, /quote is never closed/],
      ['NEAR(nato kırım)', 1, /NEAR is not supported/],
      ['nato NEAR kırım', 6, /NEAR is not supported/],
      ['*', 1, /needs at least 3 letters/],
      ['s*', 1, /needs at least 3 letters/],
      ['se*', 1, /needs at least 3 letters/],
      ['ana* bak* can* dün* eko*', 21, /too many prefixes \(5 words with \*, at most 4\)/],
      ['na*to', 3, /\* only ends a word/],
      ['(nato OR kırım', 1, /\( is never closed/],
      ['nato)', 5, /\) closes no \(/],
      ['nato OR', 6, /OR needs a word/],
      ['NOT nato', 1, /NOT needs something before it/],
      ['AND nato', 1, /AND needs/],
      ['()', 1, /an empty/],
      ['title:', 1, /title: needs a word/],
      ['title: nato', 1, /title: needs a word/],
      ['foo:bar', 1, /unknown field "foo:"/],
      ['title:(body:nato)', 1, /a field inside title/],
      ['', 1, /nothing to search/],
      ['  & – ', 6, /nothing to search/],
      ['"  "', 1, /nothing to search between these quotes/],
      [MANY_WORDS, MANY_WORDS.indexOf('w32') + 1, /too many words/],
      [`${'('.repeat(20)}nato${')'.repeat(20)}`, 13, /nested too deep/],
    ];
    const outcome = (q: string) => {
      try {
        parseQuery(q);
        return 'parsed';
      } catch (err) {
        return err instanceof QueryError ? { position: err.position, message: err.message } : String(err);
      }
    };
    const wrong = refused
      .map(([q, position, re]) => ({ q: q.slice(0, 40), position, re: String(re), got: outcome(q) }))
      .filter((c) => typeof c.got === 'string' || c.got.position !== c.position || !new RegExp(c.re.slice(1, -1)).test(c.got.message));
    expect(wrong).toEqual([]);
  });

  it('what reaches FTS5 is quoted and grouped, whatever the user typed: no FTS5 syntax of theirs gets through', () => {
    // AND binds closer than OR; NOT is AND's kind (a NOT b: a without b); each field holds its group.
    expect(toFts5(parseQuery('İSTANBUL "ikili görüşme" seçim* OR title:(NATO OR kırım) NOT body:ılık'), 'folded')).toBe(
      '((("iSTANBUL" AND "ikili görüşme") AND "seçim" *) OR (title : ("NATO" OR "kirim") NOT body : "ilik"))',
    );
    expect(toFts5(parseQuery('İLİK ILIK'), 'exact')).toBe('("iLiK" AND "ıLıK")');
    // Characters FTS5 would read as syntax stay inside the quoted strings; a quote in a word is doubled.
    expect(toFts5(parseQuery(`a^b x+y -z {q}: o'"x y"`), 'folded')).toBe(`((((("a^b" AND "x+y") AND "-z") AND "{q}:") AND "o'") AND "x y")`);
  });

  it('a hostile query on an index: refused the same way; the biggest query allowed is answered', async () => {
    const root = await tempDir();
    const storage = await openStorage(root);
    for (const a of GOLDEN) await put(storage, a);
    const r = reader(root);
    expect(() => r.search({ query: 'nato "kırım' })).toThrow(QueryError);
    // The most words, as many of them prefixes as allowed, each as short as allowed.
    const widest = Array.from({ length: QUERY_LIMITS.words }, (_, i) => `${'abcdefghijklmnopqrstuvwxyzçğışöü'[i]}en${i < QUERY_LIMITS.prefixes ? '*' : ''}`).join(' OR ');
    expect(Array.isArray(r.search({ query: widest, versions: 'removed' }).hits)).toBe(true);
    expect(ids(r, 'ısp*')).toEqual([6]);
  });
});

describe('the index beside state', () => {
  it('opening catches it up from the manifest when a run wrote versions with it off, and builds it when it is missing', async () => {
    const root = await tempDir();
    const off = await Storage.open(root, { search: { index: false, siteName: SITE } });
    for (const a of GOLDEN.slice(0, 3)) await put(off, a);
    await off.close();
    const storage = await openStorage(root);
    expect(storage.repaired.searchIndex).toEqual({ rebuilt: 'it did not exist', lines: 3, versions: 3 });
    for (const a of GOLDEN.slice(3)) await put(storage, a);
    await storage.close();
    opened.splice(opened.indexOf(storage), 1);
    const r = reader(root);
    expect(r.stats()).toEqual({ versions: 6, articles: 6, current: 6, seq: 6 });
    expect(ids(r, 'istanbul OR ılık OR seçim*')).toEqual([1, 2, 3, 4]);
  });

  it('a damaged index file never stops a writer: it is set aside and built again from the manifest and the files', async () => {
    const root = await tempDir();
    const first = await openStorage(root);
    for (const a of GOLDEN) await put(first, a);
    await first.close();
    opened.splice(opened.indexOf(first), 1);
    writeFileSync(join(root, 'search.sqlite'), 'this is not a database, it was overwritten');
    const storage = await openStorage(root);
    expect(storage.repaired.searchIndex).toEqual({ rebuilt: 'it could not be read (SQLITE_NOTADB)', lines: 6, versions: 6 });
    await put(storage, article(9, 'Yeni', ['İzmir haberi.']));
    expect(ids(reader(root), 'izmir OR istanbul')).toEqual([1, 9]);
  });

  it('an index that cannot be opened is off for that run and never stops the writer; the next start catches it up and verify is whole', async () => {
    const root = await tempDir();
    const first = await openStorage(root);
    for (const a of GOLDEN.slice(0, 2)) await put(first, a);
    await first.close();
    opened.splice(opened.indexOf(first), 1);
    // Its write-ahead log cannot be opened: SQLite refuses the index (SQLITE_CANTOPEN).
    const wal = join(root, 'search.sqlite-wal');
    rmSync(wal, { force: true });
    mkdirSync(wal);
    const storage = await openStorage(root);
    expect(storage.repaired.searchIndex?.failed).toMatch(/unable to open|SQLITE_CANTOPEN/i);
    for (const a of GOLDEN.slice(2)) await put(storage, a);
    expect(storage.health.current()).toEqual([]);
    expect(storage.state.articles.get(GOLDEN.at(-1)!.id)?.sha256).toBeTruthy();
    await storage.close();
    opened.splice(opened.indexOf(storage), 1);
    rmSync(wal, { recursive: true });
    const again = await openStorage(root);
    expect(again.repaired.searchIndex).toEqual({ rebuilt: null, lines: GOLDEN.length - 2, versions: GOLDEN.length - 2 });
    await again.close();
    opened.splice(opened.indexOf(again), 1);
    expect(reader(root).stats()).toEqual({ versions: 6, articles: 6, current: 6, seq: 6 });
    expect((await verifyStorage(root, { searchIndex: true })).problems).toEqual([]);
  });

  it('a catch-up stopped short leaves the lines after it to the next start: a new version never moves the watermark past missing lines', async () => {
    const root = await tempDir();
    const off = await Storage.open(root, { search: { index: false, siteName: SITE } });
    for (const a of GOLDEN.slice(0, 3)) await put(off, a);
    await off.close();
    const stopped = new AbortController();
    stopped.abort();
    const storage = await Storage.open(root, { search: { index: true, siteName: SITE, signal: stopped.signal } });
    opened.push(storage);
    expect(storage.repaired.searchIndex).toEqual({ rebuilt: 'it did not exist', lines: 0, versions: 0 });
    await put(storage, GOLDEN[3]!);
    await storage.close();
    opened.splice(opened.indexOf(storage), 1);
    expect(reader(root).stats().seq).toBe(0);
    const again = await openStorage(root);
    expect(again.repaired.searchIndex).toEqual({ rebuilt: null, lines: 4, versions: 4 });
    await again.close();
    opened.splice(opened.indexOf(again), 1);
    expect((await verifyStorage(root, { searchIndex: true })).problems).toEqual([]);
    expect(ids(reader(root), 'istanbul OR ılık OR seçim*')).toEqual([1, 2, 3, 4]);
  });
});
