import { nowIso } from '../clock/clock.js';
import type { Article } from '../extract/article.js';
import { instantOf } from '../extract/published-date.js';
import type { PageValidators } from '../fetch/page-fetcher.js';
import { nextCheck, type RevisitPolicy } from '../frontier/revisit-policy.js';
import type { ArticleRecord } from '../frontier/state-store.js';
import { dashed } from '../site/calendar.js';
import type { ArticleRef } from '../site/site-urls.js';
import { SnapshotStore } from '../snapshot/snapshot-store.js';
import { sha256 } from '../snapshot/version-store.js';
import type { Archive } from './archive.js';

/** What capturing a page did to the article's versions. */
export type CaptureOutcome = 'written' | 'updated' | 'restored' | 'reextracted' | 'unchanged';

/**
 * What a look at an article means for its versions, its removal and its next check: the one
 * version logic that crawls, revisits, `fetch`, `POST /fetch` and `reextract` share.
 */
export class ArticleRecorder {
  constructor(
    private readonly archive: Archive,
    private readonly policy: RevisitPolicy,
  ) {}

  /**
   * A page gave this snapshot. Identical bytes write nothing. Otherwise the snapshot becomes the
   * article's current version: `new` the first time, `updated` after an edit, `restored` when a
   * gone article answers again, or `reextracted` when it was rebuilt from the archive (which
   * is no check of the site, so the schedule is left alone).
   */
  async captured(
    ref: ArticleRef,
    article: Article,
    text: string,
    options: { validators?: PageValidators; reextracted?: boolean } = {},
  ): Promise<{ outcome: CaptureOutcome; path: string }> {
    const now = nowIso();
    const known = this.archive.state.get(article.id);
    if (ref.id !== article.id) this.archive.recordSkipped(ref.id, ref.url, `the same article as ${article.id}`);
    const current = known?.sha256 && known.path && known.capturedAt ? { sha256: known.sha256, path: known.path, capturedAt: known.capturedAt } : null;
    const gone = known?.state === 'gone';
    // Rebuilt from the archive, a gone article with the same bytes is unchanged too: nothing came back.
    if (current && (!gone || options.reextracted) && current.sha256 === sha256(text)) {
      if (!options.reextracted) this.checked(known as ArticleRecord, article, now, { validators: options.validators });
      return { outcome: 'unchanged', path: current.path };
    }
    const event = options.reextracted ? 'reextracted' : !current ? 'new' : gone ? 'restored' : 'updated';
    const { record } = await this.archive.commit({ event, article, text, capturedAt: now, previous: current });
    if (!options.reextracted) {
      const changedAt = event === 'new' ? firstChange(article, now) : laterChange(article, known?.changedAt ?? null, now);
      this.archive.recordCheck(article.id, {
        checkedAt: now,
        nextCheckAt: nextCheck(this.policy.schedule, Date.parse(changedAt), Date.parse(now)),
        changedAt,
        publishedAt: publishedInstant(article),
        ...validatorFields(options.validators),
        missingCount: 0,
        missingAt: null,
      });
    }
    return { outcome: event === 'new' ? 'written' : event, path: record.path };
  }

  /** The page did not change (a 304, or the same bytes). */
  unchanged(known: ArticleRecord, validators?: PageValidators): void {
    this.checked(known, null, nowIso(), { validators });
  }

  /** A captured article's page is no longer an article (markup change, block page): keep what we have. */
  notArticle(known: ArticleRecord, reason: string): void {
    this.checked(known, null, nowIso(), { error: `not an article (${reason})` });
  }

  /** The check failed (timeout, 5xx, 429): that says nothing of the article; look again later. */
  failed(known: ArticleRecord, message: string): void {
    const now = nowIso();
    this.archive.recordCheck(known.id, { checkedAt: now, nextCheckAt: new Date(Date.parse(now) + this.policy.retryMs).toISOString(), lastError: message });
  }

  /**
   * A known article answered 404 or 410. A 410 removes it at once; a 404 counts, and
   * `missingChecks` of them, each at least `missingSpacing` after the previous counted one,
   * remove it. Returns `gone` when it is (now or already), else the 404s counted so far.
   */
  async missing(known: ArticleRecord, status: 404 | 410): Promise<{ gone: true; reason: string } | { gone: false; count: number }> {
    const now = nowIso();
    const nowMs = Date.parse(now);
    if (known.state === 'gone') {
      this.archive.recordCheck(known.id, { checkedAt: now, nextCheckAt: nextCheck(this.policy.gone, Date.parse(known.goneAt ?? now), nowMs) });
      return { gone: true, reason: `HTTP ${status}` };
    }
    const counts = !known.missingAt || nowMs - Date.parse(known.missingAt) >= this.policy.missingSpacingMs;
    const count = counts ? known.missingCount + 1 : known.missingCount;
    const missingAt = counts ? now : known.missingAt;
    if (status === 410 || count >= this.policy.missingChecks) {
      const reason = status === 410 ? 'HTTP 410' : `HTTP 404 ×${count}`;
      const last = this.archive.state.events(known.id).filter((e) => e.event !== 'gone').at(-1);
      await this.archive.commitGone({ id: known.id, url: known.url, date: dateOf(known), path: known.path ?? '', sha256: known.sha256 ?? '', bytes: last?.bytes ?? 0, capturedAt: now, reason });
      this.archive.recordCheck(known.id, { checkedAt: now, nextCheckAt: nextCheck(this.policy.gone, nowMs, nowMs), missingCount: count, missingAt });
      return { gone: true, reason };
    }
    const nextCheckAt = new Date(Date.parse(missingAt ?? now) + this.policy.missingSpacingMs).toISOString();
    this.archive.recordCheck(known.id, { checkedAt: now, nextCheckAt, missingCount: count, missingAt, lastError: `HTTP 404 (${count} of ${this.policy.missingChecks})` });
    return { gone: false, count };
  }

  /** A check that found the article as it was: the schedule moves on from its last change. */
  private checked(known: ArticleRecord, article: Article | null, now: string, o: { validators?: PageValidators | undefined; error?: string }): void {
    const changedAt = known.changedAt ?? (article ? firstChange(article, known.capturedAt ?? now) : (known.capturedAt ?? now));
    const tiers = known.state === 'gone' ? this.policy.gone : this.policy.schedule;
    const since = known.state === 'gone' ? (known.goneAt ?? now) : changedAt;
    this.archive.recordCheck(known.id, {
      checkedAt: now,
      nextCheckAt: nextCheck(tiers, Date.parse(since), Date.parse(now)),
      changedAt,
      ...validatorFields(o.validators),
      ...(known.state === 'gone' ? {} : { missingCount: 0, missingAt: null }),
      lastError: o.error ?? null,
    });
  }
}

function validatorFields(v: PageValidators | undefined): { etag?: string | null; lastModified?: string | null } {
  return v ? { etag: v.etag, lastModified: v.lastModified } : {};
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
