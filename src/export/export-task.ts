import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskHandler } from '../threads/child-protocol.js';
import { ReadOnlyStorage } from '../storage/read-only.js';
import { archiveFiles } from './archive-records.js';
import { EMPTY_PACKAGE_TIME } from './export.js';
import { exporterOf, type ExportSelection, type ExportSite } from './exporters.js';
import { zipFolder } from './wacz-package.js';

/** What every export child is given once (ChildPool `data`). */
export interface ExportTaskData {
  root: string;
  site: ExportSite;
}

export interface ExportTask {
  format: string;
  selection: ExportSelection;
  /** A file or folder format: the file to write (a folder is zipped into it). */
  out?: string;
  /** The task's own scratch folder: made here, removed here when it ends (by the parent when it is killed). */
  scratch: string;
}

export interface ExportTaskResult {
  records: number;
  created: string | null;
  /** Of the file written: its size and sha256 (hex), what serve's ETag says. */
  bytes: number | null;
  sha256: string | null;
  /** manifest.jsonl's length when the task began: a longer one means newer captures since. */
  manifestBytes: number;
  problems: number;
  /** The first few problems, for serve's log. */
  problemLines: string[];
  details: Record<string, unknown>;
}

/**
 * Test-only: `NEWSNAP_TEST_HOLD_EXPORTS=1` in a child's environment makes every export block
 * before it reads anything, until the child is killed, so that tests can fill the queue and hang
 * up on a build in flight without racing it. Nothing else sets it.
 */
export const HOLD_EXPORTS_VARIABLE = 'NEWSNAP_TEST_HOLD_EXPORTS';

/** manifest.jsonl's length: it is only appended to, a line per new version or removal. */
export function manifestBytes(root: string): number {
  try {
    return statSync(join(root, 'manifest.jsonl')).size;
  } catch {
    return 0;
  }
}

/** One export in a child process of serve's (a ChildPool task): the registry's exporter over read-only storage. */
const runExport: TaskHandler<ExportTask, ExportTaskResult> = async (task, output, data) => {
  const { root, site } = data as ExportTaskData;
  // Taken before anything is read: a capture after it makes the package stale, never one it holds.
  const manifest = manifestBytes(root);
  const files = archiveFiles(root);
  if (process.env[HOLD_EXPORTS_VARIABLE] === '1') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  const exporter = exporterOf(task.format);
  if (!exporter) throw new Error(`no export format ${task.format}`);
  const storage = new ReadOnlyStorage(root);
  const problemLines: string[] = [];
  let problems = 0;
  await mkdir(task.scratch, { recursive: true });
  try {
    const job = {
      storage,
      site,
      selection: task.selection,
      staging: task.scratch,
      files,
      onProblem: (path: string, why: string) => {
        if (++problems <= 20) problemLines.push(`${path} ${why}`);
      },
    };
    if (exporter.output === 'stream') {
      const summary = await exporter.produce(job, { write: (chunk) => output.write(chunk) });
      return { records: summary.records, created: null, bytes: null, sha256: null, manifestBytes: manifest, problems, problemLines, details: summary.details };
    }
    if (!task.out) throw new Error(`--format ${task.format} makes a file: the task needs an out path`);
    const folder = join(task.scratch, 'folder');
    const summary = await exporter.produce(job, { path: exporter.output === 'folder' ? folder : task.out });
    if (exporter.output === 'folder') await zipFolder(folder, task.out, new Date(summary.created ?? EMPTY_PACKAGE_TIME));
    const { bytes, sha256 } = await digest(task.out);
    return { records: summary.records, created: summary.created ?? null, bytes, sha256, manifestBytes: manifest, problems, problemLines, details: summary.details };
  } finally {
    storage.close();
    await rm(task.scratch, { recursive: true, force: true });
  }
};

export default runExport;

async function digest(path: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}
