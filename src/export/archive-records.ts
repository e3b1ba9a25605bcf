import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { sizeOf } from '../storage/storage-repair.js';
import { OPEN_SUFFIX, WARC_DIR } from '../warc/warc-files.js';
import { openWarcFile } from '../warc/warc-reader.js';
import { warcMembers } from '../warc/warc-members.js';
import { httpParts, parseWarcRecord } from '../warc/warc-record.js';

/** One record of the archive that belongs to an exported article, with what the indexes say of it. */
export interface ArchiveRecord {
  /** Its file, relative to the storage folder (`warc/<name>`). */
  file: string;
  offset: number;
  length: number;
  /** Its gzip member as the file holds it: copied as it is, so every digest stays true. */
  raw: Buffer;
  type: string;
  url: string;
  /** WARC-Date (UTC ISO). */
  date: string;
  recordId: string;
  /** WARC-Refers-To of a revisit: the record holding its payload. */
  refersTo: string | null;
  /** `sha256:<hex>` of the payload, as WARC-Payload-Digest says. */
  payloadDigest: string | null;
  /** HTTP status of a response or revisit. */
  status: number | null;
  /** Media type (no parameters): the HTTP Content-Type of a response, `warc/revisit` for a revisit, the record's own for others. */
  mime: string | null;
}

/** A WARC file as an export found it when it began: how far it reads it. */
export interface ArchiveFile {
  /** Relative to the storage folder, by its final name (`warc/<name>.warc.gz`), `.open` or not. */
  file: string;
  /** Its size then: bytes appended after are not read. */
  size: number;
  /** Still being written then (its last record may be torn). */
  open: boolean;
}

/**
 * Every WARC file of the archive, closed or still being written, in the order they were written
 * (by name: a prefix, a timestamp and a serial), each with its size now. An export takes this
 * once, at its start, and reads no further: so it holds every capture made before it began
 * (the open file's too), and a record appended meanwhile is never half read.
 */
export function archiveFiles(root: string): ArchiveFile[] {
  let names: string[];
  try {
    names = readdirSync(join(root, WARC_DIR));
  } catch {
    return [];
  }
  const files: ArchiveFile[] = [];
  for (const name of names) {
    const open = name.endsWith(`.warc.gz${OPEN_SUFFIX}`);
    if (!open && !name.endsWith('.warc.gz')) continue;
    const final = open ? name.slice(0, -OPEN_SUFFIX.length) : name;
    // Closed (renamed from `.open`) between the listing and now: it is read by its final name, whole.
    const asListed = sizeOf(join(root, WARC_DIR, name));
    const size = asListed ?? (open ? sizeOf(join(root, WARC_DIR, final)) : null);
    if (size === null) continue;
    files.push({ file: `${WARC_DIR}/${final}`, size, open: open && asListed !== null });
  }
  return files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : Number(a.open) - Number(b.open))).filter((f, i, all) => all[i - 1]?.file !== f.file);
}

export interface ArchiveScan {
  root: string;
  /** What to read (archiveFiles() at the export's start). */
  files: readonly ArchiveFile[];
  /** Whether records of this URL are wanted. */
  wants: (url: string) => boolean;
  /** Record types wanted (the warcinfo of a file never is). */
  types: ReadonlySet<string>;
  /** Bytes that do not read back as records: said, and the scan goes on. */
  onDamage: (file: string, offset: number, reason: string) => void;
  /** After each file: how many files are done, of how many. */
  onFile?: (done: number, of: number, bytes: number) => void;
}

/**
 * The records of wanted URLs in the given WARC files, in file order (so an original comes before
 * the revisits that refer to it). A file being written is read up to its size at the export's
 * start, and there up to its last whole record (a gzip member whose CRC and size hold, and that
 * parses as a record): a record cut by that size is being appended, not damage. Yields to the
 * event loop every few hundred members, so that a process building an export goes on answering.
 */
export async function* archiveRecords(scan: ArchiveScan): AsyncGenerator<ArchiveRecord> {
  const files = scan.files;
  let members = 0;
  let bytes = 0;
  for (const [i, { file, size, open }] of files.entries()) {
    // Up to `size`: under its `.open` name, or its final one when it was closed since.
    for (const m of warcMembers(openWarcFile(scan.root, file), size)) {
      if (++members % 256 === 0) await yieldToLoop();
      if (m.kind === 'damage') {
        // The open file's torn end is the record being written when the export began.
        if (!(open && m.offset + m.length >= size)) scan.onDamage(file, m.offset, m.reason);
        continue;
      }
      bytes += m.length;
      const record = parseWarcRecord(m.data);
      if (typeof record === 'string') {
        // A whole member (its CRC and size hold) that is no record is damage, at the open file's end too: only a torn member is being appended.
        scan.onDamage(file, m.offset, record);
        continue;
      }
      const { headers } = record;
      const type = headers.get('warc-type') ?? '';
      const url = headers.get('warc-target-uri');
      if (!url || !scan.types.has(type) || !scan.wants(url)) continue;
      const http = type === 'response' || type === 'revisit' ? httpParts(record) : null;
      const contentType = type === 'revisit' ? 'warc/revisit' : ((http ? http.headers.get('content-type') : headers.get('content-type')) ?? null);
      yield {
        file,
        offset: m.offset,
        length: m.length,
        raw: m.raw,
        type,
        url,
        date: headers.get('warc-date') ?? '',
        recordId: headers.get('warc-record-id') ?? '',
        refersTo: headers.get('warc-refers-to') ?? null,
        payloadDigest: headers.get('warc-payload-digest') ?? null,
        status: http?.status ?? null,
        mime: contentType ? (contentType.split(';')[0] as string).trim() : null,
      };
    }
    scan.onFile?.(i + 1, files.length, bytes);
  }
}
