import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { WarcLocation } from '../fetch/exchange.js';
import { httpParts, parseWarcRecord } from './warc-record.js';
import { OPEN_SUFFIX } from './warc-files.js';

/** A page as the archive holds it: a response's payload, or a rendered DOM. */
export interface ArchivedPage {
  /** WARC-Target-URI: the site URL. */
  url: string;
  type: 'response' | 'conversion';
  /** HTTP status of a response. */
  status: number | null;
  /** Content-Type of the payload (the HTTP header of a response). */
  contentType: string | null;
  body: Buffer;
}

/**
 * Reads the one record at `at`, without scanning the file: its gzip member is inflated natively
 * into one buffer of the size its trailer gives (no growing and joining of pieces), and the
 * record's parts are views into it. A file still being written is found under its `.open` name.
 * The file is read synchronously: this runs in reextract's worker threads, where blocking holds
 * up no one, and a hand-off to libuv's pool would take CPU from the other workers.
 */
export function readArchived(root: string, at: WarcLocation): ArchivedPage {
  const fd = openWarcFile(root, at.file);
  let member: Buffer;
  try {
    member = readMemberAt(fd, at);
  } finally {
    closeSync(fd);
  }
  const record = parseWarcRecord(inflateMember(member));
  if (typeof record === 'string') throw new Error(`${at.file}#${at.offset}: ${record}`);
  const type = record.headers.get('warc-type');
  if (type !== 'response' && type !== 'conversion') throw new Error(`${at.file}#${at.offset} is a ${type} record, not a page`);
  const http = httpParts(record);
  return {
    url: record.headers.get('warc-target-uri') ?? '',
    type,
    status: http ? http.status : null,
    contentType: (http ? http.headers.get('content-type') : record.headers.get('content-type')) ?? null,
    body: http ? http.payload : record.block,
  };
}

/**
 * Opens `file` (`warc/<name>`, its final name) for reading: a file still being written is found
 * under its `.open` name; one closed in between (renamed) under its final name again.
 */
export function openWarcFile(root: string, file: string): number {
  const path = join(root, file);
  try {
    return openSync(path, 'r');
  } catch {
    try {
      return openSync(path + OPEN_SUFFIX, 'r');
    } catch {
      return openSync(path, 'r');
    }
  }
}

/** The gzip member at `at` of an open file, as the file holds it. */
export function readMemberAt(fd: number, at: Pick<WarcLocation, 'file' | 'offset' | 'length'>): Buffer {
  const member = Buffer.alloc(at.length);
  const bytesRead = readSync(fd, member, 0, at.length, at.offset);
  if (bytesRead !== at.length) throw new Error(`${at.file} ends before the record at ${at.offset} (${bytesRead} of ${at.length} bytes)`);
  return member;
}

/** Larger than any record newsnap writes (a page under http.maxBytes): a trailer saying more is damaged. */
const MAX_INFLATED = 256 * 1024 * 1024;

function inflateMember(member: Buffer): Buffer {
  // The trailer's ISIZE is the inflated size (mod 2^32, and records are far smaller).
  const size = member.length >= 18 ? member.readUInt32LE(member.length - 4) : 0;
  return size > 0 && size < MAX_INFLATED ? gunzipSync(member, { chunkSize: Math.max(size + 1, 64) }) : gunzipSync(member);
}
