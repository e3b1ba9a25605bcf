import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseDay } from '../engine/lanes/crawl-plan.js';
import { UsageError } from './usage-error.js';

/** Days of a `--since`/`--until` pair, as YYYYMMDD. */
export interface DayRangeFlags {
  since?: string;
  until?: string;
}

/**
 * `--since` and `--until` as days: a flag that is not a date, or a range that ends before it
 * starts, is a usage error naming the flag. Either may be left out.
 */
export function dayRangeFlags(flags: DayRangeFlags): DayRangeFlags {
  const day = (flag: string, value: string | undefined): string | undefined => {
    if (value === undefined) return undefined;
    const parsed = parseDay(value);
    if (!parsed) throw new UsageError(`--${flag} ${value} is not a date (YYYY-MM-DD)`);
    return parsed;
  };
  const since = day('since', flags.since);
  const until = day('until', flags.until);
  if (since && until && since > until) throw new UsageError(`--since ${flags.since} is after --until ${flags.until}`);
  return { ...(since ? { since } : {}), ...(until ? { until } : {}) };
}

/** A command that only reads a storage folder refuses one newsnap never wrote (rather than creating it). */
export function requireExistingStorage(root: string): void {
  if (!existsSync(join(root, 'state.sqlite'))) throw new UsageError(`no newsnap storage at ${root} (no state.sqlite): give --storage`);
}
