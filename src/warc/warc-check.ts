import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';
import { httpParts, parseWarcRecord } from './warc-record.js';

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

/** Bytes of a file that do not read back as records: where, how many, and why. */
export interface WarcDamage {
  offset: number;
  length: number;
  reason: string;
}

/** Largest gzip member newsnap writes: a page under http.maxBytes, and its headers (with room). */
const MAX_MEMBER = 96 * 1024 * 1024;
const FIRST_READ = 1024 * 1024;
const READ_AHEAD = 8 * 1024 * 1024;
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b, 0x08]);

/**
 * Reads a `.warc.gz` file record by record without holding it: each gzip member is inflated
 * natively (header, raw deflate, CRC32 and size in its trailer), the WARC record inside is parsed
 * (version line, headers, Content-Length bytes of block, CRLF CRLF), and its `WARC-Block-Digest`
 * and `WARC-Payload-Digest` are compared with SHA-256 of the bytes. Calls `onRecord` for each
 * whole record. Bytes that do not read back are skipped to the next whole member (one flipped
 * byte costs one record, not the rest of the file); each such stretch, and a torn end, is
 * returned as damage.
 */
export function checkWarcFile(path: string, onRecord: (record: CheckedRecord) => void): WarcDamage[] {
  const fd = openSync(path, 'r');
  const damage: WarcDamage[] = [];
  try {
    const size = fstatSync(fd).size;
    let window = Buffer.alloc(0);
    let windowAt = 0;
    // The bytes from `at` on, at least `want` of them (or up to the end): a window read ahead
    // several members at a time, read again only when a member runs past it.
    const load = (at: number, want: number): Buffer => {
      const need = Math.min(want, size - at);
      if (at >= windowAt && at + need <= windowAt + window.length) return window.subarray(at - windowAt);
      const length = Math.min(Math.max(need, READ_AHEAD), size - at);
      window = Buffer.allocUnsafe(length);
      let read = 0;
      while (read < length) {
        const n = readSync(fd, window, read, length - read, at + read);
        if (n === 0) break;
        read += n;
      }
      window = window.subarray(0, read);
      windowAt = at;
      return window;
    };
    /** The member at `at`, its window grown until it fits (or the file ends). */
    const memberAt = (at: number): Member => {
      for (let want = FIRST_READ; ; want *= 4) {
        const bytes = load(at, want);
        const parsed = parseMember(bytes);
        if (parsed.ok || !parsed.short || at + bytes.length >= size || want >= MAX_MEMBER) return parsed;
      }
    };
    let pos = 0;
    while (pos < size) {
      const member = memberAt(pos);
      if (member.ok) {
        const record = parseRecord(member.data);
        if (typeof record === 'string') damage.push({ offset: pos, length: member.length, reason: record });
        else onRecord({ offset: pos, length: member.length, ...record });
        pos += member.length;
        continue;
      }
      // Not a whole member here: the next one that is, if any, is where reading goes on.
      const next = nextWholeMember(pos, size, load, memberAt);
      damage.push({ offset: pos, length: (next ?? size) - pos, reason: member.reason });
      if (next === null) break;
      pos = next;
    }
    return damage;
  } finally {
    closeSync(fd);
  }
}

/** The offset of the next gzip member after `from` that reads back whole, or null. */
function nextWholeMember(from: number, size: number, load: (at: number, want: number) => Buffer, memberAt: (at: number) => Member): number | null {
  let at = from + 1;
  while (at < size && at - from < MAX_MEMBER) {
    const bytes = load(at, READ_AHEAD);
    const i = bytes.indexOf(GZIP_MAGIC);
    if (i < 0) {
      at += Math.max(1, bytes.length - GZIP_MAGIC.length + 1);
      continue;
    }
    if (memberAt(at + i).ok) return at + i;
    at += i + 1;
  }
  return null;
}

type Member = { ok: true; length: number; data: Buffer } | { ok: false; short: boolean; reason: string };

/** One gzip member (RFC 1952) at the start of `bytes`. */
function parseMember(bytes: Buffer): Member {
  if (bytes.length < 18) return { ok: false, short: true, reason: 'a gzip member cut off (torn record)' };
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b || bytes[2] !== 8) return { ok: false, short: false, reason: 'not a gzip member (garbage, or a torn record)' };
  const flags = bytes[3] as number;
  let at = 10;
  if (flags & 4) at += 2 + bytes.readUInt16LE(at);
  if (flags & 8) at = bytes.indexOf(0, at) + 1;
  if (flags & 16) at = bytes.indexOf(0, at) + 1;
  if (flags & 2) at += 2;
  if (at <= 0 || at > bytes.length) return { ok: false, short: true, reason: 'a gzip header cut off (torn record)' };
  let data: Buffer;
  let consumed: number;
  try {
    const out = inflateRawSync(bytes.subarray(at), { info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    data = out.buffer;
    consumed = out.engine.bytesWritten;
  } catch (err) {
    const short = /unexpected end/i.test((err as Error).message);
    return { ok: false, short, reason: short ? 'a gzip member cut off (torn record)' : `a gzip member that does not inflate (${(err as Error).message})` };
  }
  const trailer = at + consumed;
  if (trailer + 8 > bytes.length) return { ok: false, short: true, reason: 'a gzip member without its trailer (torn record)' };
  if (bytes.readUInt32LE(trailer) !== crc32(data)) return { ok: false, short: false, reason: 'a gzip member whose CRC32 does not match (damaged bytes)' };
  if (bytes.readUInt32LE(trailer + 4) !== data.length % 2 ** 32) return { ok: false, short: false, reason: 'a gzip member whose size does not match (damaged bytes)' };
  return { ok: true, length: trailer + 8, data };
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
