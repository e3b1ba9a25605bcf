import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { WARCRecord, WARCSerializer } from 'warcio';
import { nowIso } from '../clock/clock.js';
import type { WarcLocation, ExchangeRecorder, HttpExchange, RenderedPage } from '../fetch/exchange.js';
import { fsyncDir } from '../disk/atomic-file.js';
import { StorageError } from '../disk/storage-error.js';
import { writeFully } from '../disk/write-fully.js';
import { OPEN_SUFFIX, WARC_DIR } from './warc-files.js';
import { repairOpenFiles } from './warc-repair.js';

const gzipAsync = promisify(gzip);
const EMPTY = Buffer.alloc(0);

function sha256Of(...parts: Buffer[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return `sha256:${hash.digest('hex')}`;
}

export interface WarcOptions {
  /** File name prefix: `<prefix>-<17-digit timestamp>-<serial>.warc.gz`. */
  prefix: string;
  /** A file is closed and a new one begun once it would pass this size. */
  maxFileBytes: number;
  /** zlib level of each record's gzip member (1 = fastest). */
  gzipLevel: number;
  /** The `warcinfo` record that opens every file (software, operator, origin, …). */
  info: Record<string, string>;
}

const EMPTY_PAYLOAD_DIGEST = Buffer.from(`WARC-Payload-Digest: ${sha256Of(EMPTY)}\r\n`);

/**
 * A record without a payload (a request, a 304) carries no payload digest: the digest of nothing
 * names nothing, and its 90 incompressible bytes on each request were a third of what a revisit
 * run adds to the archive. warcio writes one whatever it is told, so the line is taken out of the
 * WARC headers (the block and its Content-Length are untouched).
 */
function withoutEmptyPayloadDigest(raw: Uint8Array): Buffer {
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const headersEnd = bytes.indexOf('\r\n\r\n');
  const at = bytes.indexOf(EMPTY_PAYLOAD_DIGEST);
  if (at < 0 || at > headersEnd) return bytes;
  return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + EMPTY_PAYLOAD_DIGEST.length)]);
}

/** The record that archived a URL's payload last: what a revisit record refers to. */
export interface ArchivedPayload {
  /** `sha256:<hex>` of the payload, as its WARC-Payload-Digest says. */
  digest: string;
  /** WARC-Record-ID of the response record. */
  recordId: string;
  /** Its WARC-Date. */
  date: string;
  at: WarcLocation;
}

/** Where the last payload of each URL was archived (state keeps it across runs). */
export interface PayloadIndex {
  last(url: string): ArchivedPayload | null;
  remember(url: string, payload: ArchivedPayload): void;
}

/** Who hears whether records go through: the storage's health record. */
export interface WriteWatcher {
  failed(error: StorageError): void;
  ok(): void;
}

const NAME = /^(?<prefix>.+)-(?<stamp>\d{17})-(?<serial>\d{5,})\.warc\.gz(?:\.open)?$/;

interface OpenFile {
  name: string;
  handle: FileHandle;
  size: number;
}

/**
 * The raw archive: every HTTP exchange (a `response` record and its `request`, linked by
 * `WARC-Concurrent-To`) and the DOM of every browser render (a `conversion` record referring to
 * the document's response), in WARC/1.1 written by warcio, one gzip member per record. A file
 * being written ends in `.open` and is renamed when it closes (at `maxFileBytes`, or when the
 * writer closes); `open()` first repairs what a killed run left. Appends are serialized, each
 * member in one write, so records of one exchange stay together.
 */
export class WarcWriter implements ExchangeRecorder {
  private current: OpenFile | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private serial: number;
  private failure: StorageError | null = null;
  /** Records being serialized or compressed: not in the append chain yet, but close() must wait for them. */
  private readonly pending = new Set<Promise<unknown>>();
  private closing = false;
  /** Files closed whose rename to their final name is still to be done. */
  private readonly unrenamed: string[] = [];

  private constructor(
    private readonly root: string,
    private readonly options: WarcOptions,
    lastSerial: number,
    /** What `open()` repaired: files a killed run left open. */
    readonly repaired: string[],
    /** The last archived payload of each URL; without it every response is written whole. */
    private readonly payloads: PayloadIndex | null,
    private readonly watcher: WriteWatcher | null,
  ) {
    this.serial = lastSerial;
  }

  /** Opens the archive folder, closing (repaired) any file a killed run left `.open`. */
  static async open(root: string, options: WarcOptions, payloads: PayloadIndex | null = null, watcher: WriteWatcher | null = null): Promise<WarcWriter> {
    const dir = join(root, WARC_DIR);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw StorageError.from(err, dir, 'create folder');
    }
    const repaired = await repairOpenFiles(dir);
    let last = -1;
    for (const name of await readdir(dir)) {
      const serial = NAME.exec(name)?.groups?.serial;
      if (serial) last = Math.max(last, Number(serial));
    }
    return new WarcWriter(root, options, last, repaired, payloads, watcher);
  }

  /**
   * A response is written whole, unless its payload is the one last archived for its URL: then
   * a `revisit` record (profile identical-payload-digest) keeps its headers and refers to the
   * record holding the payload, and that record's location is returned, so whoever reads the page
   * back reads it there. Its request is written either way.
   */
  recordExchange(exchange: HttpExchange): Promise<WarcLocation | null> {
    return this.guard(async () => {
      const digest = sha256Of(exchange.body);
      const original = exchange.status === 200 && exchange.body.length > 0 ? this.payloads?.last(exchange.url) : null;
      const revisit = original?.digest === digest ? original : null;
      const response = WARCRecord.create(
        {
          url: exchange.url,
          date: exchange.at,
          type: revisit ? 'revisit' : 'response',
          warcVersion: 'WARC/1.1',
          statusline: `HTTP/1.1 ${exchange.status} ${exchange.statusText}`.trimEnd(),
          httpHeaders: exchange.responseHeaders,
          ...(revisit ? { refersToUrl: exchange.url, refersToDate: revisit.date } : {}),
          warcHeaders: {
            ...(exchange.decodedFrom ? { 'WARC-Payload-Decoded-From': exchange.decodedFrom } : {}),
            ...(revisit ? { 'WARC-Refers-To': revisit.recordId } : {}),
          },
        },
        revisit ? [] : [exchange.body],
      );
      const responseId = response.warcHeader('WARC-Record-ID') as string;
      const request = WARCRecord.create(
        {
          url: exchange.url,
          date: exchange.at,
          type: 'request',
          warcVersion: 'WARC/1.1',
          statusline: exchange.requestLine,
          httpHeaders: exchange.requestHeaders,
          warcHeaders: { 'WARC-Concurrent-To': responseId },
        },
        [],
      );
      const [first] = await this.append([await this.member(response, revisit ? EMPTY : exchange.body, digest), await this.member(request, EMPTY)]);
      if (revisit) return revisit.at;
      if (this.payloads && exchange.status === 200 && exchange.body.length > 0) {
        this.payloads.remember(exchange.url, { digest, recordId: responseId, date: exchange.at, at: first as WarcLocation });
      }
      return first as WarcLocation;
    });
  }

  recordRendered(page: RenderedPage, refersTo?: WarcLocation | null): Promise<WarcLocation | null> {
    return this.guard(async () => {
      const record = WARCRecord.create(
        {
          url: page.url,
          date: page.at,
          type: 'conversion',
          warcVersion: 'WARC/1.1',
          warcHeaders: {
            'Content-Type': 'text/html; charset=utf-8',
            'WARC-Newsnap-Kind': 'rendered-dom',
            ...(refersTo ? { 'WARC-Newsnap-Refers-To-Offset': `${refersTo.file}#${refersTo.offset}` } : {}),
          },
        },
        [Buffer.from(page.html, 'utf8')],
      );
      const [at] = await this.append([await this.member(record, Buffer.from(page.html, 'utf8'))]);
      return at as WarcLocation;
    });
  }

  /** Waits for every pending record, closes the current file (fsync, rename); throws the first failure. */
  async close(): Promise<void> {
    this.closing = true;
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    await this.chain;
    await this.closeCurrent();
    if (this.failure) throw this.failure;
  }

  /**
   * One record serialized by warcio, compressed as a gzip member of its own (off the main
   * thread). Its digests are computed here with Node's native SHA-256 (4× faster than warcio's
   * WebAssembly one): warcio keeps digests a record already has. The block is the HTTP head as
   * warcio writes it, then the payload; the tests check every digest against the bytes.
   */
  private async member(record: WARCRecord, payload: Buffer | null, payloadDigest?: string): Promise<Buffer> {
    if (payload) {
      const head = record.httpHeaders ? Buffer.from(`${record.httpHeaders.toString()}\r\n`, 'utf8') : EMPTY;
      // A revisit's block is the head alone; its payload digest names the original's payload.
      record.warcHeaders.headers.set('WARC-Payload-Digest', payloadDigest ?? sha256Of(payload));
      record.warcHeaders.headers.set('WARC-Block-Digest', sha256Of(head, payload));
    }
    const raw = withoutEmptyPayloadDigest(await WARCSerializer.serialize(record, { gzip: false }));
    return gzipAsync(raw, { level: this.options.gzipLevel });
  }

  private append(members: Buffer[]): Promise<WarcLocation[]> {
    const next = this.chain.then(async () => {
      const total = members.reduce((n, m) => n + m.length, 0);
      if (this.current && this.current.size > 0 && this.current.size + total > this.options.maxFileBytes) await this.closeCurrent();
      const file = this.current ?? (await this.begin());
      const out: WarcLocation[] = [];
      let offset = file.size;
      for (const m of members) {
        out.push({ file: `${WARC_DIR}/${file.name}`, offset, length: m.length });
        offset += m.length;
      }
      try {
        await writeFully(file.handle, members.length === 1 ? (members[0] as Buffer) : Buffer.concat(members, total), file.size);
      } catch (err) {
        await this.cutBack(file);
        throw err;
      }
      file.size = offset;
      return out;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** A new file: `<prefix>-<17-digit timestamp>-<serial>.warc.gz.open`, its `warcinfo` record first. */
  private async begin(): Promise<OpenFile> {
    this.serial++;
    // YYYYMMDDHHMMSSmmm, the 17-digit timestamp Heritrix and Browsertrix put in their names.
    const stamp = nowIso().replace(/\D/g, '').slice(0, 17);
    const name = `${this.options.prefix}-${stamp}-${String(this.serial).padStart(5, '0')}.warc.gz`;
    const path = join(this.root, WARC_DIR, name + OPEN_SUFFIX);
    const handle = await open(path, 'wx', 0o644);
    try {
      const info = WARCRecord.createWARCInfo({ filename: name, date: nowIso(), warcVersion: 'WARC/1.1' }, this.options.info);
      const first = await this.member(info, null);
      await writeFully(handle, first, 0);
      this.current = { name, handle, size: first.length };
      return this.current;
    } catch (err) {
      // A file without its whole warcinfo record holds nothing: it goes.
      await handle.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Closes the current file: synced, then renamed from `.open` to the name its records' locations
   * give. A file whose rename failed (a full disk) is renamed at the next close; its handle is
   * closed either way.
   */
  private async closeCurrent(): Promise<void> {
    const file = this.current;
    this.current = null;
    const dir = join(this.root, WARC_DIR);
    let failure: unknown = null;
    if (file) {
      this.unrenamed.push(file.name);
      await file.handle.sync().catch((err: unknown) => (failure = err));
      await file.handle.close().catch(() => undefined);
    }
    try {
      if (failure) throw failure;
      while (this.unrenamed.length > 0) {
        const name = this.unrenamed[0] as string;
        await rename(join(dir, name + OPEN_SUFFIX), join(dir, name));
        this.unrenamed.shift();
      }
      await fsyncDir(dir);
    } catch (err) {
      throw StorageError.from(err, join(dir, this.unrenamed[0] ?? ''), 'close WARC file');
    }
  }

  /**
   * After a failed write, the file is cut back to its last whole record, so every later offset
   * is right. If even that fails, the file is left as it is (`.open`, its torn tail cut by the
   * next start) and the next record begins a new file.
   */
  private async cutBack(file: OpenFile): Promise<void> {
    try {
      await file.handle.truncate(file.size);
    } catch {
      if (this.current === file) this.current = null;
      await file.handle.close().catch(() => undefined);
    }
  }

  /**
   * A record that cannot be written is logged by the storage's health record and kept as the
   * failure `close()` reports, until a later record goes through (the disk freed): the crawl
   * goes on meanwhile. Once closing, nothing more is taken: a file opened then would never be
   * closed.
   */
  private guard(work: () => Promise<WarcLocation>): Promise<WarcLocation | null> {
    if (this.closing) return Promise.resolve(null);
    const job = work().then(
      (at) => {
        this.failure = null;
        this.watcher?.ok();
        return at;
      },
      (err: unknown) => {
        const failure = StorageError.from(err, join(this.root, WARC_DIR), 'write the web archive in');
        this.failure = failure;
        this.watcher?.failed(failure);
        return null;
      },
    );
    this.pending.add(job);
    void job.finally(() => this.pending.delete(job));
    return job;
  }
}

/** The `warcinfo` fields newsnap writes. */
export function warcInfo(o: { userAgent: string; site: string; origin: string }): Record<string, string> {
  return {
    software: 'newsnap/0.2 (warcio.js)',
    format: 'WARC File Format 1.1',
    conformsTo: 'https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/',
    hostname: hostname(),
    'http-header-user-agent': o.userAgent,
    robots: 'obey',
    isPartOf: o.site,
    ...(o.origin ? { 'newsnap-origin': `requests went to ${o.origin}; WARC-Target-URI names the ${o.site} URL each stood for` } : {}),
  };
}
