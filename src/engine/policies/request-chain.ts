import { AsyncLocalStorage } from 'node:async_hooks';
import { FetchError } from '../../fetch/fetch-error.js';
import { RequestVeto, type RequestKind, type RequestScope, type SiteRequests, type WireAnswer, type WireTicket } from '../../fetch/site-requests.js';
import type { Logger } from '../../log/logger.js';
import { laneContext, type LaneRun } from '../lane.js';
import type { ArticleOutcome } from '../pipeline/article-outcome.js';
import type { ChainRequest, RequestMiddleware } from './policy.js';

/** The attempt being run: the fetchers' requests inside it are its own, or made within it. */
const attemptContext = new AsyncLocalStorage<Attempt>();

interface Attempt extends ChainRequest {
  /** Its own request went on the wire (a later one made inside it is a child). */
  wired: boolean;
  /** Its own request's ticket while it is open. */
  own: WireTicket | null;
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
 *
 * A hook that throws never escapes: after- and error-hooks run inside Playwright's listeners and
 * after a good answer, where a throw would crash the process or turn a 200 into a retried
 * failure. Each is isolated and logged once per middleware; a before-hook's throw (other than a
 * veto) fails that one request, never the process.
 */
export class RequestChain implements SiteRequests {
  private readonly broken = new Set<string>();

  constructor(
    readonly middlewares: readonly RequestMiddleware[],
    private readonly log?: Logger,
  ) {}

  /** Runs one attempt through the chain around `send`; the lane is the run in force now. */
  async run<T>(init: AttemptInit, send: () => Promise<T>): Promise<T> {
    const attempt: Attempt = { ...request(init.url, init.kind, laneContext.getStore() ?? null, init.signal, null), fallback: init.fallback ?? false, wired: false, own: null };
    const passage = await this.enter(attempt);
    try {
      return await attemptContext.run(attempt, send);
    } catch (err) {
      // Its own request went out and nothing ended it (a render's document when goto timed out):
      // it ends with the attempt's error, so the breaker hears a timeout as it hears an HTTP one.
      if (attempt.own && err instanceof FetchError) attempt.own.end({ status: null, headers: {}, error: err });
      passage.failed(err);
      throw err;
    } finally {
      passage.over();
    }
  }

  async open(url: string, o: { kind?: RequestKind; scope?: RequestScope | null; signal?: AbortSignal } = {}): Promise<WireTicket> {
    // An explicit null scope is no attempt: inside a browser's callbacks the async context is the
    // one captured when the browser started (the first render ever made), never the request's.
    const explicit = 'scope' in o;
    const attempt = explicit ? ((o.scope ?? null) as Attempt | null) : (attemptContext.getStore() ?? null);
    if (attempt && !attempt.wired && (o.kind === undefined || o.kind === attempt.kind)) {
      // The attempt's first request is its own: its before-hooks ran when it started; what it got is heard now.
      attempt.wired = true;
      const own = this.ticket(attempt, this.middlewares, null, () => (attempt.own = null));
      attempt.own = own;
      return own;
    }
    const signal = o.signal ?? attempt?.signal ?? new AbortController().signal;
    const lane = attempt ? attempt.lane : explicit ? null : (laneContext.getStore() ?? null);
    const req = request(url, o.kind ?? attempt?.kind ?? 'other', lane, signal, attempt);
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
        for (const m of [...passed].reverse()) this.guard(m, 'error', () => m.error?.(req, err));
      },
      over: () => {
        for (const c of cleanups.splice(0).reverse()) this.guard(null, 'cleanup', c);
      },
    };
    for (const m of this.middlewares) {
      try {
        const cleanup = await m.before?.(req);
        if (cleanup) cleanups.push(cleanup);
      } catch (err) {
        const failure = this.beforeFailure(m, req, err);
        passage.failed(failure);
        passage.over();
        throw failure;
      }
      passed.push(m);
    }
    return passage;
  }

  /** A veto or an abort is what the hook meant; any other throw is a bug in it: this request fails, saying so. */
  private beforeFailure(m: RequestMiddleware, req: ChainRequest, err: unknown): unknown {
    if (err instanceof FetchError || req.signal.aborted) return err;
    this.said(m.name, 'before', err);
    const message = err instanceof Error ? err.message : String(err);
    return new RequestVeto(m.name, req.url, `${req.url}: not sent: the ${m.name} middleware failed (${message})`);
  }

  private ticket(req: ChainRequest, passed: readonly RequestMiddleware[], passage: Passage | null, onEnd?: () => void): WireTicket {
    let ended = false;
    return {
      headers: req.headers,
      end: (answer: WireAnswer) => {
        if (ended) return;
        ended = true;
        onEnd?.();
        req.answer = answer;
        for (const m of [...passed].reverse()) this.guard(m, 'after', () => m.after?.(req, answer));
        if (!passage) return;
        if (answer.error) passage.failed(answer.error);
        passage.over();
      },
    };
  }

  /** Runs one hook; a throw is logged (once per middleware and hook) and goes no further. */
  private guard(m: RequestMiddleware | null, hook: string, run: () => void): void {
    try {
      run();
    } catch (err) {
      this.said(m?.name ?? 'chain', hook, err);
    }
  }

  private said(name: string, hook: string, err: unknown): void {
    const key = `${name} ${hook}`;
    if (this.broken.has(key)) return;
    this.broken.add(key);
    this.log?.error({ middleware: name, hook, err: err instanceof Error ? err.message : String(err) }, 'a request middleware threw: its hook is skipped for that request (said once)');
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
