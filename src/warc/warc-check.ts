import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { httpParts, parseWarcRecord } from './warc-record.js';
import { parseMember, warcMembers, type WarcDamage } from './warc-members.js';

/** One record of a WARC file as the check read it back. */
export interface CheckedRecord {
  offset: number;
  /** Bytes of its gzip member. */
  length: number;
  type: string;
  targetUri: string | null;
  /** Digests that do not match the bytes, by header name (empty when all match). */
  wrongDigests: string[];
}

export type { WarcDamage };

/**
 * Reads a `.warc.gz` file record by record without holding it (see warcMembers), parses the WARC
 * record inside each member (version line, headers, Content-Length bytes of block, CRLF CRLF),
 * and compares its `WARC-Block-Digest` and `WARC-Payload-Digest` with SHA-256 of the bytes. Calls
 * `onRecord` for each whole record; what does not read back is returned as damage.
 */
export function checkWarcFile(path: string, onRecord: (record: CheckedRecord) => void): WarcDamage[] {
  const damage: WarcDamage[] = [];
  for (const m of warcMembers(path)) {
    if (m.kind === 'damage') {
      damage.push({ offset: m.offset, length: m.length, reason: m.reason });
      continue;
    }
    const record = parseRecord(m.data);
    if (typeof record === 'string') damage.push({ offset: m.offset, length: m.length, reason: record });
    else onRecord({ offset: m.offset, length: m.length, ...record });
  }
  return damage;
}

/** The WARC record in an inflated member: its type, target and digests checked; a string says what is wrong. */
function parseRecord(data: Buffer): Omit<CheckedRecord, 'offset' | 'length'> | string {
  const record = parseWarcRecord(data);
  if (typeof record === 'string') return record;
  const { headers, block } = record;
  const type = headers.get('warc-type') ?? '';
  const wrongDigests: string[] = [];
  const blockDigest = headers.get('warc-block-digest');
  if (blockDigest && blockDigest !== sha256(block)) wrongDigests.push('WARC-Block-Digest');
  // A revisit's payload digest names the original's payload, which this record does not carry.
  const payloadDigest = headers.get('warc-payload-digest');
  if (payloadDigest && type !== 'revisit' && payloadDigest !== sha256(httpParts(record)?.payload ?? block)) wrongDigests.push('WARC-Payload-Digest');
  return { type, targetUri: headers.get('warc-target-uri') ?? null, wrongDigests };
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The one record at `offset` (its gzip member `length` bytes long), checked as checkWarcFile checks each. */
export function checkWarcRecordAt(path: string, offset: number, length: number): CheckedRecord | WarcDamage {
  const fd = openSync(path, 'r');
  try {
    const bytes = Buffer.alloc(length);
    const read = readSync(fd, bytes, 0, length, offset);
    const member = parseMember(bytes.subarray(0, read));
    if (!member.ok) return { offset, length, reason: member.reason };
    if (member.length !== length) return { offset, length, reason: `a gzip member of ${member.length} bytes where state says ${length}` };
    const record = parseRecord(member.data);
    return typeof record === 'string' ? { offset, length, reason: record } : { offset, length, ...record };
  } finally {
    closeSync(fd);
  }
}
