import type { RenderPolicy } from '../config/config.js';
import type { Extraction } from '../extract/article.js';
import { extractArticle } from '../extract/extract-article.js';
import { FetchError } from '../fetch/fetch-error.js';
import type { FetchedPage, NotModified, PageFetcher, PageValidators } from '../fetch/page-fetcher.js';
import type { RequestScheduler } from '../frontier/request-scheduler.js';
import type { RevisitPolicy } from '../frontier/revisit-policy.js';
import type { ArticleRecord } from '../frontier/state-store.js';
import type { Logger } from '../log/logger.js';
import type { SiteProfile } from '../site/profile.js';
import type { ArticleRef } from '../site/site-urls.js';
import { formatSnapshot } from '../snapshot/format.js';
import { StorageError } from '../snapshot/storage-error.js';
import type { Archive } from './archive.js';
import { ArticleRecorder } from './article-recorder.js';

export type ArticleOutcome =
  | { kind: 'written' | 'updated' | 'restored' | 'unchanged'; ref: ArticleRef; path: string; revisit: boolean; rendered: boolean; renderMs?: number }
  | { kind: 'printed'; ref: ArticleRef; text: string; rendered: boolean }
  /** The site removed the article (410, or 404 enough times); its files stay. */
  | { kind: 'gone'; ref: ArticleRef; reason: string }
  /** A known article answered 404, not yet enough times to call it gone. */
  | { kind: 'missing'; ref: ArticleRef; count: number }
  | { kind: 'not-article'; ref: ArticleRef; reason: string; message: string; revisit: boolean }
  | { kind: 'failed'; ref: ArticleRef; message: string; error: FetchError | StorageError | Error; revisit: boolean }
  /** The run stopped while the article was in flight; its state is left as it was. */
  | { kind: 'interrupted'; ref: ArticleRef };

/** A browser that renders pages, or why there is none. */
export type Renderer = { fetcher: PageFetcher } | { unavailable: string };

export interface PipelineOptions {
  profile: SiteProfile;
  pages: PageFetcher;
  scheduler: RequestScheduler;
  log: Logger;
  renderPolicy: RenderPolicy;
  renderer?: Renderer;
  revisit: RevisitPolicy;
}

type Fetched = { notModified: true; validators?: PageValidators } | { notModified: false; extraction: Extraction; rendered: boolean; renderMs?: number; validators?: PageValidators };

/**
 * One article through fetch → extract → format → store, with the outcome as a value (never a
 * throw). An article newsnap already holds is checked again: conditionally when the page gave
 * validators, and through the same version logic, so an edit becomes a new version and a
 * removal is recorded.
 */
export class ArticlePipeline {
  constructor(private readonly o: PipelineOptions) {}

  async process(ref: ArticleRef, archive: Archive | null, signal?: AbortSignal): Promise<ArticleOutcome> {
    const known = archive?.state.get(ref.id);
    const revisit = known?.state === 'done' || known?.state === 'gone' ? known : undefined;
    const recorder = archive ? new ArticleRecorder(archive, this.o.revisit) : null;
    try {
      // A gone article is asked without validators: a 304 would not tell it is back.
      const fetched = await this.fetch(ref, signal, revisit?.state === 'done' ? validatorsOf(revisit) : undefined);
      if (fetched.notModified) {
        if (revisit) recorder?.unchanged(revisit, fetched.validators);
        return { kind: 'unchanged', ref, path: revisit?.path ?? '', revisit: true, rendered: false };
      }
      const { extraction, rendered, renderMs } = fetched;
      if (!extraction.ok) {
        if (revisit) recorder?.notArticle(revisit, extraction.reason);
        else archive?.recordSkipped(ref.id, ref.url, extraction.reason);
        return { kind: 'not-article', ref, reason: extraction.reason, message: extraction.message, revisit: revisit !== undefined };
      }
      const text = formatSnapshot(extraction.article);
      if (!recorder) return { kind: 'printed', ref, text, rendered };
      const saved = await recorder.captured(ref, extraction.article, text, fetched.validators ? { validators: fetched.validators } : {});
      const kind = saved.outcome === 'reextracted' ? 'updated' : saved.outcome;
      return { kind, ref, path: saved.path, revisit: revisit !== undefined, rendered, ...(renderMs === undefined ? {} : { renderMs }) };
    } catch (err) {
      if (err instanceof StorageError) throw err;
      if (signal?.aborted || this.o.scheduler.stopSignal.aborted || (err instanceof FetchError && err.kind === 'aborted')) return { kind: 'interrupted', ref };
      if (revisit && recorder && err instanceof FetchError && (err.status === 404 || err.status === 410)) {
        const r = await recorder.missing(revisit, err.status);
        return r.gone ? { kind: 'gone', ref, reason: r.reason } : { kind: 'missing', ref, count: r.count };
      }
      const error = err instanceof Error ? err : new Error(String(err));
      if (revisit) recorder?.failed(revisit, error.message);
      else archive?.recordFailed(ref.id, ref.url, error.message);
      return { kind: 'failed', ref, message: error.message, error, revisit: revisit !== undefined };
    }
  }

  private async fetch(ref: ArticleRef, signal?: AbortSignal, validators?: PageValidators): Promise<Fetched> {
    const { profile, renderPolicy, renderer } = this.o;
    let pageValidators: PageValidators | undefined;
    if (renderPolicy !== 'always') {
      const page = await this.fetchWith(this.o.pages, `page ${ref.id}`, ref, signal, validators);
      if (page.notModified) return page;
      pageValidators = page.validators;
      const extraction = extractArticle(page.html, page.url, profile);
      if (extraction.ok || extraction.reason !== 'empty-body' || renderPolicy === 'never') return { notModified: false, extraction, rendered: false, ...(pageValidators ? { validators: pageValidators } : {}) };
    }
    if (!renderer || 'unavailable' in renderer) {
      throw new Error(`the page needs a browser render, but ${renderer ? renderer.unavailable : 'rendering is not set up'}`);
    }
    const page = await this.fetchWith(renderer.fetcher, `render ${ref.id}`, ref, signal);
    if (page.notModified) return page;
    return {
      notModified: false,
      extraction: extractArticle(page.html, page.url, profile),
      rendered: true,
      ...(page.elapsedMs === undefined ? {} : { renderMs: page.elapsedMs }),
      ...(pageValidators ? { validators: pageValidators } : {}),
    };
  }

  private fetchWith(fetcher: PageFetcher, label: string, ref: ArticleRef, signal?: AbortSignal, validators?: PageValidators): Promise<FetchedPage | NotModified> {
    return this.o.scheduler.run(label, (s) => fetcher.fetchPage(ref.url, s, validators), signal).then((page) => {
      if (!page.notModified && page.charsetNote) this.o.log.warn({ url: ref.url }, page.charsetNote);
      return page;
    });
  }
}

function validatorsOf(known: ArticleRecord): PageValidators | undefined {
  return known.etag || known.lastModified ? { etag: known.etag, lastModified: known.lastModified } : undefined;
}

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
    case 'failed':
      return `failed ${outcome.ref.url}: ${outcome.message}`;
    case 'interrupted':
      return `interrupted ${outcome.ref.url}: the run stopped before it was done`;
  }
}
