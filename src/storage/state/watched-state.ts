import type { State } from './state-store.js';

/**
 * State whose every store call that fails with SQLite's own error (a locked database, a full
 * disk, a damaged file) is told to `failed` before it is thrown on: the crawl's runs, discovery's
 * validators, the archive's payload index and the lanes' own records all write state, and the
 * storage's health record must hear of each failure, wherever it happens. Reads and writes go
 * through unchanged; an iterator a store hands out is not watched.
 */
export function watchedState(state: State, failed: (err: unknown) => void): State {
  const watched = new Map<PropertyKey, unknown>();
  // An error thrown through several wrapped calls (a store call inside a transaction) is told once.
  const told = new WeakSet<object>();
  const wrapCall =
    (target: object, fn: (...args: unknown[]) => unknown) =>
    (...args: unknown[]): unknown => {
      try {
        return fn.apply(target, args);
      } catch (err) {
        if (/^SQLITE_/.test(String((err as { code?: unknown } | null)?.code ?? '')) && !told.has(err as object)) {
          told.add(err as object);
          failed(err);
        }
        throw err;
      }
    };
  const wrapStore = (store: object): object =>
    new Proxy(store, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? wrapCall(target, value as (...args: unknown[]) => unknown) : value;
      },
    });
  return new Proxy(state, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value === 'function') return wrapCall(target, value as (...args: unknown[]) => unknown);
      if (value === null || typeof value !== 'object') return value;
      if (!watched.has(prop)) watched.set(prop, wrapStore(value));
      return watched.get(prop);
    },
  });
}
