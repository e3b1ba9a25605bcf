import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { isHeavy } from './heavy-list.js';

/**
 * Heavy test files (Chromium renders, kill -9 loops, large crawls, serve under faults) never run
 * beside each other: each holds a lock for its whole run, taken through the kernel (SQLite's
 * file lock, released when the worker ends however it ends). Light files run beside them. The
 * sequencer (test/setup/sequencer.ts) interleaves heavy and light files so that a worker waiting
 * here is rare.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const LOCK = join(tmpdir(), `newsnap-heavy-tests-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`);

let held: Database.Database | null = null;

beforeAll(async ({}, suite) => {
  const file = suite.file.filepath;
  if (!isHeavy(relative(ROOT, file))) return;
  const db = new Database(LOCK, { timeout: 0 });
  for (;;) {
    try {
      db.exec('BEGIN IMMEDIATE');
      held = db;
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY') {
        db.close();
        throw err;
      }
    }
    // Another heavy file runs: wait for it (the hook timeout is the hang guard).
    await new Promise((r) => setTimeout(r, 250));
  }
}, 30 * 60_000);

afterAll(() => {
  held?.close();
  held = null;
});
