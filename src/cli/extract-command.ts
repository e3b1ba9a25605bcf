import { readFile } from 'node:fs/promises';
import { extractArticle } from '../extract/extract-article.js';
import { formatSnapshot } from '../snapshot/format.js';
import type { Context } from './context.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { UsageError } from './usage-error.js';

export async function extractCommand(ctx: Context, file: string, pageUrl: string | undefined): Promise<ExitCodeValue> {
  let url: string | null = null;
  if (pageUrl !== undefined) {
    const site = ctx.urls.parseSiteUrl(pageUrl);
    if (!site) throw new UsageError(`--url ${pageUrl} is not a URL of ${ctx.config.site.baseUrl}`);
    url = site.href;
  }
  let html: string;
  try {
    html = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const result = extractArticle(html, url, ctx.config.site);
  if (!result.ok) {
    process.stderr.write(`not an article (${result.reason}): ${file}: ${result.message}\n`);
    return ExitCode.NOT_ARTICLE;
  }
  process.stdout.write(formatSnapshot(result.article));
  return ExitCode.OK;
}
