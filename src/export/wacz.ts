import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { archiveRecords } from './archive-records.js';
import { cdxjLine } from './cdxj.js';
import { chosenArticles, exportRecords, type ExportScope } from './export.js';
import { LineSort } from './line-sort.js';
import { StagedFile } from './staged-file.js';
import { writeDatapackage, writeZip } from './wacz-package.js';
import { WarcCopier } from './warc-copy.js';

export interface WaczOptions extends ExportScope {
  /** The `.wacz` file to write (whole or not at all). */
  out: string;
  /** WARC file name prefix (archive.prefix) and the size at which a new file begins. */
  prefix: string;
  maxFileBytes: number;
  /** Now (UTC ISO), from newsnap's clock: the package's creation time and its files' mtime. */
  now: string;
  software: string;
  onProgress?: (p: WaczProgress) => void;
}

export interface WaczProgress {
  phase: 'archive' | 'pages' | 'index' | 'zip';
  /** archive: WARC files read, of how many; zip: bytes written. */
  done: number;
  of: number;
  records: number;
}

export interface WaczResult {
  articles: number;
  /** Lines of pages.jsonl (one per version whose capture is in the package). */
  pages: number;
  /** Records copied (responses, revisits, requests, rendered DOMs) and lines of the index. */
  records: number;
  indexed: number;
  bytes: number;
}

/** Records of an article that go into the package: each exchange whole, and its rendered DOM. */
const COPIED = new Set(['response', 'revisit', 'request', 'conversion']);
const INDEXED = new Set(['response', 'revisit']);

/**
 * A WACZ 1.1.1 of the chosen articles. The package holds new WARC files with just their records
 * (every version, every revisit and the original it refers to, requests and rendered DOMs),
 * copied member by member from the archive, rather than whole archive files: an export of one
 * day or one article stays that size, not the size of the files its records happen to share.
 * Parts are staged in a folder beside `out` (hashed as they are written), then zipped; memory
 * stays bounded (the index is sorted in runs on disk past 32 MB).
 */
export async function writeWacz(o: WaczOptions): Promise<WaczResult> {
  const staging = await mkdtemp(join(dirname(o.out), '.newsnap-wacz-'));
  try {
    const urls = new Set<string>();
    for (const a of chosenArticles(o.state, o)) urls.add(a.url);
    const index = new LineSort(staging);
    const copied = await copyRecords(o, staging, urls, index);
    const pages = await writePages(o, staging, copied.seen);
    o.onProgress?.({ phase: 'index', done: 0, of: copied.indexed, records: copied.records });
    const cdxj = await StagedFile.create(join(staging, 'indexes/index.cdxj'), 'indexes/index.cdxj');
    for await (const line of index.drain()) await cdxj.write(Buffer.concat([line, NEWLINE]));
    const parts = [pages.part, await cdxj.close(), ...copied.files];
    const range = o.ids ? `articles ${[...o.ids].join(', ')}` : o.since || o.until ? `articles of ${o.since ?? 'the first day'} to ${o.until ?? 'the last day'}` : 'all articles';
    const meta = await writeDatapackage(staging, parts, {
      title: `${o.siteName}: ${range}`,
      description: `Every archived capture of ${urls.size} ${o.siteName} article(s) (${range}), each version and each revisit, as newsnap archived them; one page per version in pages/pages.jsonl.`,
      created: o.now,
      software: o.software,
      ...(pages.first ? { mainPageUrl: pages.first.url, mainPageDate: pages.first.ts } : {}),
    });
    const bytes = await writeZip(o.out, [...parts, ...meta], new Date(o.now), (done) => o.onProgress?.({ phase: 'zip', done, of: 0, records: copied.records }));
    return { articles: urls.size, pages: pages.count, records: copied.records, indexed: copied.indexed, bytes };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

const NEWLINE = Buffer.from('\n');

/** Copies the records of the chosen URLs into new WARC files; indexes responses and revisits. */
async function copyRecords(o: WaczOptions, staging: string, urls: Set<string>, index: LineSort) {
  const stamp = o.now.replace(/\D/g, '').slice(0, 17);
  const copier = new WarcCopier(join(staging, 'archive'), {
    prefix: o.prefix,
    stamp,
    date: o.now,
    maxFileBytes: o.maxFileBytes,
    info: { software: o.software, format: 'WARC File Format 1.1', description: `records copied unchanged from the newsnap archive of ${o.siteName}` },
  });
  const originals = new Set<string>();
  const refersTo = new Map<string, string>();
  const seen = new Set<string>();
  let records = 0;
  let indexed = 0;
  const scan = archiveRecords({
    root: o.root,
    wants: (url) => urls.has(url),
    types: COPIED,
    onDamage: (file, offset, reason) => o.onProblem(`${file}#${offset}`, `${reason}: left out (newsnap verify says more)`),
    onFile: (done, of) => o.onProgress?.({ phase: 'archive', done, of, records }),
  });
  for await (const r of scan) {
    const at = await copier.append(r.raw);
    records++;
    if (r.type === 'response') originals.add(r.recordId);
    if (r.type === 'revisit' && r.refersTo) refersTo.set(r.refersTo, r.url);
    // A 304 holds no page: it stays in the WARC file, but replay at its time shows the nearest whole capture.
    if (!INDEXED.has(r.type) || r.status === 304) continue;
    seen.add(r.url);
    indexed++;
    await index.add(cdxjLine({ url: r.url, date: r.date, mime: r.mime, status: r.status, digest: r.payloadDigest, offset: at.offset, length: r.length, filename: at.filename }));
  }
  for (const [id, url] of refersTo) {
    if (!originals.has(id)) o.onProblem(url, `has a revisit whose original (${id}) is in no closed WARC file: that capture will not replay`);
  }
  return { files: await copier.close(), seen, records, indexed };
}

/** pages.jsonl: its header line, then one line per version whose URL has a capture in the package. */
async function writePages(o: WaczOptions, staging: string, seen: Set<string>) {
  const file = await StagedFile.create(join(staging, 'pages/pages.jsonl'), 'pages/pages.jsonl');
  await file.write(`${JSON.stringify({ format: 'json-pages-1.0', id: 'pages', title: `${o.siteName} articles` })}\n`);
  let count = 0;
  let first: { url: string; ts: string } | null = null;
  let lastId = '';
  let version = 0;
  const records = exportRecords({ ...o, versions: true });
  for await (const r of records) {
    version = r.id === lastId ? version + 1 : 1;
    lastId = r.id;
    if (!seen.has(r.url) || !r.capturedAt) continue;
    const page = { id: `${r.id}-v${version}`, url: r.url, ts: r.capturedAt, title: r.title };
    first ??= page;
    count++;
    if (count % 1000 === 0) o.onProgress?.({ phase: 'pages', done: count, of: 0, records: count });
    await file.write(`${JSON.stringify(page)}\n`);
  }
  return { part: await file.close(), count, first };
}
