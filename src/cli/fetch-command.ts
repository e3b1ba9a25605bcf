import { requireOperatorContact } from '../config/index.js';
import { describeOutcome } from '../engine/pipeline/article-outcome.js';
import { ManualFetch } from '../engine/lanes/manual-fetch.js';
import { exitCodeOf } from '../storage/state/article-states.js';
import type { ArticleRef } from '../site/site-urls.js';
import type { Context } from './context.js';
import { finishDeliveries, startDeliverer } from './delivery.js';
import { openStorage } from './open-storage.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { createRuntime } from './runtime.js';
import { Shutdown } from './shutdown.js';
import { UsageError } from './usage-error.js';

export interface FetchFlags {
  stdout?: boolean;
}

export async function fetchCommand(ctx: Context, inputs: string[], flags: FetchFlags): Promise<ExitCodeValue> {
  requireOperatorContact(ctx.config);
  const refs = articleRefs(ctx, inputs);
  const shutdown = new Shutdown(ctx.log, { exitCode: ExitCode.INTERRUPTED });
  try {
    const storage = flags.stdout ? null : await openStorage(ctx, shutdown);
    const report = flags.stdout ? process.stderr : process.stdout;
    const runtime = createRuntime(ctx, shutdown, storage);
    const deliverer = storage ? startDeliverer(ctx, storage, shutdown) : null;
    try {
      const lane = new ManualFetch(runtime.engine, { lane: 'fetch', maxQueued: Number.POSITIVE_INFINITY });
      const outcomes = await Promise.all(refs.map((ref) => lane.fetch(ref, shutdown.signal)));
      for (const outcome of outcomes) {
        if (outcome.kind === 'printed') process.stdout.write(outcome.text);
        report.write(`${describeOutcome(outcome)}\n`);
        ctx.log.info({ id: outcome.ref.id, url: outcome.ref.url, outcome: outcome.kind }, 'fetch result');
      }
      if (shutdown.signal.aborted) return ExitCode.INTERRUPTED;
      return exitCodeOf(outcomes.map((o) => o.kind));
    } finally {
      await runtime.close();
      if (storage && deliverer) await finishDeliveries(ctx, storage, deliverer).catch((err: Error) => ctx.log.error({ err: err.message }, 'webhook deliveries stopped'));
      await storage?.close();
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
