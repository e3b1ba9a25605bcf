export { FetchError, parseRetryAfter, type FetchErrorKind } from './fetch-error.js';
export { HttpClient, requireOk, type HttpOptions, type HttpResponse } from './http-client.js';
export { decodeHtml } from './decode-html.js';
export { HttpPageFetcher, type FetchedPage, type PageFetcher } from './page-fetcher.js';
export { RequestVeto, type RequestKind, type SiteRequests, type WireAnswer, type WireTicket } from './site-requests.js';
