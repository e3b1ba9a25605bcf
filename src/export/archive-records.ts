import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { WARC_DIR } from '../warc/warc-files.js';
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

/** The WARC files of the archive that are closed, in the order they were written. */
export function closedWarcFiles(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(root, WARC_DIR));
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.warc.gz')).sort();
}

export interface ArchiveScan {
  root: string;
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
 * The records of wanted URLs in every closed WARC file, in file order (so an original comes
 * before the revisits that refer to it). Files still being written (`.open`) are left out: their
 * last record may be half written. Yields to the event loop every few hundred members, so that
 * serve goes on answering while it builds an export.
 */
export async function* archiveRecords(scan: ArchiveScan): AsyncGenerator<ArchiveRecord> {
  const files = closedWarcFiles(scan.root);
  let members = 0;
  let bytes = 0;
  for (const [i, name] of files.entries()) {
    const file = `${WARC_DIR}/${name}`;
    for (const m of warcMembers(join(scan.root, file))) {
      if (++members % 256 === 0) await yieldToLoop();
      if (m.kind === 'damage') {
        scan.onDamage(file, m.offset, m.reason);
        continue;
      }
      bytes += m.length;
      const record = parseWarcRecord(m.data);
      if (typeof record === 'string') {
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
