import { describeOutcome } from '../crawl/article-pipeline.js';
import type { ArticleRef } from '../site/site-urls.js';
import type { Context } from './context.js';
import { openArchive } from './open-archive.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { createRuntime } from './runtime.js';
import { Shutdown } from './shutdown.js';
import { UsageError } from './usage-error.js';

export interface FetchFlags {
  stdout?: boolean;
}

export async function fetchCommand(ctx: Context, inputs: string[], flags: FetchFlags): Promise<ExitCodeValue> {
  const refs = articleRefs(ctx, inputs);
  const shutdown = new Shutdown(ctx.log, { exitCode: ExitCode.INTERRUPTED });
  try {
    const archive = flags.stdout ? null : await openArchive(ctx, shutdown);
    const report = flags.stdout ? process.stderr : process.stdout;
    const runtime = createRuntime(ctx, shutdown, archive);
    try {
      const outcomes = await Promise.all(refs.map((ref) => runtime.pipeline.process(ref, archive, shutdown.signal)));
      let succeeded = 0;
      for (const outcome of outcomes) {
        if (outcome.kind === 'printed') process.stdout.write(outcome.text);
        report.write(`${describeOutcome(outcome)}\n`);
        ctx.log.info({ id: outcome.ref.id, url: outcome.ref.url, outcome: outcome.kind }, 'fetch result');
        if (outcome.kind !== 'failed' && outcome.kind !== 'not-article' && outcome.kind !== 'interrupted') succeeded++;
      }
      if (shutdown.signal.aborted) return ExitCode.INTERRUPTED;
      if (succeeded === outcomes.length) return ExitCode.OK;
      return succeeded === 0 ? ExitCode.FAILED : ExitCode.PARTIAL;
    } finally {
      await runtime.close();
      await archive?.close();
    }
  } finally {
    shutdown.dispose();
  }
}

/** Every input must be an article URL of the site; one that is not stops the command before any request. */
function articleRefs(ctx: Context, inputs: string[]): ArticleRef[] {
  const refs = new Map<string, ArticleRef>();
  const refused: string[] = [];
  for (const input of inputs) {
    const ref = ctx.urls.parseArticle(input);
    if (ref) refs.set(ref.id, ref);
    else refused.push(input);
  }
  if (refused.length > 0) {
    throw new UsageError(
      `not an article URL of ${ctx.config.site.baseUrl} (expected ${ctx.config.site.baseUrl}/YYYYMMDD/<slug>-<id>.html): ${refused.join(', ')}`,
    );
  }
  return [...refs.values()];
}
