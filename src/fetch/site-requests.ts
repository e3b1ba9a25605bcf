import { FetchError } from './fetch-error.js';

/**
 * What the fetchers tell the request chain (the engine's middlewares) about the requests they put
 * on the wire. The fetchers sit below the engine: they see this interface only, never a lane.
 */

/** What a request is for: the chain's middlewares act on some kinds only. */
export type RequestKind = 'robots' | 'discovery' | 'page' | 'render' | 'subrequest' | 'other';

/** What the wire gave one request: the status and headers of the response, or the error when none came. */
export interface WireAnswer {
  status: number | null;
  headers: Record<string, string>;
  error: FetchError | null;
}

/** One request let through the chain: send it with `headers` added, then `end` it once with what came back. */
export interface WireTicket {
  /** Headers the chain's middlewares add or change (empty when none did). */
  readonly headers: Record<string, string>;
  end(answer: WireAnswer): void;
}

/** The request chain, as the code that sends requests sees it. */
export interface SiteRequests {
  /**
   * A request about to go out. It is the current attempt's own request (the one a caller queued)
   * or one made within it (a redirect hop, a rendered page's sub-request), which shares its rate
   * slot. Rejects with a RequestVeto when a middleware keeps it from going out.
   */
  open(url: string, o?: { kind?: RequestKind; scope?: RequestScope | null; signal?: AbortSignal }): Promise<WireTicket>;
  /** The attempt requests made now belong to, for requests started elsewhere later (a page's sub-requests). */
  scope(): RequestScope | null;
}

/** An attempt a caller queued, as the fetchers carry it: opaque to them. */
export interface RequestScope {
  readonly url: string;
  readonly kind: RequestKind;
}

/** A middleware kept a request from going out; `by` names it. Never retried. */
export class RequestVeto extends FetchError {
  constructor(
    readonly by: string,
    url: string,
    message: string,
  ) {
    super('vetoed', url, message);
  }
}

const NO_TICKET: WireTicket = { headers: {}, end: () => undefined };

/** No chain: every request goes out as it is (a client used outside the engine). */
export const UNCHAINED: SiteRequests = {
  open: async () => NO_TICKET,
  scope: () => null,
};
