import { linkedSignal } from './abort.js';

/**
 * A signal that aborts after `ms` (and with `parent`, if given), held by a timer of its own until
 * `clear()`. `AbortSignal.timeout()` inside `AbortSignal.any()` is only weakly held on Node 20: a
 * garbage collection in the middle of a long request can drop it, and then the deadline never
 * comes (a response that drips a byte a second would hold the request forever).
 */
export function deadline(ms: number, parent?: AbortSignal): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  timer.unref();
  const link = linkedSignal([parent, controller.signal]);
  return {
    signal: link.signal,
    clear: () => {
      clearTimeout(timer);
      link.dispose();
    },
  };
}
