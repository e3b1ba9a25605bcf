import { closeSync } from 'node:fs';
import { join } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import { openWarcFile, readMemberAt } from '../warc/warc-reader.js';
import { archiveFiles, archiveRecords, type ArchiveFile } from './archive-records.js';
import { cdxjLine } from './cdxj.js';
import { chosenArticles, EMPTY_PACKAGE_TIME, exportRecords, type ExportScope } from './export.js';
import { ExportSpill, type SpilledRecord } from './export-spill.js';
import { LineSort } from './line-sort.js';
import { StagedFile } from './staged-file.js';
import { writeDatapackage, writeZip } from './wacz-package.js';
import { WarcCopier } from './warc-copy.js';

export interface WaczOptions extends ExportScope {
  /** The `.wacz` file to write (whole or not at all). */
  out: string;
  /** A folder of the caller's for the parts and the spill database (the caller removes it). */
  staging: string;
  /** WARC file name prefix (archive.prefix) and the size at which a new file begins. */
  prefix: string;
  maxFileBytes: number;
  software: string;
  /** What to read; default: archiveFiles() now. */
  files?: readonly ArchiveFile[];
  onProgress?: (p: WaczProgress) => void;
}

export interface WaczProgress {
  phase: 'archive' | 'copy' | 'pages' | 'index' | 'zip';
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
  /** The package's time: its newest capture's (UTC ISO). */
  created: string;
}

/** Records of an article that go into the package: each exchange whole, and its rendered DOM. */
const COPIED = new Set(['response', 'revisit', 'request', 'conversion']);
const INDEXED = new Set(['response', 'revisit']);

/**
 * A WACZ 1.1.1 of the chosen articles. The package holds new WARC files with just their records
 * (every version, every revisit and the original it refers to, requests and rendered DOMs),
 * copied member by member from the archive, rather than whole archive files: an export of one
 * day or one article stays that size, not the size of the files its records happen to share.
 *
 * Two passes over the archive, as it was at the start (the file being written up to its last
 * whole record): the first finds the records and keeps where they are in a spill database, the
 * second copies them. So the package's every time (its `created`, its WARC files' names and
 * warcinfo dates, the zip's entry times) is the newest capture's, known before anything is
 * written: the same archive gives the same bytes, whenever it is exported. Memory is bounded by
 * the spill database and the index sort's runs, whatever the selection.
 */
export async function writeWacz(o: WaczOptions): Promise<WaczResult> {
  const spill = new ExportSpill(o.staging);
  try {
    for (const a of chosenArticles(o.state, o)) spill.addUrl(a.url);
    const articles = spill.urls;
    await findRecords(o, spill);
    const created = new Date(spill.newest() ?? EMPTY_PACKAGE_TIME).toISOString();
    const index = new LineSort(o.staging);
    const copied = await copyRecords(o, spill, created, index);
    const pages = await writePages(o, spill);
    o.onProgress?.({ phase: 'index', done: 0, of: copied.indexed, records: copied.records });
    const cdxj = await StagedFile.create(join(o.staging, 'indexes/index.cdxj'), 'indexes/index.cdxj');
    for await (const line of index.drain()) await cdxj.write(Buffer.concat([line, NEWLINE]));
    const parts = [pages.part, await cdxj.close(), ...copied.files];
    const range = o.ids ? `articles ${[...o.ids].join(', ')}` : o.since || o.until ? `articles of ${o.since ?? 'the first day'} to ${o.until ?? 'the last day'}` : 'all articles';
    const meta = await writeDatapackage(o.staging, parts, {
      title: `${o.siteName}: ${range}`,
      description: `Every archived capture of ${articles} ${o.siteName} article(s) (${range}), each version and each revisit, as newsnap archived them; one page per version in pages/pages.jsonl.`,
      created,
      software: o.software,
      ...(pages.first ? { mainPageUrl: pages.first.url, mainPageDate: pages.first.ts } : {}),
    });
    const bytes = await writeZip(o.out, [...parts, ...meta], new Date(created), (done) => o.onProgress?.({ phase: 'zip', done, of: 0, records: copied.records }));
    return { articles, pages: pages.count, records: copied.records, indexed: copied.indexed, bytes, created };
  } finally {
    spill.close();
  }
}

const NEWLINE = Buffer.from('\n');

/** First pass: where the records of the chosen URLs are (their bytes are read again when copied). */
async function findRecords(o: WaczOptions, spill: ExportSpill): Promise<void> {
  let records = 0;
  const scan = archiveRecords({
    root: o.root,
    files: o.files ?? archiveFiles(o.root),
    wants: (url) => spill.hasUrl(url),
    types: COPIED,
    onDamage: (file, offset, reason) => o.onProblem(`${file}#${offset}`, `${reason}: left out (newsnap verify says more)`),
    onFile: (done, of) => o.onProgress?.({ phase: 'archive', done, of, records }),
  });
  for await (const r of scan) {
    spill.addRecord(r);
    records++;
  }
}

/** Second pass: copies the records found into new WARC files; indexes responses and revisits. */
async function copyRecords(o: WaczOptions, spill: ExportSpill, created: string, index: LineSort) {
  const copier = new WarcCopier(join(o.staging, 'archive'), {
    prefix: o.prefix,
    stamp: created.replace(/\D/g, '').slice(0, 17),
    date: created,
    maxFileBytes: o.maxFileBytes,
    info: { software: o.software, format: 'WARC File Format 1.1', description: `records copied unchanged from the newsnap archive of ${o.siteName}` },
  });
  let records = 0;
  let indexed = 0;
  let open = null as { file: string; fd: number } | null;
  try {
    for (const r of spill.records()) {
      if (open?.file !== r.file) {
        if (open) closeSync(open.fd);
        open = { file: r.file, fd: openWarcFile(o.root, r.file) };
      }
      const member = readMemberAt(open.fd, r);
      const changed = memberChange(member, r);
      if (changed) {
        o.onProblem(`${r.file}#${r.offset}`, `${changed} since the export read it: left out (newsnap verify says more)`);
        continue;
      }
      const at = await copier.append(member);
      if (++records % 1000 === 0) o.onProgress?.({ phase: 'copy', done: records, of: 0, records });
      // A 304 holds no page: it stays in the WARC file, but replay at its time shows the nearest whole capture.
      if (!INDEXED.has(r.type) || r.status === 304) continue;
      spill.see(r.url);
      indexed++;
      await index.add(cdxjLine({ url: r.url, date: r.date, mime: r.mime, status: r.status, digest: r.payloadDigest, offset: at.offset, length: r.length, filename: at.filename }));
    }
  } finally {
    if (open) closeSync(open.fd);
  }
  for (const { url, refersTo } of spill.orphans()) o.onProblem(url, `has a revisit whose original (${refersTo}) is in no WARC file: that capture will not replay`);
  return { files: await copier.close(), records, indexed };
}

/** pages.jsonl: its header line, then one line per version whose URL has a capture in the package. */
async function writePages(o: WaczOptions, spill: ExportSpill) {
  const file = await StagedFile.create(join(o.staging, 'pages/pages.jsonl'), 'pages/pages.jsonl');
  await file.write(`${JSON.stringify({ format: 'json-pages-1.0', id: 'pages', title: `${o.siteName} articles` })}\n`);
  let count = 0;
  let first: { url: string; ts: string } | null = null;
  let lastId = '';
  let version = 0;
  const records = exportRecords({ ...o, versions: true });
  for await (const r of records) {
    version = r.id === lastId ? version + 1 : 1;
    lastId = r.id;
    // State read now may hold a version captured after the archive was listed: without its record, it is no page of this package.
    if (!r.capturedAt || !spill.wasSeen(r.url) || !spill.hasCapture(r.url, r.capturedAt)) continue;
    const page = { id: `${r.id}-v${version}`, url: r.url, ts: r.capturedAt, title: r.title };
    first ??= page;
    count++;
    if (count % 1000 === 0) o.onProgress?.({ phase: 'pages', done: count, of: 0, records: count });
    await file.write(`${JSON.stringify(page)}\n`);
  }
  return { part: await file.close(), count, first };
}

/** Enough of a member's start to hold its WARC headers. */
const HEAD_BYTES = 8192;

/**
 * Why the bytes at a spilled record's place are not that record any more, or null when they
 * are: the same gzip trailer (CRC32 and ISIZE) and, in the inflated start, the same
 * WARC-Record-ID. A writer that cut back a failed write (ENOSPC) writes the next exchange at
 * the same offset, and pass 2 must not copy that (or a torn part of it) as this record.
 */
function memberChange(member: Buffer, r: SpilledRecord): string | null {
  if (member[0] !== 0x1f || member[1] !== 0x8b || !member.subarray(-8).equals(r.trailer)) return 'is another gzip member';
  let head: Buffer;
  try {
    head = gunzipSync(member.subarray(0, HEAD_BYTES), { finishFlush: constants.Z_SYNC_FLUSH });
  } catch {
    return 'does not inflate';
  }
  return head.includes(`WARC-Record-ID: ${r.recordId}`) ? null : `is not the record ${r.recordId}`;
}
