import type { RenderPolicy } from '../../config/config.js';
import type { Extraction } from '../../extract/article.js';
import { FetchError } from '../../fetch/fetch-error.js';
import type { WarcLocation } from '../../fetch/exchange.js';
import type { FetchedPage, NotModified, PageFetcher, PageValidators } from '../../fetch/page-fetcher.js';
import type { RequestScheduler } from '../request-scheduler.js';
import type { RevisitPolicy } from '../revisit-policy.js';
import type { ArticleRecord } from '../../storage/state/state-store.js';
import type { Logger } from '../../log/logger.js';
import type { SiteProfile } from '../../site/profile.js';
import type { ArticleRef } from '../../site/site-urls.js';
import { formatSnapshot } from '../../snapshot/format.js';
import { StorageError } from '../../disk/storage-error.js';
import type { CircuitBreaker } from '../policies/circuit-breaker.js';
import type { DriftWatch } from '../policies/drift-watch.js';
import { laneContext } from '../lane.js';
import { BLOCKED_STATUSES } from '../policies/blocked-pause.js';
import { RequestVeto, type RequestKind } from '../../fetch/site-requests.js';
import { describeUnreachable } from '../../fetch/unreachable.js';
import { isCaptured } from '../../storage/state/article-states.js';
import type { Storage } from '../../storage/storage.js';
import { ArticleRecorder } from './article-recorder.js';
import { localExtractor, type Extractor } from './extractor.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { ArticleOutcome } from './article-outcome.js';


/** An article a page gave, on its way to becoming a version. */
interface Capture {
  extraction: Extraction & { ok: true };
  text: string;
  rendered: boolean;
  renderMs?: number;
  validators?: PageValidators;
}

/** A browser that renders pages, or why there is none. */
export type Renderer = { fetcher: PageFetcher } | { unavailable: string };

export interface PipelineOptions {
  profile: SiteProfile;
  pages: PageFetcher;
  scheduler: RequestScheduler;
  /** Tells the site's outage from one page's failure. */
  health: CircuitBreaker;
  /** Drift's render veto, asked directly when there is no browser to send a render to. */
  drift?: Pick<DriftWatch, 'fallbackVeto'>;
  log: Logger;
  renderPolicy: RenderPolicy;
  renderer?: Renderer;
  revisit: RevisitPolicy;
  /** Where pages are extracted; default this thread. */
  extractor?: Extractor;
}

type Fetched =
  | { notModified: true; validators?: PageValidators }
  | {
      notModified: false;
      extraction: Extraction;
      rendered: boolean;
      renderMs?: number;
      validators?: PageValidators;
      archived?: Promise<WarcLocation | null>;
      /** The body was empty and a render would have followed, but the run suspects drift. */
      renderSkipped?: boolean;
    };

export interface ProcessOptions {
  /** Queue priority of its requests (a background backfill's are lower). */
  priority?: number;
}

/** How one fetch of an article's page is asked for. */
interface FetchAsk {
  kind: RequestKind;
  fallback?: boolean;
  validators?: PageValidators;
  priority?: number;
}

/**
 * One article through fetch → extract → format → store, with the outcome as a value (never a
 * throw). An article newsnap already holds is checked again: conditionally when the page gave
 * validators, and through the same version logic, so an edit becomes a new version and a
 * removal is recorded.
 */
export class ArticlePipeline {
  /** One look at an article at a time, by the id its state and files are kept under. */
  private readonly articles = new KeyedMutex();

  private readonly extractor: Extractor;

  constructor(private readonly o: PipelineOptions) {
    this.extractor = o.extractor ?? localExtractor(o.profile);
  }

  /**
   * One article at a time per id: in `serve` the feed watch, a scheduled crawl, a backfill and a
   * manual fetch may reach the same article at once. The later one waits, then looks at it as a
   * revisit (a 304, or the same bytes: unchanged), so it is never captured twice. A page that is
   * another article's (its canonical URL names another id) is recorded under that id, holding
   * that id's turn: the turn of the URL's id is given back first, so no two turns are ever held.
   */
  async process(ref: ArticleRef, storage: Storage | null, signal?: AbortSignal, options: ProcessOptions = {}): Promise<ArticleOutcome> {
    const first = await this.articles.run(ref.id, () => this.processNow(ref, storage, signal, options));
    if (!('alias' in first)) return first;
    const { article } = first.alias.extraction;
    return this.articles.run(article.id, () => this.capture(ref, storage as Storage, first.alias));
  }

  private async processNow(ref: ArticleRef, storage: Storage | null, signal: AbortSignal | undefined, options: ProcessOptions): Promise<ArticleOutcome | { alias: Capture }> {
    // While state lags the manifest (a write failed), no article is looked at: the run ends with the cause.
    storage?.sync();
    const known = storage?.state.articles.get(ref.id);
    const revisit = known && isCaptured(known.state) ? known : undefined;
    const recorder = storage ? new ArticleRecorder(storage, this.o.revisit) : null;
    const mark = this.o.health.mark();
    try {
      // A gone article is asked without validators: a 304 would not tell it is back.
      const fetched = await this.fetch(ref, signal, revisit?.state === 'done' ? validatorsOf(revisit) : undefined, options);
      if (fetched.notModified) {
        if (revisit) recorder?.record(ref, revisit, 'unchanged', { validators: fetched.validators });
        return { kind: 'unchanged', ref, path: revisit?.path ?? '', revisit: true, rendered: false };
      }
      const { extraction, rendered, renderMs } = fetched;
      // Whatever the page gave, the archive holds it: reextract can read it back later.
      const archivedAt = await fetched.archived;
      if (storage && archivedAt) storage.recordWarc(ref.id, ref.url, archivedAt);
      if (!extraction.ok) {
        if (extraction.reason === 'foreign-page') return this.blocked(ref, "a challenge or block page: none of the site's markup", known, recorder);
        if (fetched.renderSkipped && !revisit) {
          const message = 'empty body, not rendered: extraction drift suspected in this run';
          recorder?.record(ref, known, 'postponed', { error: message });
          return { kind: 'postponed', ref, message };
        }
        recorder?.record(ref, known, 'not-article', { reason: extraction.reason });
        return { kind: 'not-article', ref, reason: extraction.reason, message: extraction.message, revisit: revisit !== undefined };
      }
      const text = formatSnapshot(extraction.article);
      if (!recorder || !storage) return { kind: 'printed', ref, text, rendered };
      const capture: Capture = { extraction, text, rendered, ...(renderMs === undefined ? {} : { renderMs }), ...(fetched.validators ? { validators: fetched.validators } : {}) };
      if (extraction.article.id !== ref.id) {
        recorder.record(ref, known, 'not-article', { reason: `the same article as ${extraction.article.id}` });
        return { alias: capture };
      }
      return await this.capture(ref, storage, capture);
    } catch (err) {
      if (err instanceof StorageError) throw err;
      if (err instanceof RequestVeto && err.by === 'robots' && storage && known) return this.disallowed(ref, storage, known);
      if (signal?.aborted || this.o.scheduler.stopSignal.aborted || (err instanceof FetchError && err.kind === 'aborted')) return { kind: 'interrupted', ref };
      if (err instanceof FetchError && err.kind === 'http-status' && BLOCKED_STATUSES.has(err.status ?? 0)) return this.blocked(ref, `HTTP ${err.status}`, known, recorder);
      if (revisit && recorder && err instanceof FetchError && (err.status === 404 || err.status === 410)) {
        const r = await recorder.missing(revisit, err.status);
        return r.gone ? { kind: 'gone', ref, reason: r.reason } : { kind: 'missing', ref, count: r.count };
      }
      if (err instanceof FetchError && this.o.health.isOutage(err, mark)) {
        const message = describeUnreachable(err);
        recorder?.record(ref, known, 'unreachable', { error: message });
        return { kind: 'unreachable', ref, message, error: err, revisit: revisit !== undefined };
      }
      const error = err instanceof Error ? err : new Error(String(err));
      recorder?.record(ref, known, 'failed', { error: error.message });
      return { kind: 'failed', ref, message: error.message, error, revisit: revisit !== undefined };
    }
  }

  /** A page's article becomes its current version (the version logic decides which event). */
  private async capture(ref: ArticleRef, storage: Storage, c: Capture): Promise<ArticleOutcome> {
    const { article } = c.extraction;
    const revisit = isCaptured(storage.state.articles.get(article.id)?.state ?? 'pending');
    const saved = await new ArticleRecorder(storage, this.o.revisit).captured(article, c.text, c.validators ? { validators: c.validators } : {});
    const kind = saved.outcome === 'reextracted' ? 'updated' : saved.outcome;
    const fields = { siteName: Boolean(article.siteName), description: Boolean(article.description), image: Boolean(article.image) };
    return { kind, ref, path: saved.path, revisit, rendered: c.rendered, fields, ...(c.renderMs === undefined ? {} : { renderMs: c.renderMs }), ...(saved.lag ? { lag: saved.lag } : {}) };
  }

  /** robots.txt keeps newsnap from this article: recorded, never requested. */
  disallowed(ref: ArticleRef, storage: Storage, known: ArticleRecord): ArticleOutcome {
    new ArticleRecorder(storage, this.o.revisit).record(ref, known, 'disallowed', {});
    return { kind: 'disallowed', ref };
  }

  /** The site did not serve us: the article is looked at again later, as it was. */
  private blocked(ref: ArticleRef, reason: string, known: ArticleRecord | undefined, recorder: ArticleRecorder | null): ArticleOutcome {
    recorder?.record(ref, known, 'blocked', { error: `blocked: ${reason}` });
    return { kind: 'blocked', ref, reason, revisit: known !== undefined && isCaptured(known.state) };
  }

  private async fetch(ref: ArticleRef, signal: AbortSignal | undefined, validators: PageValidators | undefined, options: ProcessOptions): Promise<Fetched> {
    const { renderPolicy, renderer } = this.o;
    const priority = options.priority;
    let pageValidators: PageValidators | undefined;
    let plain: (Fetched & { notModified: false }) | undefined;
    if (renderPolicy !== 'always') {
      const page = await this.fetchWith(this.o.pages, `page ${ref.id}`, ref, signal, { kind: 'page', ...(validators ? { validators } : {}), ...(priority === undefined ? {} : { priority }) });
      if (page.notModified) return page;
      pageValidators = page.validators;
      const extraction = await this.extract(page);
      plain = { notModified: false, extraction, rendered: false, ...(pageValidators ? { validators: pageValidators } : {}), ...(page.archived ? { archived: page.archived } : {}) };
      if (extraction.ok || extraction.reason !== 'empty-body' || renderPolicy === 'never') return plain;
    }
    if (!renderer || 'unavailable' in renderer) {
      // The veto comes first, as it would in the chain: a postponed article is not a failure.
      if (plain && this.o.drift?.fallbackVeto(ref.url, laneContext.getStore() ?? null)) return { ...plain, renderSkipped: true };
      throw new Error(`the page needs a browser render, but ${renderer ? renderer.unavailable : 'rendering is not set up'}`);
    }
    let page: FetchedPage | NotModified;
    try {
      page = await this.fetchWith(renderer.fetcher, `render ${ref.id}`, ref, signal, { kind: 'render', fallback: plain !== undefined, ...(priority === undefined ? {} : { priority }) });
    } catch (err) {
      // The drift watch kept the fallback render from going out: the page stays as HTTP gave it.
      if (plain && err instanceof RequestVeto && err.by === 'drift') return { ...plain, renderSkipped: true };
      throw err;
    }
    if (page.notModified) return page;
    return {
      notModified: false,
      extraction: await this.extract(page),
      rendered: true,
      ...(page.elapsedMs === undefined ? {} : { renderMs: page.elapsedMs }),
      ...(pageValidators ? { validators: pageValidators } : {}),
      ...(page.archived ? { archived: page.archived } : {}),
    };
  }

  private fetchWith(fetcher: PageFetcher, label: string, ref: ArticleRef, signal: AbortSignal | undefined, ask: FetchAsk): Promise<FetchedPage | NotModified> {
    return this.o.scheduler.run(label, (s) => fetcher.fetchPage(ref.url, s, ask.validators), signal, ask.priority, { url: ref.url, kind: ask.kind, ...(ask.fallback ? { fallback: true } : {}) });
  }

  private async extract(page: FetchedPage): Promise<Extraction> {
    const { extraction, charsetNote } = await this.extractor.extract(page.source, page.url);
    if (charsetNote) this.o.log.warn({ url: page.url }, charsetNote);
    return extraction;
  }
}

function validatorsOf(known: ArticleRecord): PageValidators | undefined {
  return known.etag || known.lastModified ? { etag: known.etag, lastModified: known.lastModified } : undefined;
}

