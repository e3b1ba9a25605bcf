/**
 * One HTTP exchange as it went over the wire, for whoever keeps a record of them (the WARC
 * archive). The body is the decoded one: `content-encoding` is named in `decodedFrom` and left
 * out of the headers, and `content-length` is the decoded length.
 */
export interface HttpExchange {
  /** The site URL the request stood for (production form), whatever origin was contacted. */
  url: string;
  /** When the request was sent (newsnap's clock, UTC ISO). */
  at: string;
  requestLine: string;
  requestHeaders: Array<[string, string]>;
  status: number;
  statusText: string;
  responseHeaders: Array<[string, string]>;
  body: Buffer;
  /** The content-encoding the body came in, before decoding. */
  decodedFrom?: string;
}

/** A page's DOM as the browser built it, which extraction read. */
export interface RenderedPage {
  url: string;
  at: string;
  html: string;
}

/** Where a record lies in the archive: its file (relative to storage) and byte range. */
export interface WarcLocation {
  file: string;
  offset: number;
  length: number;
}

/** Keeps exchanges; never rejects (a failure is kept and reported when the recorder closes). */
export interface ExchangeRecorder {
  recordExchange(exchange: HttpExchange): Promise<WarcLocation | null>;
  recordRendered(page: RenderedPage, refersTo?: WarcLocation | null): Promise<WarcLocation | null>;
}
