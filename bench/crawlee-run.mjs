// Crawlee over the same URLs with newsnap's own extraction; results kept in memory, persistence
// off, concurrency pinned. Usage: node crawlee-run.mjs cheerio|http URLS_FILE ORIGIN CONCURRENCY
//
// cheerio: CheerioCrawler has parsed each page already; the extraction runs on that `$` (no
//   second parse, no serialization of the DOM back to text).
// http: HttpCrawler hands over the raw body; newsnap decodes and parses it once, as it does itself.
// Prints {"pages", "articles", "digest"}: pages handled, articles extracted, and a digest of the
// snapshots in URL order (the same as newsnap's own when the extraction agrees).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CheerioCrawler, Configuration } from '@crawlee/cheerio';
import { HttpCrawler } from '@crawlee/http';
import { extractArticle, extractArticleFromDom } from '../dist/extract/extract-article.js';
import { decodeHtml } from '../dist/fetch/decode-html.js';
import { sputnikTurkiye } from '../dist/site/profile.js';
import { formatSnapshot } from '../dist/snapshot/format.js';

const [mode, urlsFile, origin, concurrencyArg] = process.argv.slice(2);
const concurrency = Number(concurrencyArg ?? 16);
const urls = readFileSync(urlsFile, 'utf8').split('\n').filter(Boolean);
const results = new Map();
const options = { minConcurrency: concurrency, maxConcurrency: concurrency, maxRequestRetries: 1, requestHandlerTimeoutSecs: 60 };
const config = new Configuration({ persistStorage: false, purgeOnStart: true, logLevel: 3 });
const keep = (siteUrl, result) => results.set(siteUrl, result.ok ? formatSnapshot(result.article) : null);

const crawler =
  mode === 'http'
    ? new HttpCrawler(
        {
          ...options,
          async requestHandler({ request, body, response }) {
            keep(request.userData.siteUrl, extractArticle(decodeHtml(Buffer.from(body), response.headers['content-type']).html, request.userData.siteUrl, sputnikTurkiye));
          },
        },
        config,
      )
    : new CheerioCrawler(
        {
          ...options,
          async requestHandler({ request, $ }) {
            keep(request.userData.siteUrl, extractArticleFromDom($, request.userData.siteUrl, sputnikTurkiye));
          },
        },
        config,
      );
await crawler.run(urls.map((u) => ({ url: origin + new URL(u).pathname, uniqueKey: u, userData: { siteUrl: u } })));
const digest = createHash('sha256');
for (const u of urls) digest.update(results.get(u) ?? '\0');
process.stdout.write(`${JSON.stringify({ pages: results.size, articles: [...results.values()].filter(Boolean).length, digest: digest.digest('hex') })}\n`);
