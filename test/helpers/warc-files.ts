import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';
import { WARCParser } from 'warcio';

export interface ReadRecord {
  type: string;
  headers: Record<string, string>;
  /** Offset of its gzip member in the file. */
  offset: number;
  length: number;
  block: Buffer;
}

const sha = (b: Buffer | Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * Reads a .warc.gz without warcio: each gzip member by hand (RFC 1952 header, raw deflate,
 * CRC32 and size trailer checked), then the WARC record inside it (version line, headers,
 * Content-Length bytes of block, CRLF CRLF). Throws on anything that is not whole.
 */
export function readWarcByHand(path: string): ReadRecord[] {
  const file = readFileSync(path);
  const out: ReadRecord[] = [];
  let pos = 0;
  while (pos < file.length) {
    const start = pos;
    if (file[pos] !== 0x1f || file[pos + 1] !== 0x8b || file[pos + 2] !== 8) throw new Error(`${path}@${pos}: not a gzip member`);
    const flags = file[pos + 3]!;
    pos += 10;
    if (flags & 4) pos += 2 + file.readUInt16LE(pos);
    if (flags & 8) pos = file.indexOf(0, pos) + 1;
    if (flags & 16) pos = file.indexOf(0, pos) + 1;
    if (flags & 2) pos += 2;
    const { buffer: data, engine } = inflateRawSync(file.subarray(pos), { info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    pos += engine.bytesWritten;
    if (pos + 8 > file.length) throw new Error(`${path}@${start}: member without its trailer`);
    if (file.readUInt32LE(pos) !== crc32(data)) throw new Error(`${path}@${start}: CRC32 mismatch`);
    if (file.readUInt32LE(pos + 4) !== data.length % 2 ** 32) throw new Error(`${path}@${start}: size mismatch`);
    pos += 8;
    const headerEnd = data.indexOf('\r\n\r\n');
    const lines = data.subarray(0, headerEnd).toString('utf8').split('\r\n');
    if (lines[0] !== 'WARC/1.1') throw new Error(`${path}@${start}: version line ${lines[0]}`);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const length = Number(headers['content-length']);
    const block = data.subarray(headerEnd + 4, headerEnd + 4 + length);
    if (block.length !== length || data.subarray(headerEnd + 4 + length).toString() !== '\r\n\r\n') throw new Error(`${path}@${start}: record not whole`);
    out.push({ type: headers['warc-type'] ?? '', headers, offset: start, length: pos - start, block: Buffer.from(block) });
  }
  return out;
}

export interface WarcioRecord {
  type: string;
  id: string;
  targetUri: string | null;
  concurrentTo: string[];
  payload: Buffer;
  payloadDigestOk: boolean;
  blockDigestOk: boolean;
  offset: number;
  headers: Record<string, string>;
}

/**
 * Reads a .warc.gz with warcio's own reader, record by record, checking each digest: the
 * payload's (with HTTP parsing) and the block's (the whole record body, without). A revisit
 * carries no payload: its payload digest must be that of the response it refers to, found in
 * `originals` (record id → payload digest), which the responses read are added to, so files read
 * in order check revisits that refer to an earlier file.
 */
export async function readWarcWithWarcio(path: string, originals = new Map<string, string>()): Promise<WarcioRecord[]> {
  const blocks: Buffer[] = [];
  for await (const record of WARCParser.iterRecords(createReadStream(path), { parseHttp: false })) blocks.push(Buffer.from(await record.readFully(false)));
  const out: WarcioRecord[] = [];
  const parser = new WARCParser(createReadStream(path));
  let i = 0;
  for await (const record of parser) {
    const payload = Buffer.from(await record.readFully(false));
    const block = blocks[i++]!;
    const headers: Record<string, string> = {};
    for (const [k, v] of record.warcHeaders.headers as Map<string, string>) headers[k.toLowerCase()] = v;
    out.push({
      type: record.warcType,
      id: record.warcHeader('WARC-Record-ID') ?? '',
      targetUri: record.warcTargetURI ?? null,
      concurrentTo: record.warcConcurrentTo ?? [],
      payload,
      // warcinfo records carry no digests (warcio writes none); a record without a payload (a
      // request, a 304) no payload digest; every other record must carry both.
      payloadDigestOk:
        record.warcType === 'revisit'
          ? payload.length === 0 && record.warcPayloadDigest !== undefined && originals.get(record.warcHeader('WARC-Refers-To') ?? '') === record.warcPayloadDigest
          : record.warcPayloadDigest
            ? record.warcPayloadDigest === sha(payload)
            : record.warcType === 'warcinfo' || payload.length === 0,
      blockDigestOk: record.warcBlockDigest ? record.warcBlockDigest === sha(block) : record.warcType === 'warcinfo',
      offset: parser.offset,
      headers,
    });
    if (record.warcType === 'response' && record.warcPayloadDigest) originals.set(record.warcHeader('WARC-Record-ID') ?? '', record.warcPayloadDigest);
  }
  return out;
}
