import type { WarcLocation } from '../../fetch/exchange.js';
import type { ManifestEvent } from '../manifest.js';
import type { ArticleRef } from '../../site/site-urls.js';
import type { ArticleState } from './article-states.js';

export type { ArticleState };

export interface ArticleRecord {
  id: string;
  url: string;
  day: string;
  state: ArticleState;
  /** Runs whose attempts at this article all failed. */
  attempts: number;
  lastError: string | null;
  reason: string | null;
  sha256: string | null;
  path: string | null;
  title: string | null;
  /** When the current version was captured (UTC ISO). */
  capturedAt: string | null;
  /** `article:modified_time` of the current version, as the page wrote it. */
  modifiedTime: string | null;
  /** Publication time as an instant, when the page gave one. */
  publishedAt: string | null;
  /** The article's last real change (publication or edit): the revisit schedule counts from it. */
  changedAt: string | null;
  /** Last time newsnap looked at the page. */
  checkedAt: string | null;
  /** When to look again; null: only a sitemap change will. */
  nextCheckAt: string | null;
  /** Validators of the page, for conditional revisits. */
  etag: string | null;
  lastModified: string | null;
  /** Consecutive 404 answers, and when the last one came. */
  missingCount: number;
  missingAt: string | null;
  goneAt: string | null;
  /** When it failed its last run with no runs left: the slow retry schedule counts from here. */
  givenUpAt: string | null;
  /** The month sitemap's `<lastmod>` last seen (UTC ISO). */
  lastmod: string | null;
  /** Where the WARC files hold the page extraction last read (the response, or the rendered DOM). */
  warc: WarcLocation | null;
}

/** A discovered article; sitemaps also say when it last changed. */
export interface DiscoveredRef extends ArticleRef {
  /** `<lastmod>` as an instant (UTC ISO). */
  lastmod?: string;
}

/**
 * What a look at an article changes in its record (the state machine's result and what the
 * page said); a field left out stays as it is. An article state does not know yet is added.
 */
export interface ArticleUpdate {
  state?: ArticleState;
  attempts?: number;
  lastError?: string | null;
  reason?: string | null;
  checkedAt?: string;
  nextCheckAt?: string | null;
  changedAt?: string;
  publishedAt?: string | null;
  etag?: string | null;
  lastModified?: string | null;
  missingCount?: number;
  missingAt?: string | null;
  givenUpAt?: string | null;
}

/** One manifest line as the state store keeps it. */
export interface EventRecord {
  /** Byte offset of the manifest line: its identity. */
  offset: number;
  /** The line's number in the manifest (its `seq`). */
  seq: number;
  id: string;
  event: ManifestEvent;
  at: string;
  sha256: string | null;
  previousSha256: string | null;
  bytes: number | null;
  /** Where this version's bytes are now: the snapshot, or its history file once replaced. */
  path: string | null;
  modifiedTime: string | null;
  reason: string | null;
}

/** Events of one day in the site's time zone, by kind. */
export interface DayCount {
  day: string;
  event: EventRecord['event'];
  count: number;
}

/** An event with the article it happened to, as the status page lists it. */
export interface RecentEvent extends EventRecord {
  url: string;
  title: string | null;
}

/** Articles with the same last error. */
export interface ErrorCount {
  error: string;
  state: ArticleState;
  count: number;
  lastAt: string;
}

export interface SourceValidators {
  etag: string | null;
  lastModified: string | null;
  /** The body last seen, for sources that must be re-read when unchanged (robots.txt). */
  body: string | null;
}

export interface RunRecord {
  id: number;
  kind: string;
  startedAt: string;
  finishedAt: string | null;
  status: string | null;
  summary: unknown;
}

export interface WorkCursor {
  day: string;
  id: string;
}

export interface DueCursor {
  at: string;
  id: string;
}
