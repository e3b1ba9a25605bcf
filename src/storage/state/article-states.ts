import { ExitCode, type ExitCodeValue } from '../../exit-codes.js';
import type { ManifestEvent } from '../manifest.js';

/**
 * The one truth of what happens to an article: every outcome a look at it can have, what each
 * outcome means to the person running newsnap (failure or not, exit code, HTTP status of
 * `POST /fetch`, metric label, summary word), and the state machine
 * (state, outcome) → (state, attempts, next check, manifest event).
 * Every command, the API, the metrics and the status page read these tables.
 */

export const ARTICLE_STATES = ['pending', 'done', 'failed', 'skipped', 'gone'] as const;
export type ArticleState = (typeof ARTICLE_STATES)[number];

export const OUTCOME_KINDS = [
  'written',
  'updated',
  'restored',
  'reextracted',
  'unchanged',
  'printed',
  'gone',
  'missing',
  'not-article',
  'disallowed',
  'blocked',
  'failed',
  'unreachable',
  'postponed',
  'interrupted',
] as const;
export type OutcomeKind = (typeof OUTCOME_KINDS)[number];

export interface OutcomeRow {
  /** What it means, for `--help`, the README and the status page. */
  means: string;
  /** Something went wrong that a person may have to look at (the run is partial, the API answers an error). */
  failure: boolean;
  /** The exit code of a command whose every item ended so (see exitCodeOf). */
  exit: ExitCodeValue;
  /** The HTTP status `POST /fetch` answers with. */
  fetchStatus: number;
  /** `newsnap_articles_total{outcome=…}`. */
  metric: string;
  /** How a summary counts it: `3 written`, `2 not articles`. */
  word: string;
}

export const OUTCOMES: { readonly [K in OutcomeKind]: OutcomeRow } = {
  written: { means: 'first captured: a new snapshot', failure: false, exit: ExitCode.OK, fetchStatus: 200, metric: 'written', word: 'written' },
  updated: { means: 'the site edited it: a new version, the old one kept in history/', failure: false, exit: ExitCode.OK, fetchStatus: 200, metric: 'updated', word: 'updated' },
  restored: { means: 'a removed article answers again', failure: false, exit: ExitCode.OK, fetchStatus: 200, metric: 'restored', word: 'restored' },
  reextracted: { means: 'rebuilt from the WARC archive with different bytes', failure: false, exit: ExitCode.OK, fetchStatus: 200, metric: 'reextracted', word: 'reextracted' },
  unchanged: { means: 'looked at again: no change', failure: false, exit: ExitCode.OK, fetchStatus: 200, metric: 'unchanged', word: 'unchanged' },
  printed: { means: 'printed on stdout (fetch --stdout), nothing stored', failure: false, exit: ExitCode.OK, fetchStatus: 200, metric: 'printed', word: 'printed' },
  gone: { means: 'the site removed it (410, or 404 enough times); its files stay', failure: false, exit: ExitCode.OK, fetchStatus: 200, metric: 'gone', word: 'gone' },
  missing: { means: 'a known article answered 404, not yet enough times to be gone', failure: false, exit: ExitCode.OK, fetchStatus: 200, metric: 'missing', word: 'answering 404 (not yet gone)' },
  'not-article': { means: 'the page is no article (no title, date or body): nothing written', failure: false, exit: ExitCode.NOT_ARTICLE, fetchStatus: 422, metric: 'not_article', word: 'not articles' },
  disallowed: { means: 'robots.txt keeps newsnap from it (never requested): it waits as it was, taken by the first run robots.txt allows it', failure: false, exit: ExitCode.OK, fetchStatus: 403, metric: 'disallowed', word: 'disallowed by robots.txt' },
  blocked: { means: "not the site's page: a challenge or block page, HTTP 403 or 451", failure: true, exit: ExitCode.BLOCKED, fetchStatus: 502, metric: 'blocked', word: "blocked (not the site's page)" },
  failed: { means: 'its own failure (HTTP error, oversized, undecodable, a timeout while the rest of the site answered): counts against its runs', failure: true, exit: ExitCode.FAILED, fetchStatus: 502, metric: 'failed', word: 'failed' },
  unreachable: { means: 'the site could not be reached (DNS, connection, TLS, proxy, timeouts on every request): the run failed, not the article', failure: true, exit: ExitCode.FAILED, fetchStatus: 504, metric: 'unreachable', word: 'not reached (site unreachable)' },
  postponed: { means: 'left for a later run: an empty body not rendered while extraction drift is suspected', failure: true, exit: ExitCode.DRIFT, fetchStatus: 503, metric: 'postponed', word: 'left for later (drift suspected)' },
  interrupted: { means: 'the command stopped while it was in flight; nothing recorded', failure: false, exit: ExitCode.INTERRUPTED, fetchStatus: 503, metric: 'interrupted', word: 'interrupted' },
};

/**
 * The exit code of a command over the outcomes of its items: interrupted wins; one code shared
 * by every item is the command's; a mix with a failure among successes is partial (1); a mix of
 * failures only is total (3); a mix without failures (articles and pages that are none) is 0.
 */
export function exitCodeOf(kinds: Iterable<OutcomeKind>): ExitCodeValue {
  const all = [...kinds];
  if (all.includes('interrupted')) return ExitCode.INTERRUPTED;
  const codes = new Set(all.map((k) => OUTCOMES[k].exit));
  if (codes.size === 0) return ExitCode.OK;
  if (codes.size === 1) return [...codes][0] as ExitCodeValue;
  const failures = all.filter((k) => OUTCOMES[k].failure).length;
  if (failures === 0) return ExitCode.OK;
  return failures === all.length ? ExitCode.FAILED : ExitCode.PARTIAL;
}

/** When an article is looked at next. */
export type NextCheckRule =
  /** The revisit schedule, counted from its last change. */
  | 'schedule'
  /** The schedule of removed articles, counted from the removal. */
  | 'gone-schedule'
  /** `revisit.missingSpacing` after the last counted 404. */
  | 'missing'
  /** `revisit.retryAfterFailure` from now: a check that failed. */
  | 'retry'
  /** None while it has runs left (new work picks it up); the slow schedule once it used them up. */
  | 'runs-left-or-slow'
  /** As it was: still due. */
  | 'keep'
  /** Never by time. */
  | 'none';

export interface Transition {
  /** The state after; `keep` leaves it. */
  state: ArticleState | 'keep';
  /** `add` counts a run against the article; `reset` clears the count. */
  attempts: 'keep' | 'add' | 'reset';
  next: NextCheckRule;
  /** The manifest line the outcome writes, if any. */
  event: ManifestEvent | null;
}

const t = (state: Transition['state'], attempts: Transition['attempts'], next: NextCheckRule, event: ManifestEvent | null = null): Transition => ({ state, attempts, next, event });

/** Outcomes that cannot happen from a state (the pipeline never produces them there). */
const IMPOSSIBLE = null;

/** The same for every article newsnap has not captured: found, failed, or not an article before. */
const NOT_CAPTURED: { readonly [K in OutcomeKind]: Transition | null } = {
  written: t('done', 'reset', 'schedule', 'new'),
  updated: IMPOSSIBLE,
  restored: IMPOSSIBLE,
  // An article that was no article before and now is one (reextract): no check of the site.
  reextracted: t('done', 'reset', 'keep', 'reextracted'),
  unchanged: IMPOSSIBLE,
  printed: t('keep', 'keep', 'keep'),
  gone: IMPOSSIBLE,
  missing: IMPOSSIBLE,
  'not-article': t('skipped', 'keep', 'none'),
  // robots.txt says nothing of the article: it waits as it was, for the first run robots.txt
  // allows it; one on the slow retry schedule moves to its next slot (or it would head every due list).
  disallowed: t('keep', 'keep', 'runs-left-or-slow'),
  // Not the site's page: says nothing of the article, which waits for a later run as it was.
  blocked: t('keep', 'keep', 'keep'),
  failed: t('failed', 'add', 'runs-left-or-slow'),
  unreachable: t('keep', 'keep', 'keep'),
  postponed: t('keep', 'keep', 'keep'),
  interrupted: t('keep', 'keep', 'keep'),
};

/** (state, outcome) → transition. `null`: the outcome cannot happen in that state. */
export const STATE_MACHINE: { readonly [S in ArticleState]: { readonly [K in OutcomeKind]: Transition | null } } = {
  pending: NOT_CAPTURED,
  failed: NOT_CAPTURED,
  // Not an article (no run counts against it, nothing is due): robots.txt leaves it as it is.
  skipped: { ...NOT_CAPTURED, disallowed: t('keep', 'keep', 'keep') },
  done: {
    written: IMPOSSIBLE,
    updated: t('done', 'reset', 'schedule', 'updated'),
    restored: IMPOSSIBLE,
    // Rebuilt from the archive: no check of the site, so the schedule is left alone.
    reextracted: t('done', 'reset', 'keep', 'reextracted'),
    unchanged: t('done', 'keep', 'schedule'),
    printed: t('keep', 'keep', 'keep'),
    gone: t('gone', 'keep', 'gone-schedule', 'gone'),
    missing: t('done', 'keep', 'missing'),
    // The captured version is kept; the page is looked at again on schedule.
    'not-article': t('done', 'keep', 'schedule'),
    disallowed: t('done', 'keep', 'schedule'),
    blocked: t('done', 'keep', 'retry'),
    failed: t('done', 'keep', 'retry'),
    unreachable: t('done', 'keep', 'keep'),
    postponed: IMPOSSIBLE,
    interrupted: t('keep', 'keep', 'keep'),
  },
  gone: {
    written: IMPOSSIBLE,
    updated: IMPOSSIBLE,
    restored: t('done', 'reset', 'schedule', 'restored'),
    // A rebuilt version says nothing of the site: a gone article stays gone.
    reextracted: t('gone', 'reset', 'keep', 'reextracted'),
    unchanged: IMPOSSIBLE,
    printed: t('keep', 'keep', 'keep'),
    gone: t('gone', 'keep', 'gone-schedule'),
    missing: IMPOSSIBLE,
    'not-article': t('gone', 'keep', 'gone-schedule'),
    disallowed: t('gone', 'keep', 'gone-schedule'),
    blocked: t('gone', 'keep', 'retry'),
    failed: t('gone', 'keep', 'retry'),
    unreachable: t('gone', 'keep', 'keep'),
    postponed: IMPOSSIBLE,
    interrupted: t('keep', 'keep', 'keep'),
  },
};

/** The state a storage folder that knows nothing of an article gives it. */
export const UNKNOWN: ArticleState = 'pending';

export class ImpossibleTransition extends Error {
  override readonly name = 'ImpossibleTransition';
}

export function transition(from: ArticleState, outcome: OutcomeKind): Transition {
  const row = STATE_MACHINE[from][outcome];
  if (!row) throw new ImpossibleTransition(`an article in state ${from} cannot end ${outcome}: a newsnap bug, please report it`);
  return row;
}

/** The state a manifest line leaves an article in, when it is applied (or replayed after a crash). */
export function stateAfterEvent(from: ArticleState, event: ManifestEvent): ArticleState {
  if (event === 'gone') return 'gone';
  if (event === 'reextracted' && from === 'gone') return 'gone';
  return 'done';
}

/** An article newsnap captured: it is checked again as a revisit (conditionally, with the version logic). */
export function isCaptured(state: ArticleState): boolean {
  return state === 'done' || state === 'gone';
}

/** Failed in every one of its runs: retried only on the slow schedule, and shown as needing attention. */
export function needsAttention(article: { state: ArticleState; attempts: number }, maxFailedRuns: number): boolean {
  return article.state === 'failed' && article.attempts >= maxFailedRuns;
}
