// The search index: its build from a large store, its queries, its counts over time, its size, and
// what it costs a crawl, printed with the machine's description and written to bench/RESULTS.md
// (its own section, between markers that bench/run.mjs keeps).
// Usage: node bench/search.mjs [--articles 100000] [--history 20000] [--runs 50] [--count-runs 10] [--crawl-rounds 3] [--no-crawl] [--keep DIR]
// (npm run build first)
//
// 1. bench/big-store.mjs makes the store: `articles` articles of the mirror's model, `history` of
//    them edited once (their first version under history/, a paragraph added: one in 20 naming
//    Akkuyu, one in 200 Kırım).
// 2. `newsnap index --rebuild` builds the index from the files, a whole process under GNU time
//    (start-up included): versions per second and peak RSS.
// 3. Queries in this process on a read-only SearchReader, as serve and `newsnap search` run them: a
//    first page of 20, `runs` times each after a warm-up, and the count by week of every match
//    (`/search/count`), `count-runs` times: median and p95 of each.
// 4. Counts over time of a common word over the store's last 12 months, by week and by month.
// 5. The index's size against the bytes of the snapshot and history files.
// 6. The crawl with the index and without, from one run of bench/run.mjs --tools newsnap,newsnap-noindex.
import { flags } from './flags.mjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { writeSection } from './results.mjs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const flag = flags(args).text;
const articles = Number(flag('articles', 100_000));
const history = Number(flag('history', 20_000));
const runs = Number(flag('runs', 50));
const crawlRounds = Number(flag('crawl-rounds', 3));
const crawl = !args.includes('--no-crawl');
const keep = flag('keep', null);
const storage = keep ?? mkdtempSync(join(os.tmpdir(), 'newsnap-search-bench-'));
const cli = join(root, 'dist/cli/main.js');
const log = (line) => process.stdout.write(`${line}\n`);
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const load = () => os.loadavg()[0].toFixed(1);
log(`# search index benchmark\nmachine: ${machine}; load average ${load()} at the start`);

const built = spawnSync(process.execPath, [join(here, 'big-store.mjs'), '--articles', String(articles), '--history', String(history), '--keep', storage, '--build-only'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
if (built.status !== 0) throw new Error('big-store.mjs failed');
log(built.stdout.trim().split('\n').at(-1));

/** A command as a whole process under GNU time: wall, CPU, peak RSS. */
function timed(cmdArgs) {
  const res = spawnSync('/usr/bin/time', ['-v', process.execPath, cli, ...cmdArgs, '--storage', storage, '--log-level', 'error'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const clock = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(res.stderr);
  const field = (re) => Number(re.exec(res.stderr)?.[1]);
  return {
    status: res.status,
    stdout: res.stdout,
    wall: clock ? Number(clock[1] ?? 0) * 3600 + Number(clock[2]) * 60 + Number(clock[3]) : NaN,
    cpu: field(/User time \(seconds\): ([\d.]+)/) + field(/System time \(seconds\): ([\d.]+)/),
    rss: field(/Maximum resident set size \(kbytes\): (\d+)/) / 1024,
  };
}

// 2. The build.
const build = timed(['index', '--rebuild']);
if (build.status !== 0) throw new Error(`index --rebuild failed:\n${build.stdout}`);
const versions = Number(/: (\d+) versions of/.exec(build.stdout)?.[1]);
const buildRate = versions / build.wall;
log(`index --rebuild: ${versions} versions in ${build.wall.toFixed(1)} s (whole process): ${buildRate.toFixed(0)} versions/s; ${build.cpu.toFixed(1)} s CPU; peak RSS ${build.rss.toFixed(0)} MB  [${build.stdout.trim()}]`);

// 5. Sizes.
const bytesUnder = (dir) => readdirSync(join(storage, dir), { recursive: true }).reduce((n, rel) => (rel.endsWith('.txt') ? n + statSync(join(storage, dir, rel)).size : n), 0);
const textBytes = bytesUnder('snapshots') + bytesUnder('history');
const indexBytes = statSync(join(storage, 'search.sqlite')).size;
log(`size: search.sqlite ${(indexBytes / 1e6).toFixed(1)} MB for ${(textBytes / 1e6).toFixed(1)} MB of snapshot and history files: ${((indexBytes / textBytes) * 100).toFixed(0)} % (the text itself is in it once, with two FTS5 indexes)`);

// 3. Queries.
const { SearchReader } = await import(join(root, 'dist/storage/search/search-reader.js'));
const { countOverTime } = await import(join(root, 'dist/storage/search/count-over-time.js'));
const reader = SearchReader.open(storage);
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor((s.length - 1) / 2)], p95: s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)] };
};
function time(fn, n) {
  for (let i = 0; i < 3; i++) fn();
  const ms = [];
  let out;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    out = fn();
    ms.push(performance.now() - t);
  }
  return { ...stats(ms), out };
}
// [what, query, versions, scaling]: `scaling` marks the queries of issue 28's "search that scales"
// (versions=any, removed, added over every version), held to their own targets below.
const QUERIES = [
  ['common word', 'ankara', 'current'],
  ['rare word', 'kırım', 'current'],
  ['phrase', '"rekor kırdı"', 'current'],
  ['prefix', 'güçlen*', 'current'],
  ['common word, any version', 'ankara', 'any', true],
  ['four short prefixes, any version', 'bir* OR ile* OR ver* OR ola*', 'any', true],
  ['edited out (common word)', 'ankara', 'removed', true],
  ['edited in (rare word)', 'akkuyu', 'added', true],
];
const countRuns = Number(flag('count-runs', 10));
const queryRows = [];
for (const [what, query, versions, scaling] of QUERIES) {
  const r = time(() => reader.search({ query, versions }, { limit: 20 }), runs);
  // The count as /search/count answers it by default: every match, by week.
  const c = time(() => countOverTime(reader, { query, versions }, 'week'), countRuns);
  const matches = c.out.count;
  queryRows.push({ what, query, versions, scaling: scaling === true, ...r, count: c, matches });
  log(`query ${what} (${query}, versions=${versions}): first page of ${r.out.hits.length}: median ${r.median.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms; count by week (${matches} articles match): median ${c.median.toFixed(0)} ms, p95 ${c.p95.toFixed(0)} ms`);
}

// 4. Counts over time: the store's last 12 months.
const lastDay = '2025-12-15';
const since = '2024-12-16';
const countRows = [];
for (const interval of ['week', 'month']) {
  const r = time(() => countOverTime(reader, { query: 'ankara', since, until: lastDay }, interval), 10);
  countRows.push({ interval, ...r });
  log(`count over time of "ankara", ${since}–${lastDay} by ${interval}: median ${r.median.toFixed(0)} ms, p95 ${r.p95.toFixed(0)} ms (${r.out.buckets.length} buckets, ${r.out.count} of ${r.out.total} articles)`);
}
reader.close();
if (!keep) rmSync(storage, { recursive: true, force: true });

// 6. The crawl with the index and without, alternating, from one run of the fair crawl benchmark.
let crawlLines = [];
let costLine = null;
if (crawl) {
  const res = spawnSync(process.execPath, [join(here, 'run.mjs'), '--tools', 'newsnap,newsnap-noindex', '--rounds', String(crawlRounds)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  if (res.status !== 0) throw new Error(`run.mjs failed:\n${res.stdout}`);
  crawlLines = res.stdout.split('\n').filter((l) => /^round \d+ newsnap/.test(l));
  costLine = res.stdout.split('\n').find((l) => l.startsWith('search index:')) ?? null;
  for (const l of [...crawlLines, costLine]) log(l);
}
const slower = costLine ? Number(/pair: (-?[\d.]+) % slower/.exec(costLine)?.[1]) : NaN;

const q = (what) => queryRows.find((r) => r.what === what);
const firstPages = ['common word', 'rare word', 'phrase', 'prefix'].map(q);
const worstP95 = Math.max(...firstPages.map((r) => r.p95));
const countMonth = countRows.find((r) => r.interval === 'month');
const scaling = queryRows.filter((r) => r.scaling);
const worstScalingPage = Math.max(...scaling.map((r) => r.p95));
const worstScalingCount = Math.max(...scaling.map((r) => r.count.p95));
const targets = [
  ['index build ≥ 3 000 versions/s', `${buildRate.toFixed(0)} versions/s`, buildRate >= 3000],
  ['index build peak RSS < 300 MB', `${build.rss.toFixed(0)} MB`, build.rss < 300],
  ['p95 ≤ 50 ms for a first page of 20 (common, rare, phrase, prefix)', `${worstP95.toFixed(1)} ms (worst)`, worstP95 <= 50],
  ['count over time, common word, 12 months ≤ 300 ms', `${countMonth.p95.toFixed(0)} ms (p95, by month)`, countMonth.p95 <= 300],
  ['p95 ≤ 200 ms for a first page of versions=any, removed, added', `${worstScalingPage.toFixed(1)} ms (worst)`, worstScalingPage <= 200],
  ['p95 ≤ 1 s for a count of versions=any, removed, added', `${worstScalingCount.toFixed(0)} ms (worst)`, worstScalingCount <= 1000],
  ...(costLine ? [['crawl with the index ≤ 10 % slower than without', `${slower.toFixed(1)} % slower`, slower <= 10]] : []),
];
for (const [what, got, met] of targets) log(`target: ${what}: ${got} ${met ? 'met' : 'NOT met'}`);

const section = `Produced by \`node bench/search.mjs --articles ${articles} --history ${history}\` on ${new Date().toISOString().slice(0, 10)}; machine: ${machine}
(shared: load average ${load()} at the end).

The store: ${built.stdout.trim().split('\n').at(-1).replace(/^built: /, '')}. Its text is drawn
(Zipf, seeded) from the words of the reference pages and snapshots and their inflected forms
(bench/vocabulary.mjs), so a prefix spreads over many terms as on the site; the edits add a
paragraph (one in 20 naming Akkuyu, one in 200 Kırım). The store has no WARC files, so the build never reads
block boundaries from the archive (a crawled store does, for bodies whose blocks may have run
together): a build there costs more per version.

- **Build** (\`newsnap index --rebuild\`, a whole process, start-up included): ${versions} versions in
  ${build.wall.toFixed(1)} s, **${buildRate.toFixed(0)} versions/s**, ${build.cpu.toFixed(1)} s CPU, **peak RSS ${build.rss.toFixed(0)} MB**.
- **Size**: \`search.sqlite\` is ${(indexBytes / 1e6).toFixed(1)} MB for ${(textBytes / 1e6).toFixed(1)} MB of snapshot and history files,
  **${((indexBytes / textBytes) * 100).toFixed(0)} %** of them (the text is stored once, with the folded and the exact FTS5 index).

| query (first page of 20, ${runs} runs; count by week, ${countRuns} runs) | versions | articles matching | first page median | p95 | count median | p95 |
|---|---|---|---|---|---|---|
${queryRows.map((r) => `| ${r.what}: \`${r.query}\` | ${r.versions} | ${r.matches} | ${r.median.toFixed(1)} ms | ${r.p95.toFixed(1)} ms | ${r.count.median.toFixed(0)} ms | ${r.count.p95.toFixed(0)} ms |`).join('\n')}

| count over time of \`ankara\`, ${since} to ${lastDay} (10 runs) | median | p95 |
|---|---|---|
${countRows.map((r) => `| by ${r.interval} (${r.out.buckets.length} buckets) | ${r.median.toFixed(0)} ms | ${r.p95.toFixed(0)} ms |`).join('\n')}

${
  costLine
    ? `Crawl with the index and without (\`node bench/run.mjs --tools newsnap,newsnap-noindex --rounds ${crawlRounds}\`: the fair crawl
benchmark, alternating, 3000 articles, concurrency 16, medians): ${costLine.replace(/^search index: /, '')}.

${crawlLines.map((l) => `    ${l}`).join('\n')}
`
    : ''
}
| target | result | met? |
|---|---|---|
${targets.map(([what, got, met]) => `| ${what} | ${got} | ${met ? 'yes' : '**no**'} |`).join('\n')}
`;
writeSection(join(here, 'RESULTS.md'), '## Search index (`node bench/search.mjs`)', section);
log('wrote its section of bench/RESULTS.md');
