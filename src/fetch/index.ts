export { FetchError, parseRetryAfter, type FetchErrorKind } from './fetch-error.js';
export { HttpClient, requireOk, type HttpOptions, type HttpResponse, type RequestObserver } from './http-client.js';
export { HttpPageFetcher, decodeHtml, type FetchedPage, type PageFetcher } from './page-fetcher.js';
