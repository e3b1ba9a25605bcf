import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Exporter, ExportSelection, ExportSite } from '../export/exporters.js';
import { manifestBytes, type ExportTask, type ExportTaskData, type ExportTaskResult } from '../export/export-task.js';
import { OutputStalled, writeWithRoom } from '../export/stream-room.js';
import type { Logger } from '../log/logger.js';
import { ChildPool, TaskAborted, TaskFailed } from '../threads/child-pool.js';
import { cpuPlan } from '../threads/cpu-plan.js';
import { downloadName, parseExportRequest } from './export-request.js';
import { sendFile } from './file-ranges.js';
import { send } from './http-send.js';

export interface ExportBuildsOptions {
  /** The storage folder. */
  root: string;
  /** Where packages are built and kept (`<storage>/exports`): emptied at open and at close. */
  staging: string;
  /** Exports that may wait for the one being built (serve.maxQueuedExports); past them, 503. */
  maxQueued: number;
  /** What the child needs of the configuration (exportSite(config)). */
  data: ExportSite;
  log: Logger;
  /** The children's environment (default: this process's); tests set NEWSNAP_TEST_HOLD_EXPORTS here. */
  env?: NodeJS.ProcessEnv;
  /** A streamed export whose client takes no bytes this long is stopped and its child killed (default STALL_MS; tests set less). */
  stallMs?: number;
}

/** A package built and kept, served by ranges. */
interface Kept {
  key: string;
  path: string;
  /** `"<sha256 of the file's bytes>"`. */
  etag: string;
  /** manifest.jsonl's length when its build began: the archive had no newer capture while it is the same. */
  manifestBytes: number;
}

/** A package being built (or waiting its turn), and how many clients wait for it. */
interface Building {
  result: Promise<Kept>;
  abort: AbortController;
  waiters: number;
}

/** Packages kept at once: a replay tool reads one by many ranges while another may be asked for. */
const KEEP = 2;
/** What a refused export is told to wait: about one build of a day's WACZ. */
const RETRY_AFTER_SECONDS = '30';
/**
 * How long a JSON lines or CSV client may take no bytes before its export is stopped: the export
 * child is the only one, so a client that stalls would hold every other export off for good.
 */
const STALL_MS = 60_000;

/**
 * serve's exports (`GET /export?format=…`, and `/export.wacz`), every one made in a child process
 * (a ChildPool of one: one export at a time, niced), so serve's main thread only moves bytes.
 * WACZ and Parquet (a folder, served as one zip) are built to a file under `staging`, then served
 * by ranges with an ETag that is the file's sha256; the last two are kept, each reused while the
 * manifest is as long as when its build began. A Range request (and a HEAD) is answered from the
 * kept package of its export even when newer captures made it stale, unless its If-Range names
 * another: a replay tool reads one package by many ranges without If-Range, and a rebuild between
 * two of them would cut the next range from another package at the first one's offsets. A GET
 * of the whole file builds a current one. JSON lines and CSV stream from the child as it writes
 * them, with back-pressure, and are stopped once their client takes nothing for `stallMs`. A
 * build nobody waits for any more is killed.
 */
export class ExportBuilds {
  private readonly pool: ChildPool<ExportTask, ExportTaskResult>;
  private readonly kept: Kept[] = [];
  private readonly building = new Map<string, Building>();
  private serial = 0;
  private refused = 0;
  private built = 0;
  private closed = false;

  private constructor(private readonly o: ExportBuildsOptions) {
    const data: ExportTaskData = { root: o.root, site: o.data };
    this.pool = new ChildPool({ module: new URL('../export/export-task.js', import.meta.url), size: 1, nice: cpuPlan().readerNice, data, idleMs: 60_000, ...(o.env ? { env: o.env } : {}) });
  }

  /** Empties (or makes) the staging folder: what a killed serve left there is of no use. */
  static async open(o: ExportBuildsOptions): Promise<ExportBuilds> {
    await rm(o.staging, { recursive: true, force: true });
    await mkdir(o.staging, { recursive: true });
    return new ExportBuilds(o);
  }

  /** `GET|HEAD /export?format=…&since=&until=&id=…` (`format` forced by `/export.wacz`): writes the whole answer. */
  async handle(req: IncomingMessage, res: ServerResponse, params: URLSearchParams, format?: string): Promise<void> {
    const asked = parseExportRequest(params, format);
    if (!asked.ok) return send(res, 400, { error: asked.error });
    if (this.closed) return stopping(res, 'serve is stopping: no export now');
    if (asked.exporter.output === 'stream') return this.stream(req, res, asked.exporter, asked.selection);
    return this.package(req, res, asked.exporter, asked.selection);
  }

  status(): { running: number; queued: number; refused: number; built: number } {
    return { running: this.pool.running, queued: this.pool.queued, refused: this.refused, built: this.built };
  }

  /** The export children's process ids (tests check a cancelled build's is gone). */
  pids(): number[] {
    return this.pool.pids;
  }

  /** Kills the export children at once (synchronous: a forced exit's last resort). */
  killAll(): void {
    this.pool.killAll();
  }

  /** Ends every export (a build in flight is killed) and removes what was staged. */
  async close(): Promise<void> {
    this.closed = true;
    for (const [key, b] of this.building) this.abandon(key, b);
    await this.pool.close();
    this.kept.length = 0;
    await rm(this.o.staging, { recursive: true, force: true });
  }

  /** Past `maxQueued` exports waiting: 503 with Retry-After (true when refused). */
  private full(res: ServerResponse): boolean {
    if (this.pool.queued < this.o.maxQueued) return false;
    this.refused++;
    send(res, 503, { error: `${this.pool.queued} exports are waiting already (serve.maxQueuedExports = ${this.o.maxQueued}): try again later` }, { 'retry-after': RETRY_AFTER_SECONDS });
    return true;
  }

  /** JSON lines or CSV, streamed from the child; a client that hangs up (or stalls) kills it at once. */
  private async stream(req: IncomingMessage, res: ServerResponse, exporter: Exporter, selection: ExportSelection): Promise<void> {
    const headers = downloadHeaders(exporter, selection);
    if (req.method === 'HEAD') {
      res.writeHead(200, headers);
      res.end();
      return;
    }
    if (this.full(res)) return;
    const abort = new AbortController();
    const gone = () => abort.abort();
    res.on('close', gone);
    let stalled = false;
    const stallMs = this.o.stallMs ?? STALL_MS;
    const task: ExportTask = { format: exporter.format, selection, scratch: join(this.o.staging, `stream-${++this.serial}`) };
    try {
      const result = await this.pool.run(task, {
        signal: abort.signal,
        onChunk: async (chunk) => {
          if (!res.headersSent) res.writeHead(200, headers);
          await writeWithRoom(res, chunk, stallMs).catch((err: Error) => {
            stalled ||= err instanceof OutputStalled;
            throw err;
          });
        },
      });
      if (!res.headersSent) res.writeHead(200, headers);
      res.end();
      this.logProblems(exporter, result);
    } catch (err) {
      if (abort.signal.aborted) return;
      if (stalled) {
        this.o.log.warn({ format: exporter.format, stallMs }, 'export stream stopped: its client took no bytes for too long');
        res.destroy();
      } else if (err instanceof TaskAborted && this.closed) {
        stopping(res, 'the export was stopped (serve is stopping)');
      } else {
        this.o.log.error({ format: exporter.format, err: (err as Error).message }, 'export failed');
        // Cut short after the headers: the connection is dropped, so the reader cannot take it for whole.
        if (res.headersSent) res.destroy();
        else send(res, 500, { error: `the export failed: ${(err as Error).message}` });
      }
    } finally {
      res.off('close', gone);
      // The child removes it when it ends well; killed or crashed (the pool settles once it has exited), it is ours.
      await rm(task.scratch, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** WACZ or Parquet: the kept package when it answers (see the class), else one built (or joined) now; then ranges of it. */
  private async package(req: IncomingMessage, res: ServerResponse, exporter: Exporter, selection: ExportSelection): Promise<void> {
    const key = JSON.stringify([exporter.format, selection.since ?? '', selection.until ?? '', selection.ids ?? []]);
    const headers = downloadHeaders(exporter, selection);
    const kept = this.kept.find((k) => k.key === key);
    const keptFile = kept && this.answers(req, kept) ? await openKept(kept) : null;
    if (kept && keptFile) return sendFile(req, res, keptFile, headers, kept.etag);
    // A HEAD builds nothing: without a package its length is not known yet, so it has none (a
    // replay tool then asks by GET, which builds it).
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'accept-ranges': 'bytes' });
      res.end();
      return;
    }
    let build = this.building.get(key);
    if (!build) {
      if (this.full(res)) return;
      build = this.build(key, exporter, selection);
    }
    const waiting = build;
    waiting.waiters++;
    // Every client gone before it is built: nobody wants it, the child is killed.
    const gone = () => --waiting.waiters === 0 && this.abandon(key, waiting);
    res.once('close', gone);
    // Hung up before the listener was there: its 'close' is past, so it is counted out now.
    if (res.destroyed) gone();
    let built: Kept;
    try {
      built = await waiting.result;
    } catch (err) {
      if (res.destroyed || err instanceof TaskAborted) return stopping(res, 'the export was stopped (serve is stopping)');
      return send(res, 500, { error: `the export failed: ${err instanceof TaskFailed ? `${err.remote}: ${err.message}` : (err as Error).message}` });
    } finally {
      res.off('close', gone);
    }
    if (!res.destroyed) waiting.waiters--;
    const file = await openKept(built);
    if (!file) return stopping(res, 'the package was dropped before it could be sent: ask again');
    return sendFile(req, res, file, headers, built.etag);
  }

  /**
   * Whether `kept` answers this request: while the archive has no newer capture than it (the
   * manifest is as long), and, stale, for a HEAD or a Range whose If-Range is absent or its ETag.
   */
  private answers(req: IncomingMessage, kept: Kept): boolean {
    if (kept.manifestBytes === manifestBytes(this.o.root) || req.method === 'HEAD') return true;
    const ifRange = req.headers['if-range'];
    return req.headers.range !== undefined && (ifRange === undefined || ifRange === kept.etag);
  }

  /** Kills a build nobody waits for, and forgets it at once: a request after must not join it. */
  private abandon(key: string, b: Building): void {
    if (this.building.get(key) === b) this.building.delete(key);
    b.abort.abort();
  }

  private build(key: string, exporter: Exporter, selection: ExportSelection): Building {
    const serial = ++this.serial;
    const out = join(this.o.staging, `${serial}.${exporter.extension}`);
    const scratch = join(this.o.staging, `build-${serial}`);
    const abort = new AbortController();
    const result = this.pool.run({ format: exporter.format, selection, out, scratch }, { signal: abort.signal }).then(
      (r) => {
        this.built++;
        this.logProblems(exporter, r);
        return this.keep({ key, path: out, etag: `"${r.sha256}"`, manifestBytes: r.manifestBytes });
      },
      async (err: Error) => {
        // Killed or failed: what it staged goes (a killed child cleans nothing up itself).
        await Promise.all([rm(out, { force: true }), rm(scratch, { recursive: true, force: true })]);
        throw err;
      },
    );
    const building: Building = { result, abort, waiters: 0 };
    this.building.set(key, building);
    void result.catch(() => undefined).finally(() => this.building.get(key) === building && this.building.delete(key));
    return building;
  }

  /** Keeps a package built, dropping an older one of the same export and those past KEEP (their files go; a response being sent keeps its descriptor). */
  private keep(k: Kept): Kept {
    for (const old of this.kept.filter((o) => o.key === k.key)) this.drop(old);
    this.kept.push(k);
    while (this.kept.length > KEEP) this.drop(this.kept[0] as Kept);
    return k;
  }

  private drop(k: Kept): void {
    this.kept.splice(this.kept.indexOf(k), 1);
    void rm(k.path, { force: true });
  }

  private logProblems(exporter: Exporter, r: ExportTaskResult): void {
    for (const line of r.problemLines) this.o.log.warn({ format: exporter.format }, line);
    if (r.problems > r.problemLines.length) this.o.log.warn({ format: exporter.format, problems: r.problems }, `export: ${r.problems - r.problemLines.length} more problems (newsnap verify says more)`);
    this.o.log.info({ format: exporter.format, records: r.records, bytes: r.bytes ?? undefined, problems: r.problems }, 'export built');
  }
}

function downloadHeaders(exporter: Exporter, selection: ExportSelection): Record<string, string> {
  return { 'content-type': exporter.contentType, 'content-disposition': `attachment; filename="${downloadName(exporter, selection)}"`, 'cache-control': 'no-cache' };
}

/** 503 with Retry-After; once the headers went, the connection is dropped instead (the reader cannot take it for whole). */
function stopping(res: ServerResponse, error: string): void {
  if (res.headersSent) res.destroy();
  else if (!res.destroyed) send(res, 503, { error }, { 'retry-after': RETRY_AFTER_SECONDS });
}

/** The kept file opened, or null when it went meanwhile (evicted, or serve stopping). */
async function openKept(k: Kept): Promise<FileHandle | null> {
  try {
    return await open(k.path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
