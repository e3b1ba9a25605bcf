import { nowIso } from '../../clock/clock.js';
import type { Article } from '../../extract/article.js';
import { instantOf } from '../../extract/published-date.js';
import type { PageValidators } from '../../fetch/page-fetcher.js';
import { transition, UNKNOWN, type OutcomeKind, type Transition } from '../../storage/state/article-states.js';
import { nextCheck, type RevisitPolicy } from '../revisit-policy.js';
import type { ArticleRecord, ArticleUpdate } from '../../storage/state/state-store.js';
import { dashed } from '../../site/calendar.js';
import type { ArticleRef } from '../../site/site-urls.js';
import { SnapshotStore } from '../../storage/snapshot-store.js';
import { sha256, type VersionChange } from '../../storage/version-store.js';
import type { Storage } from '../../storage/storage.js';

/** What capturing a page did to the article's versions. */
export type CaptureOutcome = 'written' | 'updated' | 'restored' | 'reextracted' | 'unchanged';
/** The outcomes that write a new version (a manifest line with bytes). */
type NewVersion = Exclude<CaptureOutcome, 'unchanged'>;

/** What the look found besides its outcome: the error, the page's validators, the article. */
export interface Look {
  /** What went wrong (kept as the article's last error). */
  error?: string;
  /** Why it is not an article, or not crawled (kept as its reason). */
  reason?: string;
  validators?: PageValidators | undefined;
  /** The article the page gave (an unchanged revisit), for the time of its last change. */
  article?: Article;
}

/**
 * What a look at an article means for its versions, its removal and its next check: the one
 * version logic that crawls, revisits, `fetch`, `POST /fetch` and `reextract` share. The state,
 * the run count, the next check and the manifest event come from the state machine
 * (storage/state/article-states.ts); this class supplies the times and what the page said.
 */
export class ArticleRecorder {
  constructor(
    private readonly storage: Storage,
    private readonly policy: RevisitPolicy,
  ) {}

  /**
   * A page gave this snapshot. Identical bytes write nothing. Otherwise the snapshot becomes the
   * article's current version: `new` the first time, `updated` after an edit, `restored` when a
   * gone article answers again, or `reextracted` when it was rebuilt from the archive (which
   * is no check of the site, so the schedule is left alone).
   */
  async captured(article: Article, text: string, options: { validators?: PageValidators; reextracted?: boolean } = {}): Promise<{ outcome: CaptureOutcome; path: string; lag?: CaptureLag }> {
    const now = nowIso();
    const reextracted = options.reextracted === true;
    // Decided in the article's turn, after a change of its own that a failed manifest write
    // stranded is in state: decided before, `previous` would be the version that change replaced.
    const { decided, committed } = await this.storage.commitDecided(article.id, () => this.decide(article, text, now, reextracted));
    if (decided.kind === 'unchanged' || !committed) {
      if (decided.known && !reextracted) this.record(article, decided.known, 'unchanged', { validators: options.validators, article });
      return { outcome: 'unchanged', path: decided.known?.path ?? '' };
    }
    const { known, kind, rule } = decided;
    // The manifest line set the version and the state; a rebuilt one leaves the schedule alone.
    if (kind !== 'reextracted') {
      const changedAt = kind === 'written' ? firstChange(article, now) : laterChange(article, known?.changedAt ?? null, now);
      this.write(article, rule, this.schedule(rule, known, now, { changedAt }), {
        checkedAt: now,
        changedAt,
        publishedAt: publishedInstant(article),
        ...validatorFields(options.validators),
        missingCount: 0,
        missingAt: null,
      });
    }
    const lag = kind === 'reextracted' ? undefined : lagOf(kind, article, now);
    return { outcome: kind, path: committed.record.path, ...(lag ? { lag } : {}) };
  }

  /**
   * The one version decision: identical bytes write nothing; otherwise the event the state
   * machine gives. Runs inside the article's turn (Storage.commitDecided), on state caught up.
   */
  private decide(article: Article, text: string, now: string, reextracted: boolean): Decision {
    // A line state has not applied yet may be this article's: decide on state caught up, or not at all.
    this.storage.sync();
    const known = this.storage.state.articles.get(article.id);
    const from = known?.state ?? UNKNOWN;
    const current = known?.sha256 && known.path && known.capturedAt ? { sha256: known.sha256, path: known.path, capturedAt: known.capturedAt } : null;
    // Rebuilt from the archive, a gone article with the same bytes is unchanged too: nothing came back.
    if (current && (from !== 'gone' || reextracted) && current.sha256 === sha256(text)) return { change: null, known, kind: 'unchanged' };
    const kind: NewVersion = reextracted ? 'reextracted' : from === 'done' ? 'updated' : from === 'gone' ? 'restored' : 'written';
    const rule = transition(from, kind);
    return { change: { event: rule.event as VersionChange['event'], article, text, capturedAt: now, previous: current }, known, kind, rule };
  }

  /**
   * A known article answered 404 or 410. A 410 removes it at once; a 404 counts, and
   * `missingChecks` of them, each at least `missingSpacing` after the previous counted one,
   * remove it. Returns `gone` when it is (now or already), else the 404s counted so far.
   */
  async missing(known: ArticleRecord, status: 404 | 410): Promise<{ gone: true; reason: string } | { gone: false; count: number }> {
    const now = nowIso();
    if (known.state === 'gone') {
      this.record(known, known, 'gone', {});
      return { gone: true, reason: `HTTP ${status}` };
    }
    const counts = !known.missingAt || Date.parse(now) - Date.parse(known.missingAt) >= this.policy.missingSpacingMs;
    const count = counts ? known.missingCount + 1 : known.missingCount;
    const missingAt = counts ? now : known.missingAt;
    if (status === 410 || count >= this.policy.missingChecks) {
      const reason = status === 410 ? 'HTTP 410' : `HTTP 404 ×${count}`;
      const last = this.storage.state.articles.events(known.id).filter((e) => e.event !== 'gone').at(-1);
      await this.storage.commitGone({ id: known.id, url: known.url, date: dateOf(known), path: known.path ?? '', sha256: known.sha256 ?? '', bytes: last?.bytes ?? 0, capturedAt: now, reason });
      const rule = transition(known.state, 'gone');
      this.write(known, rule, this.schedule(rule, { ...known, goneAt: now }, now), { checkedAt: now, missingCount: count, missingAt, lastError: null });
      return { gone: true, reason };
    }
    this.record(known, { ...known, missingAt }, 'missing', { error: `HTTP 404 (${count} of ${this.policy.missingChecks})` }, { missingCount: count, missingAt });
    return { gone: false, count };
  }

  /**
   * Any other outcome of a look (no new version): the state machine says what becomes of the
   * article; `look` says what the page said or what went wrong.
   */
  record(ref: Pick<ArticleRef, 'id' | 'url'>, known: ArticleRecord | undefined, kind: Exclude<OutcomeKind, NewVersion>, look: Look, extra: ArticleUpdate = {}): void {
    if (kind === 'interrupted' || kind === 'printed') return;
    const now = nowIso();
    const rule = transition(known?.state ?? UNKNOWN, kind);
    const healthy = kind === 'unchanged' || (kind === 'not-article' && known !== undefined && rule.state !== 'skipped');
    const changedAt = healthy && known ? (known.changedAt ?? (look.article ? firstChange(look.article, known.capturedAt ?? now) : (known.capturedAt ?? now))) : undefined;
    this.write(ref, rule, this.schedule(rule, known, now, changedAt ? { changedAt } : {}), {
      checkedAt: now,
      lastError: look.error ?? (kind === 'not-article' && rule.state !== 'skipped' ? `not an article (${look.reason ?? 'no article'})` : null),
      ...(rule.state === 'skipped' ? { reason: look.reason ?? kind } : {}),
      ...(changedAt ? { changedAt } : {}),
      ...validatorFields(look.validators),
      // A look that found the page as it was ends a run of 404s.
      ...(kind === 'unchanged' || (healthy && known?.state === 'done') ? { missingCount: 0, missingAt: null } : {}),
      ...extra,
    });
  }

  /** The state, runs and next check the rule gives, with the fields of the look. */
  private write(ref: Pick<ArticleRef, 'id' | 'url'>, rule: Transition, next: Pick<ArticleUpdate, 'nextCheckAt' | 'givenUpAt' | 'attempts'>, fields: ArticleUpdate): void {
    this.storage.update(ref.id, ref.url, { ...(rule.state === 'keep' ? {} : { state: rule.state }), ...fields, ...next });
  }

  /** The next check (and the run count) a rule gives an article looked at `now`. */
  private schedule(rule: Transition, known: ArticleRecord | undefined, now: string, o: { changedAt?: string } = {}): Pick<ArticleUpdate, 'nextCheckAt' | 'givenUpAt' | 'attempts'> {
    const nowMs = Date.parse(now);
    const attempts = rule.attempts === 'add' ? (known?.attempts ?? 0) + 1 : rule.attempts === 'reset' ? 0 : undefined;
    const runs = attempts === undefined ? {} : { attempts };
    switch (rule.next) {
      case 'schedule':
        return { ...runs, nextCheckAt: nextCheck(this.policy.schedule, Date.parse(o.changedAt ?? known?.changedAt ?? known?.capturedAt ?? now), nowMs) };
      case 'gone-schedule':
        return { ...runs, nextCheckAt: nextCheck(this.policy.gone, Date.parse(known?.goneAt ?? now), nowMs) };
      case 'missing':
        return { ...runs, nextCheckAt: new Date(Date.parse(known?.missingAt ?? now) + this.policy.missingSpacingMs).toISOString() };
      case 'retry':
        return { ...runs, nextCheckAt: new Date(nowMs + this.policy.retryMs).toISOString() };
      case 'runs-left-or-slow': {
        // Runs kept (robots.txt's veto): a given-up article is judged by the runs it has.
        if ((attempts ?? known?.attempts ?? 0) < this.policy.maxFailedRuns) return { ...runs, nextCheckAt: null, givenUpAt: null };
        const givenUpAt = known?.givenUpAt ?? now;
        return { ...runs, givenUpAt, nextCheckAt: nextCheck(this.policy.givenUp, Date.parse(givenUpAt), nowMs) };
      }
      case 'none':
        return { ...runs, nextCheckAt: null };
      case 'keep':
        return runs;
    }
  }
}

/** What a capture decided: nothing to write (its bytes are the current version's), or a new version. */
type Decision =
  | { kind: 'unchanged'; change: null; known: ArticleRecord | undefined }
  | { kind: NewVersion; change: VersionChange; known: ArticleRecord | undefined; rule: Transition };

function validatorFields(v: PageValidators | undefined): { etag?: string | null; lastModified?: string | null } {
  return v ? { etag: v.etag, lastModified: v.lastModified } : {};
}

/**
 * How long after the site's own times a version was captured, in seconds: a first capture from
 * `article:published_time`, an edit from `article:modified_time` (pages without them give none).
 */
export interface CaptureLag {
  captureSeconds?: number;
  editSeconds?: number;
}

function lagOf(kind: NewVersion, article: Article, now: string): CaptureLag | undefined {
  const since = (time: string | undefined) => {
    const at = time ? instantOf(time) : null;
    return at ? Math.max(0, (Date.parse(now) - Date.parse(at)) / 1000) : undefined;
  };
  const seconds = kind === 'written' ? since(article.publishedTime) : kind === 'updated' ? since(article.modifiedTime) : undefined;
  if (seconds === undefined) return undefined;
  return kind === 'written' ? { captureSeconds: seconds } : { editSeconds: seconds };
}

/** Publication as an instant: `article:published_time`, else the day's start in Istanbul. */
function publishedInstant(article: Article): string {
  return (article.publishedTime ? instantOf(article.publishedTime) : null) ?? new Date(`${article.date}T00:00:00+03:00`).toISOString();
}

/** An article first seen: it last changed when the page says it was modified, else when published. */
function firstChange(article: Article, now: string): string {
  const modified = article.modifiedTime ? instantOf(article.modifiedTime) : null;
  const latest = [publishedInstant(article), modified].filter((t): t is string => t !== null).sort().at(-1) as string;
  return latest > now ? now : latest;
}

/** An article just seen changed: when the page says it was modified, if that is news, else now. */
function laterChange(article: Article, before: string | null, now: string): string {
  const modified = article.modifiedTime ? instantOf(article.modifiedTime) : null;
  return modified && modified <= now && (!before || modified > before) ? modified : now;
}

function dateOf(known: ArticleRecord): string {
  return SnapshotStore.parsePath(known.path ?? '')?.date ?? dashed(known.day);
}
