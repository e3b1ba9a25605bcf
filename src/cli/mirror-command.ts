import { MirrorServer } from '../mirror/index.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { UsageError } from './usage-error.js';

export interface MirrorFlags {
  port?: string;
  host?: string;
  articles?: string;
  days?: string;
  seed?: string;
  jsEvery?: string;
  crawlDelay?: string;
  /** commander's --no-article-validators */
  articleValidators?: boolean;
}

export function mirrorOptions(flags: MirrorFlags) {
  const num = (name: string, value: string | undefined, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} ${value} must be a number of at least ${min}`);
    return n;
  };
  const crawlDelay = flags.crawlDelay === undefined ? null : num('crawl-delay', flags.crawlDelay, 1, 0);
  return {
    articles: Math.floor(num('articles', flags.articles, 500, 0)),
    days: Math.floor(num('days', flags.days, 30, 1)),
    seed: Math.floor(num('seed', flags.seed, 1, 0)),
    jsEvery: Math.floor(num('js-every', flags.jsEvery, 0, 0)),
    ...(crawlDelay === null ? {} : { crawlDelay }),
    ...(flags.articleValidators === false ? { articleValidators: false } : {}),
  };
}

/** Serves the mirror until SIGINT/SIGTERM. */
export async function mirrorCommand(flags: MirrorFlags): Promise<ExitCodeValue> {
  const options = mirrorOptions(flags);
  const port = Number(flags.port ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${flags.port} is not a port`);
  const mirror = new MirrorServer(options);
  const url = await mirror.listen(port, flags.host ?? '127.0.0.1');
  process.stdout.write(`mirror of anlatilaninotesi.com.tr listening on ${url} (${options.articles} articles over ${options.days} days)\n`);
  process.stdout.write(`crawl it with: newsnap crawl --origin ${url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await mirror.close();
  return ExitCode.OK;
}
