// The WACZ and Parquet exports, measured: on the 100 000-article store of big-store.mjs, Parquet
// against JSON lines (articles/s, MB/s, peak RSS), and the same DuckDB query (articles per month
// that mention a word) over the Parquet table and over the JSON-lines file; then, on a store a
// crawl of the mirror archived (3000 pages by default), WACZ and Parquet with their WARC reading.
// Usage: node bench/export-formats.mjs [--articles 100000] [--archived 3000] [--write]   (npm run build first)
// --write puts the figures into bench/RESULTS.md, as its own section (bench/run.mjs keeps it).
import { flags } from './flags.mjs';
import { mirrorOrigin } from './mirror-process.mjs';
import { writeSection } from './results.mjs';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'dist/cli/main.js');
const args = process.argv.slice(2);
const flag = flags(args).number;
const articles = flag('articles', 100000);
const archived = flag('archived', 3000);
const work = mkdtempSync(join(os.tmpdir(), 'newsnap-formats-'));
const lines = [];
const log = (line) => {
  lines.push(line);
  process.stdout.write(`${line}\n`);
};
const mb = (bytes) => bytes / 1e6;
const sizeOf = (path) => (statSync(path).isDirectory() ? readdirSync(path).reduce((n, f) => n + sizeOf(join(path, f)), 0) : statSync(path).size);

/** A command as a whole process under GNU time: exit, wall seconds, peak RSS in MB. */
function timed(cmdArgs, env = {}) {
  const res = spawnSync('/usr/bin/time', ['-v', process.execPath, cli, ...cmdArgs, '--log-level', 'error'], { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, ...env } });
  const clock = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(res.stderr);
  const wall = clock ? Number(clock[1] ?? 0) * 3600 + Number(clock[2]) * 60 + Number(clock[3]) : NaN;
  const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(res.stderr)?.[1]) / 1024;
  if (res.status !== 0) throw new Error(`${cmdArgs.join(' ')} exited ${res.status}: ${res.stderr.slice(-2000)}`);
  return { wall, rss };
}

log(`# newsnap export formats\nmachine: ${os.cpus().length} × ${os.cpus()[0]?.model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);

// 1. The 100 000-article store: Parquet against JSON lines.
const big = join(work, 'big');
const built = execFileSync(process.execPath, [join(here, 'big-store.mjs'), '--articles', String(articles), '--keep', big, '--build-only'], { encoding: 'utf8' });
const [, snapshots, snapshotMb] = (/built: (\d+) snapshots \(([\d.]+) MB\)/.exec(built) ?? []).map(Number);
log(built.trim().split('\n').at(-1));
const jsonl = join(work, 'export.jsonl');
const parquet = join(work, 'dataset');
for (const [format, out] of [['jsonl', jsonl], ['parquet', parquet]]) {
  const r = timed(['export', '--storage', big, '--format', format, '--out', out]);
  const written = sizeOf(out);
  log(`export --format ${format}: ${snapshots} articles in ${r.wall.toFixed(1)} s = ${(snapshots / r.wall).toFixed(0)} articles/s, ${(snapshotMb / r.wall).toFixed(1)} MB/s of snapshots read, ${mb(written).toFixed(1)} MB written; peak RSS ${r.rss.toFixed(0)} MB`);
}

// 2. One query, two sources: the month is taken from the URL, so the SQL is the same text.
const db = await (await DuckDBInstance.create(':memory:', { threads: String(os.cpus().length) })).connect();
const sql = (from) => `SELECT regexp_extract(url, '/(\\d{6})\\d{2}/', 1) AS month, count(*) AS n FROM ${from} WHERE body ILIKE '%ekonomi%' GROUP BY month ORDER BY month`;
const sources = { parquet: `'${join(parquet, 'articles.parquet')}'`, 'JSON lines': `read_json('${jsonl}', format = 'newline_delimited')` };
const answers = {};
log(`query: ${sql('<source>')}`);
for (const [name, from] of Object.entries(sources)) {
  const times = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    answers[name] = JSON.stringify((await db.runAndReadAll(sql(from))).getRowsJson());
    times.push((performance.now() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  log(`duckdb over ${name}: median of 3 ${times[1].toFixed(3)} s (min ${times[0].toFixed(3)}, max ${times[2].toFixed(3)})`);
}
log(`same answer from both: ${answers.parquet === answers['JSON lines']} (${JSON.parse(answers.parquet).length} months)`);
db.closeSync();
rmSync(big, { recursive: true, force: true });
rmSync(jsonl, { force: true });
rmSync(parquet, { recursive: true, force: true });

// 3. A crawled, archived store: WACZ (reads every closed WARC file) and Parquet (with captures).
const mirror = spawn(process.execPath, [cli, 'mirror', '--port', '0', '--crawl-delay', '0', '--articles', String(archived), '--days', '30'], { stdio: ['ignore', 'pipe', 'inherit'] });
const origin = await mirrorOrigin(mirror);
const store = join(work, 'archived');
const since = new Date(Date.now() - 40 * 86400_000).toISOString().slice(0, 10);
const crawl = await new Promise((resolve) => {
  const child = spawn(process.execPath, [cli, 'crawl', '--since', since, '--origin', origin, '--storage', store, '--rate', '0', '--render', 'never', '--log-level', 'error'], { stdio: 'ignore' });
  child.on('exit', resolve);
});
mirror.kill();
// 1 is a partial run (a page or two the mirror fails on purpose): the archive is there all the same.
if (crawl !== 0 && crawl !== 1) throw new Error(`crawl exited ${crawl}`);
const warcMb = mb(sizeOf(join(store, 'warc')));
const captured = readdirSync(join(store, 'snapshots')).reduce((n, day) => n + readdirSync(join(store, 'snapshots', day)).length, 0);
log(`archived store: ${archived} mirror articles crawled, ${captured} captured, ${warcMb.toFixed(1)} MB of WARC files`);
for (const [format, out] of [['wacz', join(work, 'x.wacz')], ['parquet', join(work, 'archived-dataset')]]) {
  const r = timed(['export', '--storage', store, '--format', format, '--out', out]);
  log(`export --format ${format}: ${captured} articles in ${r.wall.toFixed(1)} s = ${(captured / r.wall).toFixed(0)} articles/s, ${(warcMb / r.wall).toFixed(1)} MB/s of WARC read, ${mb(sizeOf(out)).toFixed(1)} MB written; peak RSS ${r.rss.toFixed(0)} MB`);
}
rmSync(work, { recursive: true, force: true });

if (args.includes('--write')) {
  writeSection(join(here, 'RESULTS.md'), '## Export formats (`node bench/export-formats.mjs`)', `Run on ${new Date().toISOString().slice(0, 10)}; every figure from one run, each export a whole process under GNU time. The machine is shared with other developers' builds and tests: figures move between runs (the JSON-lines export took from 8 to 28 s on the same store on one evening), so compare rows of one run.\n\n\`\`\`\n${lines.join('\n')}\n\`\`\``);
  process.stdout.write('wrote bench/RESULTS.md\n');
}
