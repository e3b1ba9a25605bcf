import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { WARCParser } from 'warcio';
import type { ArchivedAt } from '../fetch/exchange.js';
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
 * and warcio parses the record. A file still being written is found under its `.open` name.
 */
export async function readArchived(root: string, at: ArchivedAt): Promise<ArchivedPage> {
  const member = Buffer.alloc(at.length);
  const path = join(root, at.file);
  const fh = await open(path, 'r').catch(() => open(path + OPEN_SUFFIX, 'r'));
  try {
    const { bytesRead } = await fh.read(member, 0, at.length, at.offset);
    if (bytesRead !== at.length) throw new Error(`${at.file} ends before the record at ${at.offset} (${bytesRead} of ${at.length} bytes)`);
  } finally {
    await fh.close();
  }
  const record = await WARCParser.parse([gunzipSync(member)]);
  if (!record) throw new Error(`no WARC record at ${at.file}#${at.offset}`);
  const type = record.warcType;
  if (type !== 'response' && type !== 'conversion') throw new Error(`${at.file}#${at.offset} is a ${type} record, not a page`);
  const body = Buffer.from(await record.readFully(false));
  const http = record.httpHeaders;
  return {
    url: record.warcTargetURI ?? '',
    type,
    status: http ? Number(http.statusCode) : null,
    contentType: (http ? http.headers.get('content-type') : record.warcContentType) ?? null,
    body,
  };
}
