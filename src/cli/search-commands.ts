import { Option, type Command } from 'commander';
import { runCommand, withCommonOptions } from './command-kit.js';
import { createContext, type CommonFlags } from './context.js';
import type { SearchFlags } from './search-command.js';

/** `search` (reads the index, no lock) and `index` (keeps or rebuilds it, with the lock). */
export function addSearchCommands(program: Command): void {
  withCommonOptions(
    program
      .command('search')
      .description('full-text search of every version of every article (Turkish-aware); see docs/search.md')
      .argument('<query>', 'words, "a phrase", seçim* (prefix), title:… description:… body:…, AND / OR / NOT, (groups)')
      .option('--since <date>', 'only articles published on this day (YYYY-MM-DD) or later')
      .option('--until <date>', 'only articles published on this day or earlier')
      .addOption(new Option('--versions <which>', 'current (default): the current version matches; any: some version does; removed: an earlier one did and the current one does not (edited out); added: the other way round').choices(['current', 'any', 'removed', 'added']))
      .option('--exact', 'ı and i, ş and s, ğ and g… differ (the default folds them together)')
      .option('--limit <n>', 'articles per page, 1 to 100 (default 20)')
      .option('--after <cursor>', 'the next page: the cursor the previous page ended with')
      .addOption(new Option('--count-by <interval>', 'print matching articles per day, week or month of publication, beside all published and the ratio').choices(['day', 'week', 'month']))
      .option('--json', 'as JSON: {results: [{id, url, title, titleHtml, published, version, versions, capturedAt, current, gone, snippet, snippetHtml}], next}, or with --count-by {counts: [{date, count, total, ratio}], count, total, ratio}')
      .addHelpText(
        'after',
        `
Results come newest published first, one per article: its title, URL and a snippet of the text
around the match («…» marks it), cut from the page's own text. İ, I, ı and i are one letter, and
so are ş and s, ğ and g, ç and c, ö and o, ü and u: "istanbul" finds "İstanbul'da", "isik"
finds "IŞIK" (--exact keeps them apart). A query that cannot be parsed exits 2 naming the
position. It reads the index without the storage lock: it works beside a running crawl or serve.`,
      ),
  ).action((query: string, opts: CommonFlags & SearchFlags) => runCommand(async () => (await import('./search-command.js')).searchCommand(createContext(opts), query, opts)));

  withCommonOptions(
    program
      .command('index')
      .description('bring the search index up to the manifest, or build it again from the files (--rebuild)')
      .option('--rebuild', 'build the index from nothing: every version from its file (its blocks from the WARC record where one holds that version)')
      .addHelpText(
        'after',
        `
The index (search.sqlite beside state) is kept as versions are written, in the transaction that
records each one; every crawl, fetch, serve and reextract catches it up when it starts (and builds
it when it is missing or damaged). Streamed: memory stays bounded; progress goes to the log. It
takes the storage lock like crawl. search.index = false stops keeping it.`,
      ),
  ).action((opts: CommonFlags & { rebuild?: boolean }) => runCommand(async () => (await import('./index-command.js')).indexCommand(createContext(opts), opts)));
}
