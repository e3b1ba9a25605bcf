// Crawlee's CheerioCrawler over the same URLs with newsnap's own extraction; results kept in
// memory, persistence off, concurrency pinned. Usage: node crawlee-run.mjs URLS_FILE ORIGIN CONCURRENCY
import { readFileSync } from 'node:fs';
import { CheerioCrawler, Configuration } from '@crawlee/cheerio';
import { extractArticle } from '../dist/extract/extract-article.js';
import { sputnikTurkiye } from '../dist/site/profile.js';
import { formatSnapshot } from '../dist/snapshot/format.js';

const [urlsFile, origin, concurrencyArg] = process.argv.slice(2);
const concurrency = Number(concurrencyArg ?? 16);
const urls = readFileSync(urlsFile, 'utf8').split('\n').filter(Boolean);
const results = [];
const crawler = new CheerioCrawler(
  {
    minConcurrency: concurrency,
    maxConcurrency: concurrency,
    maxRequestRetries: 1,
    requestHandlerTimeoutSecs: 60,
    async requestHandler({ request, body }) {
      const result = extractArticle(body.toString(), request.userData.siteUrl, sputnikTurkiye);
      results.push(result.ok ? formatSnapshot(result.article) : null);
    },
  },
  new Configuration({ persistStorage: false, purgeOnStart: true, logLevel: 3 }),
);
await crawler.run(urls.map((u) => ({ url: origin + new URL(u).pathname, uniqueKey: u, userData: { siteUrl: u } })));
process.stdout.write(`${JSON.stringify({ pages: results.length, articles: results.filter(Boolean).length })}\n`);
