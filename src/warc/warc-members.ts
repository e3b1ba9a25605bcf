import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';

/** Bytes of a file that do not read back as records: where, how many, and why. */
export interface WarcDamage {
  offset: number;
  length: number;
  reason: string;
}

/** One whole gzip member of a `.warc.gz` file. */
export interface WarcMember {
  offset: number;
  /** Bytes of the member in the file. */
  length: number;
  /** The member as the file holds it (a view, valid until the next member is read). */
  raw: Buffer;
  /** What it inflates to: one WARC record. */
  data: Buffer;
}

/** What reading a file gives, in file order: whole members, and stretches that are not. */
export type MemberOrDamage = ({ kind: 'member' } & WarcMember) | ({ kind: 'damage' } & WarcDamage);

/** Largest gzip member newsnap writes: a page under http.maxBytes, and its headers (with room). */
const MAX_MEMBER = 96 * 1024 * 1024;
const FIRST_READ = 1024 * 1024;
const READ_AHEAD = 8 * 1024 * 1024;
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b, 0x08]);

/**
 * Reads a `.warc.gz` file member by member without holding it: each gzip member is inflated
 * natively (header, raw deflate, CRC32 and size in its trailer). Bytes that do not read back are
 * skipped to the next whole member (one flipped byte costs one record, not the rest of the
 * file); each such stretch, and a torn end, is given as damage. A generator, so that a caller on
 * a busy event loop (serve) can yield between members; the file is closed when it stops.
 * `upTo` reads only that many bytes from the start (a file still being written, read as far as it
 * was when an export began: bytes appended since are never looked at, so a record half written
 * then is a torn end, not a record). `source` is a path, or a descriptor opened for it (the
 * generator closes it: see openWarcFile() for a file that may be renamed meanwhile).
 */
export function* warcMembers(source: string | number, upTo?: number): Generator<MemberOrDamage> {
  const fd = typeof source === 'number' ? source : openSync(source, 'r');
  try {
    const size = Math.min(fstatSync(fd).size, upTo ?? Number.POSITIVE_INFINITY);
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
        yield { kind: 'member', offset: pos, length: member.length, raw: load(pos, member.length).subarray(0, member.length), data: member.data };
        pos += member.length;
        continue;
      }
      // Not a whole member here: the next one that is, if any, is where reading goes on.
      const next = nextWholeMember(pos, size, load, memberAt);
      yield { kind: 'damage', offset: pos, length: (next ?? size) - pos, reason: member.reason };
      if (next === null) break;
      pos = next;
    }
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

export type Member = { ok: true; length: number; data: Buffer } | { ok: false; short: boolean; reason: string };

/** One gzip member (RFC 1952) at the start of `bytes`. */
export function parseMember(bytes: Buffer): Member {
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
