import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RunLock } from './run-lock.js';
import { MANIFEST_OFFSET, MANIFEST_SEQ } from './state/state-schema.js';
import { ReadOnlyStorage } from './read-only.js';
import type { SqliteState } from './state/state-store.js';
import { readManifestLines, type ManifestPosition, type ManifestRecord } from './manifest.js';
import { checkWarcFile, checkWarcRecordAt, type CheckedRecord } from '../warc/warc-check.js';
import { OPEN_SUFFIX, WARC_DIR } from '../warc/warc-files.js';
import { IndexCheck } from './search/index-check.js';
import { SEARCH_FILE } from './search/search-schema.js';

/** What kind of thing is not whole. */
export type ProblemKind = 'manifest' | 'state' | 'snapshot' | 'history' | 'leftover' | 'warc' | 'index';

export interface Problem {
  kind: ProblemKind;
  /** The file, relative to the storage folder. */
  path: string;
  /** The article it concerns, when one. */
  id?: string;
  detail: string;
  /** What to do about it. */
  fix: string;
}

export interface VerifyReport {
  storage: string;
  whole: boolean;
  /** The first problems found (at most PROBLEMS_KEPT), and how many there were in all. */
  problems: Problem[];
  problemCount: number;
  /** A run held the storage lock: files it is writing were not counted as left behind. */
  runInProgress: boolean;
  /** Why it could not be told whether a run held the lock (then left-behind files are not judged either). */
  lockUnknown?: string;
  range: { since: string | null; until: string | null };
  stats: {
    manifestLines: number;
    articles: number;
    /** Snapshot and history files read and hashed, and their bytes. */
    files: number;
    bytes: number;
    warcFiles: number;
    warcRecords: number;
    warcBytes: number;
    durationMs: number;
  };
}

/** Problems kept for the report: the count goes on, the list stops (memory stays bounded). */
const PROBLEMS_KEPT = 1000;
const LEFT_BEHIND = ['snapshots', 'history', 'journal'];

/**
 * Checks that a storage folder holds what it says, reading only and sending no request (beside a
 * running crawl or serve too): every current snapshot and every history file against the sha256
 * and bytes the manifest gives it; state against the manifest; no temporary or journal file left
 * behind a finished run; every WARC file record by record with its digests, and each article's
 * page where state says it lies. Streams the manifest and the WARC files: a store of 100 000
 * articles costs the memory of its current versions' hashes. With `searchIndex`, the search
 * index is held to the manifest too (search/index-check.ts).
 */
export async function verifyStorage(root: string, options: { since?: string; until?: string; searchIndex?: boolean; onProgress?: (stats: VerifyReport['stats']) => void } = {}): Promise<VerifyReport> {
  const started = performance.now();
  const store = new ReadOnlyStorage(root);
  const state = store.state;
  const lock = new RunLock(root).probe();
  const runInProgress = 'unknown' in lock || lock.held;
  const stats: VerifyReport['stats'] = { manifestLines: 0, articles: 0, files: 0, bytes: 0, warcFiles: 0, warcRecords: 0, warcBytes: 0, durationMs: 0 };
  const problems: Problem[] = [];
  let problemCount = 0;
  const report = (p: Problem) => {
    problemCount++;
    if (problems.length < PROBLEMS_KEPT) problems.push(p);
  };
  const ranged = options.since !== undefined || options.until !== undefined;
  const inRange = (day: string) => (!options.since || day >= options.since) && (!options.until || day <= options.until);
  const tick = () => options.onProgress?.({ ...stats, durationMs: performance.now() - started });
  const run: Run = { root, state, stats, report, inRange, tick, runInProgress };
  // One read transaction: state as it was at one moment, whatever a serve beside it commits.
  const snapshot = state.readSnapshot();
  try {
    // A run may be appending: read the manifest only as far as state has applied it.
    const applied = Number(state.meta.get(MANIFEST_OFFSET) ?? '0');
    const appliedSeq = Number(state.meta.get(MANIFEST_SEQ) ?? '0');
    const size = existsSync(join(root, 'manifest.jsonl')) ? statSync(join(root, 'manifest.jsonl')).size : 0;
    if (!runInProgress && applied !== size) {
      report({ kind: 'state', path: 'state.sqlite', detail: `state has applied ${applied} of the manifest's ${size} bytes`, fix: 'run newsnap crawl (or fetch) once: opening the storage applies the rest of the manifest' });
    }
    const current = new Map<string, CurrentVersion>();
    const opened = options.searchIndex ? IndexCheck.open(root) : null;
    const index = opened instanceof IndexCheck ? opened : null;
    if (opened && !(opened instanceof IndexCheck)) report({ kind: 'index', path: SEARCH_FILE, ...opened });
    const lastSeq = await checkManifest(run, Math.min(applied, size), current, index);
    for (const p of index?.finish(lastSeq, runInProgress) ?? []) report({ kind: 'index', path: SEARCH_FILE, ...p });

    const suspects = checkCurrent(run, current);
    for (const v of state.reports.currentVersions(ranged ? { ...(options.since ? { since: options.since } : {}), ...(options.until ? { until: options.until } : {}) } : {})) {
      if (!current.has(v.id)) report({ kind: 'state', path: 'state.sqlite', id: v.id, detail: `state holds a version (${short(v.sha256)}) no manifest line records`, fix: STATE_FIX });
    }

    if (suspects.size > 0) await recheck(root, { offset: Math.min(applied, size), seq: appliedSeq }, suspects, stats, report);
    if (!runInProgress) for (const p of leftovers(root)) report(p);
    if (ranged) checkPages(root, state, current, stats, report);
    else checkWarcFiles(root, state, runInProgress, stats, report, tick);
  } finally {
    snapshot.end();
    store.close();
  }
  stats.durationMs = Math.round(performance.now() - started);
  return { storage: root, whole: problemCount === 0, problems, problemCount, runInProgress, ...('unknown' in lock ? { lockUnknown: lock.unknown } : {}), range: { since: options.since ?? null, until: options.until ?? null }, stats };
}

/** What one verify run checks with: the folder, state (one read transaction), its tallies and report. */
interface Run {
  root: string;
  state: SqliteState;
  stats: VerifyReport['stats'];
  report: (p: Problem) => void;
  inRange: (day: string) => boolean;
  tick: () => void;
  runInProgress: boolean;
}

/** An article's current version as the manifest says it. */
interface CurrentVersion {
  sha256: string;
  bytes: number;
  path: string;
  url: string;
  day: string;
}

/**
 * Reads the manifest up to `end` (what state has applied): each line against state and the index,
 * each history file against its line; fills `current` with each article's latest version.
 * Returns the last line's `seq`.
 */
async function checkManifest(run: Run, end: number, current: Map<string, CurrentVersion>, index: IndexCheck | null): Promise<number> {
  const { root, state, stats, report, inRange, tick } = run;
  let lastSeq = 0;
  for await (const line of readManifestLines(root, { end })) {
    stats.manifestLines++;
    lastSeq = line.seq;
    if ('corrupt' in line) {
      report({ kind: 'manifest', path: 'manifest.jsonl', detail: `line ${line.seq} (byte ${line.offset}) is not JSON: ${line.corrupt.slice(0, 80)}`, fix: 'leave it: the lines around it still count (downstream readers skip it)' });
      continue;
    }
    const r = line.record;
    index?.line(r);
    const applied = state.reports.eventAt(line.offset);
    if (!applied || applied.id !== r.id || applied.event !== r.event || (applied.sha256 ?? '') !== (r.sha256 ?? '')) {
      report({ kind: 'state', path: 'state.sqlite', id: r.id, detail: `line ${line.seq} (${r.event} of ${r.id}) is ${applied ? `recorded as ${applied.event} of ${applied.id}` : 'not in state'}`, fix: STATE_FIX });
    }
    if (r.event === 'gone') continue;
    const day = r.date.replace(/-/g, '');
    const before = current.get(r.id);
    if (r.previousSha256 && r.historyPath && inRange(day)) {
      const bytes = before?.sha256 === r.previousSha256 ? before.bytes : null;
      checkFile(root, r.historyPath, r.previousSha256, bytes, stats, (detail) =>
        report({ kind: 'history', path: r.historyPath as string, id: r.id, detail, fix: `restore the file from a backup: newsnap keeps each article's latest page only, so an earlier version cannot be rebuilt (its sha256 is ${r.previousSha256})` }),
      );
    }
    current.set(r.id, { sha256: r.sha256, bytes: r.bytes, path: r.path, url: r.url, day });
    if (stats.manifestLines % 10_000 === 0) tick();
  }
  return lastSeq;
}

/** Each current snapshot file against its manifest line and state; suspects when a writer runs beside us. */
function checkCurrent(run: Run, current: Map<string, CurrentVersion>): Map<string, Problem> {
  const { root, state, stats, report, inRange, tick, runInProgress } = run;
  // A writer beside us may replace a snapshot after our moment: such a file is judged again
  // against the lines appended since, before it is called damaged.
  const suspects = new Map<string, Problem>();
  for (const [id, v] of current) {
    if (!inRange(v.day)) continue;
    stats.articles++;
    const known = state.articles.get(id);
    if (known && (known.sha256 !== v.sha256 || known.path !== v.path)) {
      report({ kind: 'state', path: 'state.sqlite', id, detail: `state says ${known.path} (${short(known.sha256)}), the manifest ${v.path} (${short(v.sha256)})`, fix: STATE_FIX });
    }
    checkFile(root, v.path, v.sha256, v.bytes, stats, (detail) =>
      (runInProgress ? (p: Problem) => suspects.set(id, p) : report)({
        kind: 'snapshot',
        path: v.path,
        id,
        detail,
        fix: known?.warc ? `newsnap reextract --id ${id} (the archive holds its page: the recorded bytes are written again)` : `no archived page: restore the file from a backup (sha256 ${v.sha256}), or fetch it again: newsnap fetch ${v.url}`,
      }),
    );
    if (stats.articles % 10_000 === 0) tick();
  }
  return suspects;
}

/**
 * Snapshot files that did not match the version of our moment, judged again against the lines a
 * writer appended since: a file replaced by a later version (or moved to a later path) that
 * matches that version is whole. The others are reported as they were found.
 */
async function recheck(root: string, from: ManifestPosition, suspects: Map<string, Problem>, stats: VerifyReport['stats'], report: (p: Problem) => void): Promise<void> {
  // A change in flight has its journal entry from before its file is replaced until after its
  // line is written. Looked at first: an entry gone by now means the line is in the manifest read next.
  for (const id of suspects.keys()) if (existsSync(join(root, 'journal', `${id}.json`))) suspects.delete(id);
  const later = new Map<string, ManifestRecord>();
  for await (const line of readManifestLines(root, { from })) {
    if ('record' in line && suspects.has(line.record.id) && line.record.event !== 'gone') later.set(line.record.id, line.record);
  }
  for (const [id, problem] of suspects) {
    const r = later.get(id);
    let whole = false;
    if (r) checkFile(root, r.path, r.sha256, r.bytes, { ...stats }, () => undefined, () => (whole = true));
    if (!whole) report(problem);
  }
}

const STATE_FIX = 'the manifest is the record: stop newsnap, move state.sqlite aside and run newsnap crawl --dry-run, which reads the whole manifest into a new state (runs and pending work start again)';

function short(sha: string | null): string {
  return sha ? `sha256 ${sha.slice(0, 12)}…` : 'no version';
}

/** A file the manifest names: there, with its bytes and hash. */
function checkFile(root: string, rel: string, sha256: string, bytes: number | null, stats: VerifyReport['stats'], problem: (detail: string) => void, whole?: () => void): void {
  let data: Buffer;
  try {
    data = readFileSync(join(root, rel));
  } catch {
    problem('missing');
    return;
  }
  stats.files++;
  stats.bytes += data.length;
  const digest = createHash('sha256').update(data).digest('hex');
  if (bytes !== null && data.length !== bytes) problem(`${data.length} bytes on disk, the manifest says ${bytes}`);
  else if (digest !== sha256) problem(`its bytes changed: sha256 ${digest.slice(0, 12)}… on disk, the manifest says ${sha256.slice(0, 12)}…`);
  else whole?.();
}

/** Temporary, journal and open files that a finished run never leaves. */
function* leftovers(root: string): Iterable<Problem> {
  const startUp = 'run newsnap crawl (or fetch) once: start-up';
  for (const dir of LEFT_BEHIND) {
    const entries = existsSync(join(root, dir)) ? (readdirSync(join(root, dir), { recursive: true }) as string[]) : [];
    for (const rel of entries) {
      const name = rel.split('/').at(-1) ?? '';
      const path = `${dir}/${rel}`;
      if (name.startsWith('.') && name.endsWith('.tmp')) {
        yield { kind: 'leftover', path, detail: 'a temporary file left by a killed run', fix: `no run holds the lock, so nothing writes it: remove it (rm ${join(root, path)}); the start after a killed run removes such files too` };
      } else if (dir === 'journal' && name.endsWith('.json')) {
        yield { kind: 'leftover', path, detail: 'a version change a killed run did not complete', fix: `${startUp} completes it` };
      }
    }
  }
  const warc = join(root, WARC_DIR);
  for (const name of existsSync(warc) ? readdirSync(warc) : []) {
    if (name.endsWith(OPEN_SUFFIX)) yield { kind: 'leftover', path: `${WARC_DIR}/${name}`, detail: 'a WARC file a killed run left open', fix: `${startUp} closes it, keeping every whole record` };
  }
}

/** Every WARC file, record by record, and each article's page where state says it lies. */
function checkWarcFiles(root: string, state: SqliteState, runInProgress: boolean, stats: VerifyReport['stats'], report: (p: Problem) => void, tick: () => void): void {
  const dir = join(root, WARC_DIR);
  const names = (existsSync(dir) ? readdirSync(dir) : []).filter((n) => n.endsWith('.warc.gz') || (!runInProgress && n.endsWith(`.warc.gz${OPEN_SUFFIX}`))).sort();
  const present = new Set(names.map((n) => `${WARC_DIR}/${n.replace(OPEN_SUFFIX, '')}`));
  for (const file of state.reports.warcFilesReferenced()) {
    if (!present.has(file) && !(runInProgress && existsSync(join(root, file + OPEN_SUFFIX)))) {
      report({ kind: 'warc', path: file, detail: 'state points into this WARC file, and it is missing', fix: 'restore it from a backup; until then reextract cannot rebuild the articles whose pages it held' });
    }
  }
  for (const name of names) {
    const rel = `${WARC_DIR}/${name}`;
    const pointers = state.reports.warcPointers(rel.replace(OPEN_SUFFIX, ''))[Symbol.iterator]();
    let next = pointers.next();
    let previous: CheckedRecord | null = null;
    stats.warcFiles++;
    stats.warcBytes += statSync(join(dir, name)).size;
    // Pointers come by offset, as the records do: each is matched as the scan passes it, against
    // the record that starts there (the one before the offset the scan has reached).
    const settle = (upTo: number) => {
      while (!next.done && next.value.offset < upTo) {
        const p = next.value;
        const record = previous?.offset === p.offset ? previous : null;
        if (!record) report({ kind: 'warc', path: rel, id: p.id, detail: `state says its page is at offset ${p.offset}, where no whole record starts (see what this file says of its bytes)`, fix: `newsnap fetch ${p.url} (the archive does not hold its page where state says)` });
        else if (record.length !== p.length || record.targetUri !== p.url || (record.type !== 'response' && record.type !== 'conversion')) {
          report({ kind: 'warc', path: rel, id: p.id, detail: `the record at offset ${p.offset} is a ${record.type} of ${record.targetUri} (${record.length} bytes), not its page (${p.length} bytes)`, fix: `newsnap fetch ${p.url}` });
        }
        next = pointers.next();
      }
    };
    const damaged = checkWarcFile(join(dir, name), (record) => {
      stats.warcRecords++;
      if (record.wrongDigests.length > 0) {
        report({ kind: 'warc', path: rel, detail: `the ${record.type} record of ${record.targetUri ?? '(no target)'} at offset ${record.offset}: ${record.wrongDigests.join(' and ')} do not match its bytes`, fix: WARC_FIX });
      }
      settle(record.offset);
      previous = record;
      if (stats.warcRecords % 20_000 === 0) tick();
    });
    settle(previous ? (previous as CheckedRecord).offset + 1 : 0);
    previous = null;
    settle(Number.POSITIVE_INFINITY);
    for (const d of damaged) {
      report({ kind: 'warc', path: rel, detail: `${d.length} bytes from offset ${d.offset} do not read back: ${d.reason}`, fix: `the records before and after are whole; ${WARC_FIX}` });
    }
  }
}

const WARC_FIX = 'keep the file; an article whose latest page lay there is listed with its own fix (newsnap fetch URL)';

/** With a date range: only the pages of articles in range, each read at its offset. */
function checkPages(root: string, state: SqliteState, current: Map<string, { day: string }>, stats: VerifyReport['stats'], report: (p: Problem) => void): void {
  for (const [id] of current) {
    const a = state.articles.get(id);
    if (!a?.warc) continue;
    const path = existsSync(join(root, a.warc.file)) ? join(root, a.warc.file) : join(root, a.warc.file + OPEN_SUFFIX);
    if (!existsSync(path)) {
      report({ kind: 'warc', path: a.warc.file, id, detail: 'its page lies in this WARC file, and it is missing', fix: 'restore it from a backup' });
      continue;
    }
    const record = checkWarcRecordAt(path, a.warc.offset, a.warc.length);
    stats.warcRecords++;
    stats.warcBytes += a.warc.length;
    if ('reason' in record) report({ kind: 'warc', path: a.warc.file, id, detail: `its page at offset ${a.warc.offset}: ${record.reason}`, fix: `newsnap fetch ${a.url}` });
    else if (record.wrongDigests.length > 0 || record.targetUri !== a.url) {
      report({ kind: 'warc', path: a.warc.file, id, detail: `its page at offset ${a.warc.offset}: ${record.wrongDigests.length > 0 ? `${record.wrongDigests.join(' and ')} do not match` : `the record is of ${record.targetUri}`}`, fix: `newsnap fetch ${a.url}` });
    }
  }
}
