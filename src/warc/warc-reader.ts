import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { WARCParser } from 'warcio';
import type { WarcLocation } from '../fetch/exchange.js';
import { OPEN_SUFFIX } from './warc-writer.js';

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
 * and warcio parses the record. A file still being written is found under its `.open` name. The
 * file is read synchronously: this runs in reextract's worker threads, where blocking holds up
 * no one, and a hand-off to libuv's pool would take CPU from the other workers.
 */
export async function readArchived(root: string, at: WarcLocation): Promise<ArchivedPage> {
  const member = Buffer.alloc(at.length);
  const path = join(root, at.file);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    fd = openSync(path + OPEN_SUFFIX, 'r');
  }
  try {
    const bytesRead = readSync(fd, member, 0, at.length, at.offset);
    if (bytesRead !== at.length) throw new Error(`${at.file} ends before the record at ${at.offset} (${bytesRead} of ${at.length} bytes)`);
  } finally {
    closeSync(fd);
  }
  const record = await WARCParser.parse([gunzipSync(member)]);
  if (!record) throw new Error(`no WARC record at ${at.file}#${at.offset}`);
  const type = record.warcType;
  if (type !== 'response' && type !== 'conversion') throw new Error(`${at.file}#${at.offset} is a ${type} record, not a page`);
  const payload = await record.readFully(false);
  // A view, not a copy: 230 KB a page adds up in the workers' garbage collection.
  const body = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const http = record.httpHeaders;
  return {
    url: record.warcTargetURI ?? '',
    type,
    status: http ? Number(http.statusCode) : null,
    contentType: (http ? http.headers.get('content-type') : record.warcContentType) ?? null,
    body,
  };
}
