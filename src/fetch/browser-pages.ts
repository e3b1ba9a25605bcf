import type { Page, Request, Response } from 'playwright';
import { nowIso } from '../clock/clock.js';
import type { WarcLocation, ExchangeRecorder, HttpExchange, RenderedPage } from './exchange.js';
import { FetchError, type FetchErrorKind } from './fetch-error.js';

// What a render knows of its page's requests, and what it keeps of them (the archive): apart from the rendering itself.

/** The page a request was made by, or null (a service worker's, which renders block). */
export function pageOf(request: Request): Page | null {
  try {
    return request.frame().page();
  } catch {
    return null;
  }
}

/**
 * Why a page's request got no answer, as a fetch error. Ours aborting it is not the site's
 * failure; neither is an error Chromium does not name (ERR_FAILED, ERR_EMPTY_RESPONSE on one
 * broken script…): it becomes `failed`, which the circuit breaker ignores, so a page's broken
 * resources never stop a crawl while the site answers.
 */
export function failureOf(request: Request): FetchError {
  const text = request.failure()?.errorText ?? 'failed';
  const url = request.url();
  return new FetchError(chromiumKind(text), url, `${url}: the browser's request failed (${text})`);
}

function chromiumKind(text: string): FetchErrorKind {
  if (/ERR_ABORTED|ERR_BLOCKED/.test(text)) return 'aborted';
  if (/TIMED_OUT/.test(text)) return 'timeout';
  if (/NAME_NOT_RESOLVED/.test(text)) return 'dns';
  if (/CONNECTION_REFUSED|ADDRESS_UNREACHABLE/.test(text)) return 'connect';
  if (/CONNECTION_RESET|CONNECTION_CLOSED/.test(text)) return 'reset';
  return 'failed';
}

/** The document the browser received, as an exchange; null when its body is gone. */
export async function documentOf(siteUrl: string, response: Response): Promise<HttpExchange | null> {
  const body = await response.body().catch(() => null);
  if (!body) return null;
  const site = new URL(siteUrl);
  const sent = await response.request().allHeaders().catch(() => ({}) as Record<string, string>);
  const received = await response.allHeaders().catch(() => ({}) as Record<string, string>);
  const dropped = new Set(['content-encoding', 'content-length', 'transfer-encoding']);
  return {
    url: siteUrl,
    at: nowIso(),
    requestLine: `GET ${site.pathname}${site.search} HTTP/1.1`,
    requestHeaders: [['host', site.host], ...Object.entries(sent).filter(([k]) => k.toLowerCase() !== 'host')],
    status: response.status(),
    statusText: response.statusText(),
    responseHeaders: [...Object.entries(received).filter(([k]) => !dropped.has(k.toLowerCase())), ['content-length', String(body.length)]],
    body,
  };
}

/** Archives the document, then the DOM the browser built from it (what extraction reads), referring to it. */
export async function archiveRender(recorder: ExchangeRecorder, document: HttpExchange | null, page: RenderedPage): Promise<WarcLocation | null> {
  const response = document ? await recorder.recordExchange(document) : null;
  return recorder.recordRendered(page, response);
}
