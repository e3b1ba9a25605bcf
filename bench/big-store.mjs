// A storage folder of N articles (100 000 by default) as newsnap would leave it, without crawling:
// the mirror's model gives each article's exact snapshot; files, manifest (with seq) and state
// are written as the storage writes them. With --history N, N of them were edited once: their
// first version lies under history/ and an `updated` line follows (the edit adds a paragraph, one
// in 20 naming Akkuyu, one in 200 Kırım: words to search that few articles have). Then `export`
// (JSON lines and CSV) and `verify` run on it as whole processes, and their speed and peak RSS are
// printed; --build-only (with --keep) stops after building (bench/search.mjs and bench/export-formats.mjs
// build their stores so). --model-words writes the model's own 50-word vocabulary instead of the
// realistic one (bench/vocabulary.mjs: thousands of words from the reference texts, Zipf-drawn).
// Usage: node bench/big-store.mjs [--articles 100000] [--history 0] [--keep DIR] [--build-only] [--model-words]   (npm run build first)
import { flags } from './flags.mjs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = flags(args).text;
const count = Number(flag('articles', 100000));
const historyCount = Number(flag('history', 0));
const onlyBuild = args.includes('--build-only');
const keep = flag('keep', null);
const storage = keep ?? mkdtempSync(join(os.tmpdir(), 'newsnap-big-'));
const cli = join(root, 'dist/cli/main.js');
const { generateArticles, expectedSnapshot, articleUrl, seededRandom } = await import(join(root, 'dist/mirror/site-model.js'));
const { realisticVocabulary, realisticSentence, zipfPicker } = await import('./vocabulary.mjs');
const { SqliteState } = await import(join(root, 'dist/storage/state/state-store.js'));
const { MANIFEST_OFFSET, MANIFEST_SEQ } = await import(join(root, 'dist/storage/state/state-schema.js'));
const log = (line) => process.stdout.write(`${line}\n`);
log(`# a storage folder of ${count} articles\nmachine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);

let t = performance.now();
const articles = generateArticles({ count, days: Math.ceil(count / 150), lastDay: '20251215', seed: 3, jsEvery: 0 });
const vocabulary = args.includes('--model-words') ? null : realisticVocabulary();
if (vocabulary) {
  // Each article's text again from the realistic vocabulary, seeded by its id (the same store each
  // time); the model's block structure (headings, empty blocks, skipped embeds) stays.
  const pick = zipfPicker(vocabulary);
  for (const a of articles) {
    const rnd = seededRandom(Number(a.id) ^ 0x2545f491);
    const blocks = a.blocks.map((b) => (!b.text ? b : { ...b, text: b.type === 'h2' ? realisticSentence(pick, rnd, 3, 7) : Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => `${realisticSentence(pick, rnd, 6, 20)}.`).join(' ') }));
    a.revise({ title: realisticSentence(pick, rnd, 4, 9), description: realisticSentence(pick, rnd, 8, 16), blocks });
  }
}
const state = new SqliteState(storage);
const lines = [];
let offset = 0;
let seq = 0;
let bytes = 0;
const made = new Set();
const apply = [];
const sha = (text) => createHash('sha256').update(text).digest('hex');
const mkdirOnce = (dir) => {
  if (!made.has(dir)) mkdirSync(dir, { recursive: true }), made.add(dir);
};
const addLine = (record) => {
  const line = `${JSON.stringify(record)}\n`;
  lines.push(line);
  apply.push({ record, offset });
  offset += Buffer.byteLength(line);
};
// Every (count / history)-th article was edited: spread over every day.
const every = historyCount > 0 ? Math.max(1, Math.floor(count / historyCount)) : 0;
let edited = 0;
for (const [i, a] of articles.entries()) {
  const first = expectedSnapshot(a);
  if (first === null) continue;
  const date = `${a.day.slice(0, 4)}-${a.day.slice(4, 6)}-${a.day.slice(6, 8)}`;
  const path = `snapshots/${date}/${a.id}.txt`;
  mkdirOnce(join(storage, 'snapshots', date));
  const at = new Date(Date.UTC(Number(a.day.slice(0, 4)), Number(a.day.slice(4, 6)) - 1, Number(a.day.slice(6, 8)), 10)).toISOString();
  const url = articleUrl(a);
  addLine({ seq: ++seq, event: 'new', id: a.id, url, date, path, sha256: sha(first), bytes: Buffer.byteLength(first), capturedAt: at, fetchedAt: at, title: a.title });
  let text = first;
  if (every > 0 && i % every === 0 && edited < historyCount) {
    edited++;
    const word = edited % 200 === 0 ? 'Kırım' : edited % 20 === 0 ? 'Akkuyu' : 'bakanlık';
    text = `${first.slice(0, -2)}Güncelleme: ${word} hakkında yeni açıklama yapıldı.\n\n`;
    const historyPath = `history/${date}/${a.id}/${at.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.txt`;
    mkdirOnce(join(storage, 'history', date, a.id));
    writeFileSync(join(storage, historyPath), first);
    bytes += Buffer.byteLength(first);
    const later = new Date(Date.parse(at) + 6 * 3_600_000).toISOString();
    addLine({ seq: ++seq, event: 'updated', id: a.id, url, date, path, sha256: sha(text), bytes: Buffer.byteLength(text), capturedAt: later, fetchedAt: later, title: a.title, previousSha256: sha(first), historyPath });
  }
  writeFileSync(join(storage, path), text);
  bytes += Buffer.byteLength(text);
}
writeFileSync(join(storage, 'manifest.jsonl'), lines.join(''));
state.transaction(() => {
  for (const { record, offset: at } of apply) state.articles.applyEvent(record, at);
  state.meta.set(MANIFEST_OFFSET, String(offset));
  state.meta.set(MANIFEST_SEQ, String(seq));
  state.meta.set('storage.closedCleanly', '1');
});
state.close();
log(`built: ${seq} versions${vocabulary ? ` from a vocabulary of ${vocabulary.length} words` : ' from the model\'s 50 words'} (${seq - edited} snapshots, ${edited} history files; ${(bytes / 1e6).toFixed(1)} MB), manifest ${(offset / 1e6).toFixed(1)} MB, in ${((performance.now() - t) / 1000).toFixed(1)} s`);
if (onlyBuild && keep) process.exit(0);

/** A command as a whole process under GNU time: wall, peak RSS. */
function timed(cmdArgs) {
  const res = spawnSync('/usr/bin/time', ['-v', process.execPath, cli, ...cmdArgs, '--storage', storage, '--log-level', 'error'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const clock = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(res.stderr);
  const wall = clock ? Number(clock[1] ?? 0) * 3600 + Number(clock[2]) * 60 + Number(clock[3]) : NaN;
  const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(res.stderr)?.[1]) / 1024;
  return { status: res.status, wall, rss, stdout: res.stdout };
}

for (const [format, file] of [['jsonl', 'export.jsonl'], ['csv', 'export.csv.gz']]) {
  const out = join(os.tmpdir(), `newsnap-big-${process.pid}-${file}`);
  const r = timed(['export', '--format', format, '--out', out]);
  const size = statSync(out).size;
  rmSync(out);
  log(`export --format ${format}${file.endsWith('.gz') ? ' (gzipped)' : ''}: exit ${r.status}, ${seq} articles in ${r.wall.toFixed(1)} s: ${(seq / r.wall).toFixed(0)} articles/s, ${(bytes / 1e6 / r.wall).toFixed(1)} MB/s of snapshots read, ${(size / 1e6).toFixed(1)} MB written; peak RSS ${r.rss.toFixed(0)} MB`);
}
t = performance.now();
const v = timed(['verify']);
log(`verify: exit ${v.status}, ${v.wall.toFixed(1)} s, peak RSS ${v.rss.toFixed(0)} MB — ${v.stdout.trim().split('\n').at(-1)}`);
if (!keep) rmSync(storage, { recursive: true, force: true });
