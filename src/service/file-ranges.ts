import type { FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import parseRange from 'range-parser';
import { notModified } from './http-send.js';

/**
 * Sends an opened file, answering a Range request with 206 and just those bytes (RFC 9110), as
 * replay tools read a WACZ: the zip's directory at its end, then each record by its offset. One
 * range per request (several are answered with the whole file, which RFC 9110 allows); a range
 * past the end is 416. HEAD gets the headers alone; If-None-Match naming `etag` gets 304. `etag`
 * lets a reader check that ranges it joins come from the same file (If-Range). The file is read
 * through the descriptor the caller opened: a package evicted (unlinked) meanwhile, or at a
 * stop, is still read whole. The handle is closed here, whatever happens.
 */
export async function sendFile(req: IncomingMessage, res: ServerResponse, file: FileHandle, headers: Record<string, string>, etag?: string): Promise<void> {
  let streaming = false;
  try {
    const { size } = await file.stat();
    if (etag && req.headers['if-none-match'] === etag) return notModified(res, etag);
    const base: Record<string, string> = { 'accept-ranges': 'bytes', ...(etag ? { etag } : {}), ...headers };
    const header = req.headers.range;
    const ifRange = req.headers['if-range'];
    const ranges = header && (!ifRange || ifRange === etag) ? parseRange(size, header, { combine: true }) : null;
    if (ranges === -1) {
      res.writeHead(416, { ...base, 'content-range': `bytes */${size}` });
      res.end();
      return;
    }
    const one = Array.isArray(ranges) && ranges.type === 'bytes' && ranges.length === 1 ? ranges[0] : null;
    const start = one ? one.start : 0;
    const end = one ? one.end : size - 1;
    res.writeHead(one ? 206 : 200, { ...base, 'content-length': String(Math.max(0, end - start + 1)), ...(one ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}) });
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    streaming = true;
    // The stream closes the handle when it ends or is destroyed.
    await pipeline(file.createReadStream({ start, end }), res).catch((err: NodeJS.ErrnoException) => {
      // A reader that has what it wanted closes early: not a failure.
      if (err.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw err;
    });
  } finally {
    if (!streaming) await file.close().catch(() => undefined);
  }
}
