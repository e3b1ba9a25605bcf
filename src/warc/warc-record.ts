/**
 * The parts of one inflated WARC record, read natively: `verify` checks every record of a file
 * this way, and `reextract` reads each page so, without a stream parser's copies.
 */
export interface WarcRecordParts {
  /** Named headers, lower-cased names. */
  headers: Map<string, string>;
  /** The Content-Length bytes after the headers (a view into the record). */
  block: Buffer;
}

/** The record's version line, headers and block; a string says what is wrong with it. */
export function parseWarcRecord(data: Buffer): WarcRecordParts | string {
  const headerEnd = data.indexOf('\r\n\r\n');
  if (headerEnd < 0) return 'a WARC record without the end of its headers';
  const lines = data.subarray(0, headerEnd).toString('utf8').split('\r\n');
  if (!/^WARC\/1\.[01]$/.test(lines[0] ?? '')) return `a record whose first line is not a WARC version (${JSON.stringify((lines[0] ?? '').slice(0, 40))})`;
  const headers = headerMap(lines.slice(1));
  const length = Number(headers.get('content-length'));
  const block = data.subarray(headerEnd + 4, headerEnd + 4 + length);
  if (!Number.isInteger(length) || block.length !== length || data.subarray(headerEnd + 4 + length).toString('latin1') !== '\r\n\r\n') return 'a WARC record whose block is not Content-Length bytes';
  return { headers, block };
}

/** An HTTP message in a record's block: its status (of a response) and headers, and its payload. */
export interface HttpParts {
  status: number | null;
  headers: Map<string, string>;
  payload: Buffer;
}

/** The block as an HTTP message when the record says it is one (`application/http`), else null. */
export function httpParts(record: WarcRecordParts): HttpParts | null {
  if (!/^application\/http\b/i.test(record.headers.get('content-type') ?? '')) return null;
  const { block } = record;
  const bodyAt = block.indexOf('\r\n\r\n');
  if (bodyAt < 0) return { status: null, headers: new Map(), payload: Buffer.alloc(0) };
  const lines = block.subarray(0, bodyAt).toString('latin1').split('\r\n');
  const status = /^HTTP\/[\d.]+ (\d{3})/.exec(lines[0] ?? '')?.[1];
  return { status: status ? Number(status) : null, headers: headerMap(lines.slice(1)), payload: block.subarray(bodyAt + 4) };
}

function headerMap(lines: string[]): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of lines) {
    const i = line.indexOf(':');
    // A repeated header keeps its first value, as the single values newsnap reads expect.
    if (i > 0) {
      const name = line.slice(0, i).trim().toLowerCase();
      if (!headers.has(name)) headers.set(name, line.slice(i + 1).trim());
    }
  }
  return headers;
}
