// What became of one article: the outcome every lane, policy, log line, metric and page reads.
import type { StorageError } from '../../disk/storage-error.js';
import type { FetchError } from '../../fetch/fetch-error.js';
import type { ArticleRef } from '../../site/site-urls.js';
import type { CaptureLag } from './article-recorder.js';

/** Optional fields of a snapshot whose coverage is watched. */
export const WATCHED_FIELDS = ['siteName', 'description', 'image'] as const;
export type WatchedField = (typeof WATCHED_FIELDS)[number];

/** What became of one article a lane handed the engine. */
export type ArticleOutcome =
  | {
      kind: 'written' | 'updated' | 'restored' | 'unchanged';
      ref: ArticleRef;
      path: string;
      revisit: boolean;
      rendered: boolean;
      renderMs?: number;
      /** The optional fields the page's article carried; absent for a 304 (no extraction). */
      fields?: Record<WatchedField, boolean>;
      /** A first capture's or an edit's lag behind the site's own times (the freshness histograms). */
      lag?: CaptureLag;
    }
  | { kind: 'printed'; ref: ArticleRef; text: string; rendered: boolean }
  /** The site removed the article (410, or 404 enough times); its files stay. */
  | { kind: 'gone'; ref: ArticleRef; reason: string }
  /** A known article answered 404, not yet enough times to call it gone. */
  | { kind: 'missing'; ref: ArticleRef; count: number }
  | { kind: 'not-article'; ref: ArticleRef; reason: string; message: string; revisit: boolean }
  /** robots.txt keeps newsnap from it. */
  | { kind: 'disallowed'; ref: ArticleRef }
  /** Not the site's page at all (a challenge or block page, HTTP 403/451): never counted as drift. */
  | { kind: 'blocked'; ref: ArticleRef; reason: string; revisit: boolean }
  /** The article's own failure: it counts against its runs. */
  | { kind: 'failed'; ref: ArticleRef; message: string; error: FetchError | StorageError | Error; revisit: boolean }
  /** The site could not be reached: the run's failure, not the article's (nothing counted). */
  | { kind: 'unreachable'; ref: ArticleRef; message: string; error: FetchError; revisit: boolean }
  /** An empty body not rendered while the run suspects extraction drift: left for a later run. */
  | { kind: 'postponed'; ref: ArticleRef; message: string }
  /** The run stopped while the article was in flight; its state is left as it was. */
  | { kind: 'interrupted'; ref: ArticleRef };

/** One line a person reads: `written PATH URL`, `not an article (REASON) URL`, `failed URL: REASON`. */
export function describeOutcome(outcome: ArticleOutcome): string {
  switch (outcome.kind) {
    case 'written':
    case 'updated':
    case 'restored':
    case 'unchanged':
      return `${outcome.kind} ${outcome.path} ${outcome.ref.url}`;
    case 'printed':
      return `printed ${outcome.ref.url}`;
    case 'gone':
      return `gone ${outcome.ref.url} (${outcome.reason})`;
    case 'missing':
      return `missing ${outcome.ref.url} (HTTP 404, ${outcome.count} so far)`;
    case 'not-article':
      return `not an article (${outcome.reason}) ${outcome.ref.url}`;
    case 'disallowed':
      return `disallowed ${outcome.ref.url}: robots.txt keeps newsnap from it`;
    case 'blocked':
      return `blocked ${outcome.ref.url}: ${outcome.reason}`;
    case 'failed':
      return `failed ${outcome.ref.url}: ${outcome.message}`;
    case 'unreachable':
      return `unreachable ${outcome.ref.url}: ${outcome.message}`;
    case 'postponed':
      return `postponed ${outcome.ref.url}: ${outcome.message}`;
    case 'interrupted':
      return `interrupted ${outcome.ref.url}: the run stopped before it was done`;
  }
}

/**
 * What an outcome says to the drift measure: the fields of the article a page gave, null for a
 * page of the site that gave none (or an empty body left unrendered), undefined for an outcome
 * that extracted nothing (a 304, a block page, a failure).
 */
export function extractedFields(o: ArticleOutcome): Record<WatchedField, boolean> | null | undefined {
  if (o.kind === 'not-article' || o.kind === 'postponed') return null;
  return 'fields' in o && o.fields ? o.fields : undefined;
}
