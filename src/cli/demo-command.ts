import { resolve } from 'node:path';
import { MirrorServer } from '../mirror/index.js';
import { createContext, type CommonFlags } from './context.js';
import { crawlCommand } from './crawl-command.js';
import type { ExitCodeValue } from '../exit-codes.js';
import { mirrorOptions, type MirrorFlags } from './mirror-command.js';

/**
 * The main job on a machine with no internet: serve the mirror on 127.0.0.1, crawl all of it
 * into the storage folder at 20 requests a second, and say where the snapshots are.
 */
export async function demoCommand(flags: CommonFlags & MirrorFlags & { rate?: string }): Promise<ExitCodeValue> {
  const options = mirrorOptions({ articles: '200', days: '14', crawlDelay: '0.05', ...flags });
  const mirror = new MirrorServer(options);
  const origin = await mirror.listen(0);
  process.stdout.write(`demo: mirror with ${options.articles} articles over ${options.days} days on ${origin}\n`);
  try {
    const ctx = createContext({ ...flags, origin }, [{ key: 'crawl.rate', value: flags.rate ?? '20', flag: '--rate' }]);
    const first = mirror.all()[0]?.day ?? '20250101';
    const code = await crawlCommand(ctx, { since: first });
    const storage = resolve(ctx.config.storage);
    process.stdout.write(`demo: snapshots are in ${storage}/snapshots/ and listed in ${storage}/manifest.jsonl\n`);
    return code;
  } finally {
    await mirror.close();
  }
}
