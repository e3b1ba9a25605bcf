import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import parseRange from 'range-parser';

/**
 * Sends a file, answering a Range request with 206 and just those bytes (RFC 9110), as replay
 * tools read a WACZ: the zip's directory at its end, then each record by its offset. One range
 * per request (several are answered with the whole file, which RFC 9110 allows); a range past
 * the end is 416. HEAD gets the headers alone. `etag` lets a reader check that ranges it joins
 * come from the same file (If-Range).
 */
export async function sendFile(req: IncomingMessage, res: ServerResponse, path: string, headers: Record<string, string>, etag?: string): Promise<void> {
  const { size } = await stat(path);
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
  await pipeline(createReadStream(path, { start, end }), res).catch((err: NodeJS.ErrnoException) => {
    // A reader that has what it wanted closes early: not a failure.
    if (err.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw err;
  });
}
