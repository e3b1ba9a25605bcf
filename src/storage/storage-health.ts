import { nowIso } from '../clock/clock.js';
import type { StorageError } from '../disk/storage-error.js';

/** What newsnap writes, as the storage errors metric labels it (`newsnap_storage_errors_total{op}`). */
export const STORAGE_OPS = ['state', 'manifest', 'snapshot', 'history', 'journal', 'warc', 'outbox'] as const;
export type StorageOp = (typeof STORAGE_OPS)[number];

/** A kind of write that fails now: since when, and the last error's words. */
export interface StorageProblem {
  op: StorageOp;
  code: string | null;
  message: string;
  since: string;
  /** Failures of this kind since it began failing. */
  failures: number;
}

/** The kind of write a StorageError's path says it was. */
export function opOf(error: StorageError): StorageOp {
  const path = error.path.replace(/\\/g, '/');
  if (/\/state\.sqlite(-wal|-shm|-journal)?$/.test(path)) return 'state';
  if (path.endsWith('/manifest.jsonl')) return 'manifest';
  if (/\/warc(\/|$)/.test(path)) return 'warc';
  if (/\/history(\/|$)/.test(path)) return 'history';
  if (/\/journal(\/|$)/.test(path)) return 'journal';
  return 'snapshot';
}

/**
 * Whether newsnap can write its storage now, as every lane's writes see it: a failed write
 * records a problem for its kind (and counts it), the next write of that kind that succeeds
 * clears it. `/readyz`, the status page and the metrics read this one record, so they cannot
 * disagree. A fatal failure (the state database damaged) is told to whoever listens: `serve`
 * exits then, for its orchestrator to restart it.
 */
export class StorageHealth {
  private readonly problems = new Map<StorageOp, StorageProblem>();
  /** Every failure since the process started, by kind (a counter: it never goes down). */
  readonly errors: Record<StorageOp, number> = Object.fromEntries(STORAGE_OPS.map((op) => [op, 0])) as Record<StorageOp, number>;
  private readonly fatalListeners = new Set<(error: StorageError) => void>();
  private readonly changeListeners = new Set<() => void>();

  failed(op: StorageOp, error: StorageError): void {
    this.errors[op]++;
    const before = this.problems.get(op);
    this.problems.set(op, { op, code: error.code ?? null, message: error.message, since: before?.since ?? nowIso(), failures: (before?.failures ?? 0) + 1 });
    // A new problem, or the same kind failing for another reason now (a full disk, then a lock).
    if (!before || before.code !== (error.code ?? null)) for (const listener of this.changeListeners) listener();
    if (error.fatal) for (const listener of this.fatalListeners) listener(error);
  }

  ok(...ops: StorageOp[]): void {
    let cleared = false;
    for (const op of ops) cleared = this.problems.delete(op) || cleared;
    if (cleared) for (const listener of this.changeListeners) listener();
  }

  /** The kinds of write that fail now; empty when every write goes through. */
  current(): StorageProblem[] {
    return [...this.problems.values()];
  }

  get failing(): boolean {
    return this.problems.size > 0;
  }

  /** One line a person reads: what fails and why. */
  describe(): string | null {
    const problems = this.current();
    if (problems.length === 0) return null;
    return problems.map((p) => `${p.op} writes fail since ${p.since}: ${p.message}`).join('; ');
  }

  onFatal(listener: (error: StorageError) => void): () => void {
    this.fatalListeners.add(listener);
    return () => this.fatalListeners.delete(listener);
  }

  /** Called when a kind of write starts or stops failing, or fails for another reason. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }
}
