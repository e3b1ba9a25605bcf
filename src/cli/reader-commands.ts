import type { Command } from 'commander';
import { runCommand, withCommonOptions } from './command-kit.js';
import { createContext, type CommonFlags } from './context.js';

/**
 * The commands that read a storage folder (and downstream tools use): its history, its checks,
 * its change feed and its export, the webhook outbox, and the configuration.
 */
export function addReaderCommands(program: Command): void {
  withCommonOptions(
    program
      .command('history')
      .description("list an article's versions and removals (captured time, event, bytes, sha256, path)")
      .argument('<id>', 'the article id: the number at the end of its URL, e.g. 1102014239')
      .option('--diff', 'also print a unified diff between consecutive versions')
      .option('--json', 'as JSON: {id, url, state, title, versions: [{at, event, sha256, previousSha256, bytes, path, modifiedTime, reason, diff?}]}')
      .addHelpText(
        'after',
        `
Reads the storage folder without taking its lock: it works beside a running crawl or serve.
Versions are oldest first; "path" is where that version's bytes are now (the snapshot, or its
file under history/ once replaced). A removal ("gone") has no bytes of its own.`,
      ),
  ).action((id: string, opts: CommonFlags & { diff?: boolean; json?: boolean }) =>
    runCommand(async () => (await import('./history-command.js')).historyCommand(createContext(opts), id, opts)),
  );

  withCommonOptions(
    program
      .command('verify')
      .description('check the storage folder: snapshots and history against the manifest, state, the search index, left-behind files, WARC digests; sends no request')
      .option('--since <date>', 'only articles of this day (YYYY-MM-DD) or later (their WARC records only)')
      .option('--until <date>', 'only articles of this day or earlier')
      .option('--json', 'as JSON: {whole, problems: [{kind, path, id, detail, fix}], problemCount, runInProgress, stats}')
      .addHelpText(
        'after',
        `
Reads and sends nothing: every current snapshot and history file against the sha256 and bytes the
manifest gives it; state and the search index against the manifest; no temporary, journal or open WARC file left
behind a finished run; every WARC file record by record (WARC-Block-Digest, WARC-Payload-Digest)
and each article's page where state says it lies. Each problem is listed with its path and the
fix (newsnap reextract --id … where the archive can rebuild it). It takes no lock: it works
beside a running crawl or serve (files that run is writing are left out). Exits 0 when all is
whole, 9 otherwise. Memory stays bounded: the manifest and the WARC files are streamed.`,
      ),
  ).action((opts: CommonFlags & { since?: string; until?: string; json?: boolean }) =>
    runCommand(async () => (await import('./verify-command.js')).verifyCommand(createContext(opts), opts)),
  );

  withCommonOptions(
    program
      .command('config')
      .description('print the effective configuration and where each value came from')
      .option('--json', 'as JSON'),
  ).action((opts: CommonFlags & { json?: boolean }) => runCommand(async () => (await import('./config-command.js')).configCommand(createContext(opts).loaded, opts.json === true)));

  addDownstreamCommands(program);
}

/** events, deliver and export: what downstream tools read, and the webhook outbox. */
function addDownstreamCommands(program: Command): void {
  withCommonOptions(
    program
      .command('events')
      .description('print the change feed: manifest events after a seq, as JSON lines (the same as GET /events)')
      .option('--after <seq>', 'only events after this seq (the last one a consumer handled); default 0, every event')
      .option('--follow', 'keep waiting for new events and print them as they are written')
      .addHelpText(
        'after',
        `
Each line is a manifest line with its "seq": its line number in manifest.jsonl, 1 for the first,
with no gaps (older lines get theirs from their position). A consumer keeps the last seq it
handled and resumes with --after SEQ. It takes no lock: it works beside a running crawl or serve.`,
      ),
  ).action((opts: CommonFlags & { after?: string; follow?: boolean }) =>
    runCommand(async () => (await import('./events-command.js')).eventsCommand(createContext(opts), opts)),
  );

  withCommonOptions(
    program
      .command('deliver')
      .description('send the webhook outbox now; --replay sends dead deliveries (or every event after a seq) again')
      .option('--replay', 'make dead deliveries pending again (and enable an endpoint a 410 turned off)')
      .option('--after <seq>', 'with --replay: every event after this seq, delivered or not')
      .option('--url <url>', 'with --replay: only this configured endpoint')
      .option('--wait <seconds>', 'send for at most this long (default 60)')
      .addHelpText(
        'after',
        `
Webhooks come from delivery.webhooks ({url, secret, events}); each manifest event is one POST,
signed as Standard Webhooks says. A crawl, fetch or serve delivers them too: this command is for
a replay, or to send what is left without crawling. Beside a running serve (which holds the lock)
--replay only marks the deliveries: the serve sends them.`,
      ),
  ).action((opts: CommonFlags & { replay?: boolean; after?: string; url?: string; wait?: string }) =>
    runCommand(async () => (await import('./deliver-command.js')).deliverCommand(createContext(opts), opts)),
  );

  withCommonOptions(
    program
      .command('export')
      .description('every captured article as JSON lines or CSV (from its snapshot file), a WACZ web archive or a Parquet dataset; no lock, no request')
      .option('--since <date>', 'only articles of this day (YYYY-MM-DD) or later')
      .option('--until <date>', 'only articles of this day or earlier')
      .option('--format <format>', 'jsonl (default), csv (RFC 4180), wacz (a web archive for ReplayWeb.page and pywb) or parquet (three tables for DuckDB, pandas, Hugging Face)')
      .option('--id <ids...>', 'only these articles (ids)')
      .option('--versions', "each article's earlier versions too (current: false), before its current one")
      .option('--out <file>', 'write here instead of stdout (-); a name ending in .gz is gzipped; wacz: FILE.wacz, parquet: a folder')
      .addHelpText(
        'after',
        `
Fields: id, url, date, title, siteName, description, image, body (the fields of the snapshot
format; an absent optional field is null, in CSV an empty field), sha256 and bytes of the file,
capturedAt, modifiedTime, state (done or gone), and with --versions current. Streamed: 100 000
articles in the memory of a page. Exits 1 when a file the manifest names cannot be read.

wacz: every archived capture of the articles (each version, revisits and their originals) in new
WARC files, indexes/index.cdxj, pages/pages.jsonl (one page per version) and datapackage.json
(WACZ 1.1.1). Only closed WARC files are read (not one a running crawl is writing).
parquet: articles.parquet, versions.parquet, captures.parquet and a README.md dataset card in the
--out folder. See docs/formats.md.`,
      ),
  ).action((opts: CommonFlags & { since?: string; until?: string; format?: string; versions?: boolean; out?: string; id?: string[] }) =>
    runCommand(async () => (await import('./export-command.js')).exportCommand(createContext(opts), opts)),
  );
}
