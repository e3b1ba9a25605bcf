import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Lines held in memory before a sorted run goes to disk. */
const RUN_BYTES = 32 * 1024 * 1024;

/**
 * Sorts text lines bytewise (as UTF-8, the order CDXJ readers binary-search in) in bounded
 * memory: lines are kept until RUN_BYTES, then sorted and written as a run in a temporary folder;
 * `drain` merges the runs. An export of a few thousand pages never touches the disk.
 */
export class LineSort {
  private lines: Buffer[] = [];
  private bytes = 0;
  private readonly runs: string[] = [];
  private dir: string | null = null;

  constructor(private readonly tmpParent: string) {}

  async add(line: string): Promise<void> {
    const b = Buffer.from(line.endsWith('\n') ? line.slice(0, -1) : line, 'utf8');
    this.lines.push(b);
    this.bytes += b.length + 64;
    if (this.bytes >= RUN_BYTES) await this.spill();
  }

  /** Every line (without its newline), in order; the temporary runs are removed after. */
  async *drain(): AsyncGenerator<Buffer> {
    try {
      this.lines.sort(Buffer.compare);
      if (this.runs.length === 0) {
        for (const line of this.lines) yield line;
        return;
      }
      await this.spill();
      yield* merge(this.runs);
    } finally {
      this.lines = [];
      if (this.dir) await rm(this.dir, { recursive: true, force: true });
    }
  }

  private async spill(): Promise<void> {
    if (this.lines.length === 0) return;
    this.dir ??= await mkdtemp(join(this.tmpParent, '.newsnap-sort-'));
    this.lines.sort(Buffer.compare);
    const path = join(this.dir, `run-${this.runs.length}`);
    await writeFile(path, Buffer.concat(this.lines.flatMap((l) => [l, NEWLINE])));
    this.runs.push(path);
    this.lines = [];
    this.bytes = 0;
  }
}

const NEWLINE = Buffer.from('\n');

/** A k-way merge of sorted runs (k is small: one run per 32 MB of index). */
async function* merge(runs: string[]): AsyncGenerator<Buffer> {
  const readers = runs.map((path) => createInterface({ input: createReadStream(path), crlfDelay: Infinity })[Symbol.asyncIterator]());
  const heads: Array<Buffer | null> = [];
  for (const r of readers) heads.push(await nextLine(r));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h && (best < 0 || Buffer.compare(h, heads[best] as Buffer) < 0)) best = i;
    }
    if (best < 0) return;
    yield heads[best] as Buffer;
    heads[best] = await nextLine(readers[best] as AsyncIterator<string>);
  }
}

async function nextLine(r: AsyncIterator<string>): Promise<Buffer | null> {
  const next = await r.next();
  return next.done ? null : Buffer.from(next.value, 'utf8');
}

