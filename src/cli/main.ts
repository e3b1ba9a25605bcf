#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { createContext, type CommonFlags } from './context.js';
import { EXIT_CODES_HELP, ExitCode } from '../exit-codes.js';
import { runCommand, withCommonOptions } from './command-kit.js';
import { addReaderCommands } from './reader-commands.js';
import { addSearchCommands } from './search-commands.js';
import type { MirrorFlags } from './mirror-command.js';
import { OUTCOMES, type OutcomeKind } from '../storage/state/article-states.js';

/** The lines `fetch` prints, one per URL, with what each means (from the outcome table). */
const FETCH_LINES: Array<[OutcomeKind, string]> = [
  ['written', 'written PATH URL'],
  ['updated', 'updated PATH URL'],
  ['restored', 'restored PATH URL'],
  ['unchanged', 'unchanged PATH URL'],
  ['printed', 'printed URL'],
  ['gone', 'gone URL (REASON)'],
  ['missing', 'missing URL (HTTP 404, N so far)'],
  ['not-article', 'not an article (REASON) URL'],
  ['blocked', 'blocked URL: REASON'],
  ['failed', 'failed URL: REASON'],
  ['unreachable', 'unreachable URL: cannot reach ADDRESS (CAUSE): REMEDY'],
  ['interrupted', 'interrupted URL: …'],
];
const FETCH_HELP = `\nPrints one line per URL (stdout; stderr with --stdout):\n${FETCH_LINES.map(([kind, line]) => `  ${line.padEnd(55)} ${OUTCOMES[kind].means}`).join('\n')}`;

export function buildProgram(): Command {
  const program = new Command('newsnap')
    .description('A polite crawler that snapshots anlatilaninotesi.com.tr (Sputnik Türkiye) articles into exact text files.')
    .version('0.2.0')
    .showHelpAfterError()
    .exitOverride();
  program.addHelpText('after', EXIT_CODES_HELP);

  addCaptureCommands(program);
  addWriterCommands(program);
  addReaderCommands(program);
  addSearchCommands(program);
  addMirrorCommands(program);
  return program;
}

/** extract, fetch and crawl: from a saved page, a few URLs, or the whole site. */
function addCaptureCommands(program: Command): void {
  withCommonOptions(
    program
      .command('extract')
      .description('print the snapshot of a saved article page on stdout')
      .argument('<file>', 'a saved HTML page')
      .option('--url <url>', "the page's own URL on the site (else its canonical URL is used)"),
  ).action((file: string, opts: CommonFlags & { url?: string }) =>
    runCommand(async () => (await import('./extract-command.js')).extractCommand(createContext(opts), file, opts.url)),
  );

  withCommonOptions(
    program
      .command('fetch')
      .description('fetch article URLs now, and store their snapshots (or print them with --stdout)')
      .argument('<url...>', 'article URLs of the site')
      .option('--stdout', 'print the snapshots on stdout instead of storing them; result lines go to stderr')
      .addOption(new Option('--render <policy>', 'browser render: never, fallback (empty static body) or always').choices(['never', 'fallback', 'always']))
      .option('--rate <n>', 'requests a second (0 = no limit; mirrors only)')
      .addHelpText('after', FETCH_HELP),
  ).action((inputs: string[], opts: CommonFlags & { stdout?: boolean; render?: string; rate?: string }) =>
    runCommand(async () =>
      (await import('./fetch-command.js')).fetchCommand(
        createContext(opts, [
          { key: 'render.policy', value: opts.render, flag: '--render' },
          { key: 'crawl.rate', value: opts.rate, flag: '--rate' },
        ]),
        inputs,
        { stdout: opts.stdout === true },
      ),
    ),
  );

  withCommonOptions(
    program
      .command('crawl')
      .description('find what the site published and snapshot it: incremental by default, a backfill with --since')
      .option('--since <date>', 'backfill from this day (YYYY-MM-DD) through the month sitemaps (day archives as fallback)')
      .option('--until <date>', 'last day of the backfill (default: today)')
      .option('--max <n>', 'process at most N articles this run')
      .option('--dry-run', 'discover and list the work on stdout; fetch no article')
      .option('--retry-failed', 'make every failed article pending again first, its failed runs forgiven (those that failed all their runs are otherwise retried daily, then weekly)')
      .option('--rate <n>', 'requests a second over any rolling second (default 1; 0 = no limit, for mirrors only)')
      .option('--concurrency <n>', 'requests in flight')
      .addOption(new Option('--render <policy>', 'browser render: never, fallback or always').choices(['never', 'fallback', 'always']))
      .addHelpText(
        'after',
        `
Without --since the run is incremental: RSS plus this month's sitemap (and the previous month's
near a month start), fetched conditionally, then every pending and retryable article, then the
captured articles due for another look (revisit.schedule, a sitemap lastmod that moved, an
article that left its sitemap), at most revisit.maxPerRun of them. An edit becomes a new version
(the old one kept under history/), a 410 or repeated 404 a removal. An article that failed all its
crawl.maxFailedRuns runs is retried on revisit.givenUpSchedule and counts as needing attention.
When the site cannot be reached (DNS, connection, TLS, proxy, timeouts on crawl.unreachableAfter
requests in a row) the run stops at once and exits 3, naming the address it contacted; that never
counts against an article. A crawl holds a lock on the storage folder (a second run exits 4 at
once); SIGINT/SIGTERM aborts what is in flight, saves state and exits 130.`,
      ),
  ).action((opts: CommonFlags & { since?: string; until?: string; max?: string; dryRun?: boolean; retryFailed?: boolean; rate?: string; concurrency?: string; render?: string }) =>
    runCommand(async () =>
      (await import('./crawl-command.js')).crawlCommand(
        createContext(opts, [
          { key: 'crawl.rate', value: opts.rate, flag: '--rate' },
          { key: 'crawl.concurrency', value: opts.concurrency, flag: '--concurrency' },
          { key: 'render.policy', value: opts.render, flag: '--render' },
        ]),
        opts,
      ),
    ),
  );
}

/** serve and reextract: the long-lived service, and the archive's rebuild of snapshots. */
function addWriterCommands(program: Command): void {
  withCommonOptions(
    program
      .command('serve')
      .description('run as a service: crawl on a schedule and serve /healthz /readyz /metrics /status and POST /fetch')
      .option('--port <port>', 'HTTP port (default 8787)')
      .option('--host <host>', 'HTTP address (default 127.0.0.1)')
      .option('--schedule <cron>', "crawl schedule, cron with optional seconds field (default '0 */15 * * * *')")
      .option('--rate <n>', 'requests a second (default 1)')
      .addHelpText(
        'after',
        `
Never runs two crawls at once: a tick that finds one running is skipped and logged.
POST /fetch {"url": "..."} fetches one article through the same queue and rate limit;
with serve.token set (NEWSNAP_SERVE_TOKEN) it needs "Authorization: Bearer <token>".
SIGTERM/SIGINT: stop scheduling, abort the running crawl and any POST /fetch in flight (their
articles stay as they were), save state, exit 0 within 10 s.`,
      ),
  ).action((opts: CommonFlags & { port?: string; host?: string; schedule?: string; rate?: string }) =>
    runCommand(async () =>
      (await import('./serve-command.js')).serveCommand(
        createContext(opts, [
          { key: 'serve.port', value: opts.port, flag: '--port' },
          { key: 'serve.host', value: opts.host, flag: '--host' },
          { key: 'serve.schedule', value: opts.schedule, flag: '--schedule' },
          { key: 'crawl.rate', value: opts.rate, flag: '--rate' },
        ]),
      ),
    ),
  );

  withCommonOptions(
    program
      .command('reextract')
      .description('rebuild snapshots from the WARC archive with the current configuration; sends no request')
      .option('--since <date>', 'only articles of this day (YYYY-MM-DD) or later')
      .option('--until <date>', 'only articles of this day or earlier')
      .option('--id <id...>', 'only these article ids')
      .option('--workers <n>', 'extraction worker threads (default: the number of cores)')
      .addHelpText(
        'after',
        `
Every archived article in range (its latest response, or the DOM a browser render built) goes
through extraction again, as the config now says (site.selectors, …). Snapshots whose bytes
change are written as a new version (the old one kept under history/) with a "reextracted"
manifest line; unchanged ones write nothing, so a second pass writes nothing. It takes the
storage lock like crawl, and works while the site is unreachable.`,
      ),
  ).action((opts: CommonFlags & { since?: string; until?: string; id?: string[]; workers?: string }) =>
    runCommand(async () => (await import('./reextract-command.js')).reextractCommand(createContext(opts), opts)),
  );
}

/** mirror and demo: the local model of the site, and the main job against it offline. */
function addMirrorCommands(program: Command): void {
  program
    .command('mirror')
    .description('serve a deterministic local model of the site (for tests, benchmarks and demos)')
    .option('--port <port>', 'port on 127.0.0.1 (0 = any free port)', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--articles <n>', 'number of articles', '500')
    .option('--days <n>', 'days they span, ending today', '30')
    .option('--seed <n>', 'seed of the generated site', '1')
    .option('--js-every <n>', 'every Nth article builds its body with JavaScript (0 = none)', '0')
    .option('--crawl-delay <seconds>', 'Crawl-delay in robots.txt (0 = none; the site says 1)')
    .option('--no-article-validators', 'serve article pages without ETag and Last-Modified (every revisit a 200 with the same bytes)')
    .addHelpText(
      'after',
      `
Control (for tests and demos of change over time):
  GET  /__mirror/log                          requests the mirror saw
  POST /__mirror/publish?count=N              publish N new articles today
  POST /__mirror/edit?id=ID {at, title?, paragraph?: {index, text}, addParagraph?}
                                              edit an article: modified_time and sitemap lastmod move to "at"
  POST /__mirror/lastmod?id=ID&at=ISO         move the sitemap lastmod only
  POST /__mirror/remove?id=ID&status=404|410  remove an article (it leaves sitemaps, RSS, archives)
  POST /__mirror/restore?id=ID                bring it back
  POST /__mirror/drift?id=ID[&off]            serve it from a redesigned build (body container renamed)
  POST /__mirror/challenge?id=ID&status=200|403|451|off
                                              a challenge or block page answers instead
  POST /__mirror/fault {path, kind, status, times, delayMs}`,
    )
    .action((opts: MirrorFlags) => runCommand(async () => (await import('./mirror-command.js')).mirrorCommand(opts)));

  withCommonOptions(
    program
      .command('demo')
      .description('serve the mirror and crawl all of it into the storage folder (the main job, offline)')
      .option('--articles <n>', 'articles in the mirror', '200')
      .option('--days <n>', 'days they span', '14')
      .option('--rate <n>', 'requests a second', '20'),
  ).action((opts: CommonFlags & Record<string, string>) => runCommand(async () => (await import('./demo-command.js')).demoCommand(opts)));
}

/**
 * A reader that went away (`newsnap history ID | head`) is not an error of ours: further output is
 * dropped and the command finishes as it would, saving its state.
 */
function ignoreClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
}

async function main(argv: string[]): Promise<void> {
  ignoreClosedPipes();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
      return;
    }
    throw err;
  }
}

await main(process.argv);
