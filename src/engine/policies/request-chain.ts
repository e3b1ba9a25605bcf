import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestKind, RequestScope, SiteRequests, WireAnswer, WireTicket } from '../../fetch/site-requests.js';
import { laneContext, type LaneRun } from '../lane.js';
import type { ArticleOutcome } from '../pipeline/article-outcome.js';
import type { ChainRequest, RequestMiddleware } from './policy.js';

/** The attempt being run: the fetchers' requests inside it are its own, or made within it. */
const attemptContext = new AsyncLocalStorage<Attempt>();

interface Attempt extends ChainRequest {
  /** Its own request went on the wire (a later one made inside it is a child). */
  wired: boolean;
}

/** What an attempt is asked with (the scheduler's callers give url and kind; the rest comes from the run). */
export interface AttemptInit {
  url: string;
  kind: RequestKind;
  signal: AbortSignal;
  fallback?: boolean;
}

/**
 * The ordered list of request middlewares, run around every request to the site: the attempts
 * the request scheduler runs, and each request the fetchers put on the wire within one (HTTP
 * hops, a render's document and its sub-requests). Before-hooks run in list order, after- and
 * error-hooks in reverse, as an onion; a middleware whose before-hook did not run sees nothing
 * more of that request.
 */
export class RequestChain implements SiteRequests {
  constructor(readonly middlewares: readonly RequestMiddleware[]) {}

  /** Runs one attempt through the chain around `send`; the lane is the run in force now. */
  async run<T>(init: AttemptInit, send: () => Promise<T>): Promise<T> {
    const attempt: Attempt = { ...request(init.url, init.kind, laneContext.getStore() ?? null, init.signal, null), fallback: init.fallback ?? false, wired: false };
    const passage = await this.enter(attempt);
    try {
      return await attemptContext.run(attempt, send);
    } catch (err) {
      passage.failed(err);
      throw err;
    } finally {
      passage.over();
    }
  }

  async open(url: string, o: { kind?: RequestKind; scope?: RequestScope | null; signal?: AbortSignal } = {}): Promise<WireTicket> {
    const attempt = (o.scope as Attempt | null | undefined) ?? attemptContext.getStore() ?? null;
    if (attempt && !attempt.wired && (o.kind === undefined || o.kind === attempt.kind)) {
      // The attempt's first request is its own: its before-hooks ran when it started; what it got is heard now.
      attempt.wired = true;
      return this.ticket(attempt, this.middlewares, null);
    }
    const signal = o.signal ?? attempt?.signal ?? new AbortController().signal;
    const req = request(url, o.kind ?? attempt?.kind ?? 'other', attempt?.lane ?? laneContext.getStore() ?? null, signal, attempt);
    const passage = await this.enter(req);
    return this.ticket(req, passage.passed, passage);
  }

  scope(): RequestScope | null {
    return attemptContext.getStore() ?? null;
  }

  /** An article's outcome, to every middleware that watches outcomes. */
  outcome(run: LaneRun, outcome: ArticleOutcome): void {
    for (const m of this.middlewares) m.outcome?.(run, outcome);
  }

  /** The before-hooks in order; a veto (or an abort while delayed) undoes those that ran, and throws. */
  private async enter(req: ChainRequest): Promise<Passage> {
    const passed: RequestMiddleware[] = [];
    const cleanups: Array<() => void> = [];
    const passage: Passage = {
      passed,
      failed: (err) => {
        for (const m of [...passed].reverse()) m.error?.(req, err);
      },
      over: () => {
        for (const c of cleanups.splice(0).reverse()) c();
      },
    };
    for (const m of this.middlewares) {
      try {
        const cleanup = await m.before?.(req);
        if (cleanup) cleanups.push(cleanup);
      } catch (err) {
        passage.failed(err);
        passage.over();
        throw err;
      }
      passed.push(m);
    }
    return passage;
  }

  private ticket(req: ChainRequest, passed: readonly RequestMiddleware[], passage: Passage | null): WireTicket {
    let ended = false;
    return {
      headers: req.headers,
      end: (answer: WireAnswer) => {
        if (ended) return;
        ended = true;
        req.answer = answer;
        for (const m of [...passed].reverse()) m.after?.(req, answer);
        if (!passage) return;
        if (answer.error) passage.failed(answer.error);
        passage.over();
      },
    };
  }
}

interface Passage {
  passed: RequestMiddleware[];
  failed(err: unknown): void;
  over(): void;
}

function request(url: string, kind: RequestKind, lane: LaneRun | null, signal: AbortSignal, parent: ChainRequest | null): ChainRequest {
  return { url, kind, lane, signal, parent, fallback: false, headers: {}, answer: null };
}
