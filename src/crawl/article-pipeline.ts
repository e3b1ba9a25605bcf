import type { RenderPolicy } from '../config/config.js';
import type { Extraction } from '../extract/article.js';
import { extractArticle } from '../extract/extract-article.js';
import { FetchError } from '../fetch/fetch-error.js';
import type { FetchedPage, PageFetcher } from '../fetch/page-fetcher.js';
import type { RequestScheduler } from '../frontier/request-scheduler.js';
import type { Logger } from '../log/logger.js';
import type { SiteProfile } from '../site/profile.js';
import type { ArticleRef } from '../site/site-urls.js';
import { formatSnapshot } from '../snapshot/format.js';
import { StorageError } from '../snapshot/storage-error.js';
import type { Archive } from './archive.js';

export type ArticleOutcome =
  | { kind: 'written' | 'unchanged'; ref: ArticleRef; path: string; rendered: boolean; renderMs?: number }
  | { kind: 'printed'; ref: ArticleRef; text: string; rendered: boolean }
  | { kind: 'not-article'; ref: ArticleRef; reason: string; message: string }
  | { kind: 'failed'; ref: ArticleRef; message: string; error: FetchError | StorageError | Error }
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
}

/** One article through fetch → extract → format → store, with the outcome as a value (never a throw). */
export class ArticlePipeline {
  constructor(private readonly o: PipelineOptions) {}

  async process(ref: ArticleRef, archive: Archive | null, signal?: AbortSignal): Promise<ArticleOutcome> {
    try {
      const { extraction, rendered, renderMs } = await this.extract(ref, signal);
      if (!extraction.ok) {
        archive?.recordSkipped(ref.id, ref.url, extraction.reason);
        return { kind: 'not-article', ref, reason: extraction.reason, message: extraction.message };
      }
      const text = formatSnapshot(extraction.article);
      if (!archive) return { kind: 'printed', ref, text, rendered };
      const snap = await archive.save(extraction.article, text, ref);
      return { kind: snap.outcome, ref, path: snap.path, rendered, ...(renderMs === undefined ? {} : { renderMs }) };
    } catch (err) {
      if (err instanceof StorageError) throw err;
      if (signal?.aborted || this.o.scheduler.stopSignal.aborted || (err instanceof FetchError && err.kind === 'aborted')) return { kind: 'interrupted', ref };
      const error = err instanceof Error ? err : new Error(String(err));
      archive?.recordFailed(ref.id, ref.url, error.message);
      return { kind: 'failed', ref, message: error.message, error };
    }
  }

  private async extract(ref: ArticleRef, signal?: AbortSignal): Promise<{ extraction: Extraction; rendered: boolean; renderMs?: number }> {
    const { profile, renderPolicy, renderer } = this.o;
    if (renderPolicy !== 'always') {
      const page = await this.fetchWith(this.o.pages, `page ${ref.id}`, ref, signal);
      const extraction = extractArticle(page.html, page.url, profile);
      if (extraction.ok || extraction.reason !== 'empty-body' || renderPolicy === 'never') return { extraction, rendered: false };
    }
    if (!renderer || 'unavailable' in renderer) {
      throw new Error(`the page needs a browser render, but ${renderer ? renderer.unavailable : 'rendering is not set up'}`);
    }
    const page = await this.fetchWith(renderer.fetcher, `render ${ref.id}`, ref, signal);
    return { extraction: extractArticle(page.html, page.url, profile), rendered: true, ...(page.elapsedMs === undefined ? {} : { renderMs: page.elapsedMs }) };
  }

  private fetchWith(fetcher: PageFetcher, label: string, ref: ArticleRef, signal?: AbortSignal): Promise<FetchedPage> {
    return this.o.scheduler.run(label, (s) => fetcher.fetchPage(ref.url, s), signal).then((page) => {
      if (page.charsetNote) this.o.log.warn({ url: ref.url }, page.charsetNote);
      return page;
    });
  }
}

/** One line a person reads: `written PATH URL`, `not an article (REASON) URL`, `failed URL: REASON`. */
export function describeOutcome(outcome: ArticleOutcome): string {
  switch (outcome.kind) {
    case 'written':
    case 'unchanged':
      return `${outcome.kind} ${outcome.path} ${outcome.ref.url}`;
    case 'printed':
      return `printed ${outcome.ref.url}`;
    case 'not-article':
      return `not an article (${outcome.reason}) ${outcome.ref.url}`;
    case 'failed':
      return `failed ${outcome.ref.url}: ${outcome.message}`;
    case 'interrupted':
      return `interrupted ${outcome.ref.url}: the run stopped before it was done`;
  }
}
