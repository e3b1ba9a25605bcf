import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedWarcFiles } from '../export/archive-records.js';
import { WARC_DIR } from '../warc/warc-files.js';

/** The days of an export (YYYYMMDD). */
export interface WaczRange {
  since?: string;
  until?: string;
}

interface Built {
  path: string;
  etag: string;
}

/** Packages kept at once: a reader replaying one while another range is asked for. */
const KEEP = 2;

/**
 * `GET /export.wacz` builds a package into a temporary folder once and serves that file to every
 * range request after, as replay tools read it piece by piece. A package is built again only
 * when the archive's closed files change (a crawl's open file does not count, so a reader's ranges
 * keep coming from one file while a crawl runs). The folder is removed when serve stops.
 */
export class WaczExports {
  private dir: Promise<string> | null = null;
  private readonly built = new Map<string, Promise<Built>>();
  private serial = 0;
  /** One build at a time: many ranges asked at once wait their turn instead of each reading the whole archive beside the others. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly root: string,
    private readonly build: (range: WaczRange, out: string) => Promise<unknown>,
  ) {}

  /** The package for these days, built now or earlier. */
  file(range: WaczRange): Promise<Built> {
    const key = `${range.since ?? ''}-${range.until ?? ''}-${this.fingerprint()}`;
    let entry = this.built.get(key);
    if (!entry) {
      entry = this.make(range, key);
      this.built.set(key, entry);
      entry.catch(() => this.built.delete(key));
      this.evict();
    }
    return entry;
  }

  /** Removes every package built. */
  async close(): Promise<void> {
    const dir = this.dir;
    this.dir = null;
    this.built.clear();
    if (dir) await rm(await dir, { recursive: true, force: true });
  }

  private async make(range: WaczRange, key: string): Promise<Built> {
    this.dir ??= mkdtemp(join(tmpdir(), 'newsnap-exports-'));
    const path = join(await this.dir, `export-${++this.serial}.wacz`);
    const building = this.turn.then(() => this.build(range, path));
    this.turn = building.catch(() => undefined);
    await building;
    return { path, etag: `"${Buffer.from(key).toString('base64url')}"` };
  }

  private evict(): void {
    while (this.built.size > KEEP) {
      const [oldest, entry] = this.built.entries().next().value as [string, Promise<Built>];
      this.built.delete(oldest);
      // A response being sent holds its descriptor; the name goes now.
      void entry.then((b) => rm(b.path, { force: true })).catch(() => undefined);
    }
  }

  /** Names and sizes of the closed WARC files: what the package is made of. */
  private fingerprint(): string {
    const files = closedWarcFiles(this.root);
    let size = 0;
    for (const name of files) {
      try {
        size += statSync(join(this.root, WARC_DIR, name)).size;
      } catch {
        // Gone between the listing and now: the next request sees it.
      }
    }
    return `${files.length}.${files.at(-1) ?? ''}.${size}`;
  }
}
