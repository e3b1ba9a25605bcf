import { parseDuration, parseTiers, type RevisitTier } from '../clock/durations.js';
import type { RevisitOptions } from '../config/config.js';

export type { RevisitTier };

/**
 * When to look at a captured article again. Like NewsDiffs, by the time since its last real
 * change: often while it is young (most edits come in the first hours), rarely later, and not
 * at all past the last tier (a sitemap `<lastmod>` that moves still makes it due). Removed
 * articles are looked at rarely, in case they come back.
 */
export interface RevisitPolicy {
  schedule: RevisitTier[];
  gone: RevisitTier[];
  /** Articles that failed every one of their runs: retried slowly, counted from when they gave out. */
  givenUp: RevisitTier[];
  /** Runs an article may fail before only the slow schedule retries it. */
  maxFailedRuns: number;
  /** Consecutive 404 answers that make an article gone. */
  missingChecks: number;
  /** A 404 counts only this long after the previous counted one. */
  missingSpacingMs: number;
  /** A check that failed (timeout, 5xx, 429) is tried again after this. */
  retryMs: number;
  /** Checks of known articles one run may make; the rest wait, the longest due first. */
  maxPerRun: number;
}

export function revisitPolicy(o: RevisitOptions, maxFailedRuns: number): RevisitPolicy {
  return {
    schedule: parseTiers(o.schedule),
    gone: parseTiers(o.goneSchedule),
    givenUp: parseTiers(o.givenUpSchedule),
    maxFailedRuns,
    missingChecks: o.missingChecks,
    missingSpacingMs: parseDuration(o.missingSpacing),
    retryMs: parseDuration(o.retryAfterFailure),
    maxPerRun: o.maxPerRun,
  };
}

/** The next check of something last changed (or removed) at `sinceMs`, checked now; null for none. */
export function nextCheck(tiers: readonly RevisitTier[], sinceMs: number, nowMs: number): string | null {
  const age = Math.max(0, nowMs - sinceMs);
  const tier = tiers.find((t) => age < t.maxAgeMs);
  return tier ? new Date(nowMs + tier.everyMs).toISOString() : null;
}

/**
 * Checks a day costs in steady state for a site publishing `perDay` articles, at one check per
 * tier interval over each article's life (the README's figure comes from here and is measured
 * by `bench/revisit-day.mjs`).
 */
export function checksPerArticle(tiers: readonly RevisitTier[]): number {
  let total = 0;
  let from = 0;
  for (const t of tiers) {
    if (!Number.isFinite(t.maxAgeMs)) break;
    total += (t.maxAgeMs - from) / t.everyMs;
    from = t.maxAgeMs;
  }
  return total;
}
