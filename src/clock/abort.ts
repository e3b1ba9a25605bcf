/**
 * A signal that aborts when any of `parents` does (or at once, if one has), held only while it is
 * used: `dispose()` takes its listeners off the parents. `AbortSignal.any()` on Node 20 keeps every
 * signal it made in each parent's set for good, so that one made per request from a signal that
 * lives as long as the process (the engine's stop) would grow the process for weeks.
 */
export function linkedSignal(parents: ReadonlyArray<AbortSignal | undefined>): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const listening: AbortSignal[] = [];
  const onAbort = (event: Event) => {
    dispose();
    controller.abort((event.target as AbortSignal).reason);
  };
  const dispose = () => {
    for (const parent of listening.splice(0)) parent.removeEventListener('abort', onAbort);
  };
  for (const parent of parents) {
    if (!parent) continue;
    if (parent.aborted) {
      dispose();
      controller.abort(parent.reason);
      break;
    }
    parent.addEventListener('abort', onAbort, { once: true });
    listening.push(parent);
  }
  return { signal: controller.signal, dispose };
}
