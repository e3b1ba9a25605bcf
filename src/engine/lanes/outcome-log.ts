import type { Logger } from '../../log/logger.js';
import { OUTCOMES } from '../../storage/state/article-states.js';
import type { ArticleOutcome } from '../pipeline/article-outcome.js';

/** One log record an article's outcome: a warning for failures, info for the site's changes, debug otherwise. */
export function logOutcome(o: ArticleOutcome, log: Logger): void {
  const fields = {
    id: o.ref.id,
    url: o.ref.url,
    outcome: o.kind,
    ...(o.kind === 'failed' || o.kind === 'unreachable' || o.kind === 'postponed' ? { err: o.message } : {}),
    ...(o.kind === 'not-article' || o.kind === 'gone' || o.kind === 'blocked' ? { reason: o.reason } : {}),
    ...(o.kind === 'missing' ? { count: o.count } : {}),
    ...('rendered' in o && o.rendered && 'renderMs' in o ? { rendered: true, renderMs: o.renderMs } : {}),
  };
  if (o.kind === 'failed') log.warn(fields, 'article failed');
  else if (o.kind === 'unreachable') log.warn(fields, 'article not reached: the site is unreachable');
  else if (o.kind === 'blocked') log.warn(fields, "blocked: not the site's page");
  else if (o.kind === 'not-article') log.info(fields, 'not an article');
  else if (o.kind === 'updated' || o.kind === 'gone' || o.kind === 'restored' || o.kind === 'missing') log.info(fields, `article ${o.kind}`);
  else log.debug(fields, OUTCOMES[o.kind].word);
}
