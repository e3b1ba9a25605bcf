// While a kind of write fails, a probe tries it again every few seconds with a small write of its
// own, so that the health record clears by itself once the cause is gone: a lane with nothing new
// to write would never show it.
import { open as openFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFully } from '../disk/write-fully.js';
import type { StorageHealth, StorageOp } from './storage-health.js';

/** How often a failing kind of write is tried again by a probe. */
const PROBE_EVERY_MS = 5_000;
export const PROBE_KEY = 'storage.probedAt';
/** Where each kind of write goes: a probe writes there. */
const PROBE_FOLDERS: Record<Exclude<StorageOp, 'state' | 'outbox'>, string> = { manifest: '.', snapshot: 'snapshots', history: 'history', journal: 'journal', warc: 'warc' };
/** A probe writes this much: a snapshot or a WARC record is of this order, so a probe that passes means writes go through. */
const PROBE_BYTES = 64 * 1024;

/** Writes, syncs and removes a temporary file where `op` writes (a newsnap temporary: start-up removes a left one). */
export async function probeFolder(root: string, op: Exclude<StorageOp, 'state' | 'outbox'>): Promise<void> {
  const path = join(root, PROBE_FOLDERS[op], `.probe.${process.pid}.health.tmp`);
  const fh = await openFile(path, 'w', 0o644);
  try {
    await writeFully(fh, Buffer.alloc(PROBE_BYTES));
    await fh.sync();
  } finally {
    await fh.close();
    await unlink(path).catch(() => undefined);
  }
}

/** Runs `before` (catch-up work) and then `tryWrite` for each failing kind, every few seconds while any fails. */
export class HealthProbe {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly health: StorageHealth,
    private readonly before: () => Promise<void>,
    private readonly tryWrite: (op: StorageOp) => Promise<void>,
  ) {}

  /** Starts the probe while some write fails, stops it once none does (called on every health change). */
  watch(): void {
    if (!this.health.failing) return this.stop();
    this.timer ??= setInterval(() => void this.probe(), PROBE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async probe(): Promise<void> {
    await this.before().catch(() => undefined);
    for (const problem of this.health.current()) {
      // Still failing: the next probe tries again.
      await this.tryWrite(problem.op).catch(() => undefined);
    }
  }
}
