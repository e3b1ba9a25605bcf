import { afterEach } from 'vitest';
import { MirrorServer, type MirrorOptions } from '../../src/mirror/index.js';

/**
 * What a test started is stopped after it, the last started first; a stop that fails does not
 * hide the test's own failure. Returns the function that registers a stop.
 */
export function stopsAfterEach(): (stop: () => Promise<unknown>) => void {
  const stops: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  });
  return (stop) => stops.push(stop);
}

/** A mirror of the site on 127.0.0.1, closed after the test. */
export async function mirrorFor(stopLater: (stop: () => Promise<unknown>) => void, options: MirrorOptions): Promise<MirrorServer> {
  const mirror = new MirrorServer(options);
  await mirror.listen();
  stopLater(() => mirror.close());
  return mirror;
}
