import type { IndexLag, SearchFilter, SearchReader } from './search-reader.js';
import { dateOfDay, dayNumber } from './search-schema.js';

export const INTERVALS = ['day', 'week', 'month'] as const;
export type Interval = (typeof INTERVALS)[number];

/** One bucket of a count over time: articles matching, articles published, and their ratio. */
export interface CountBucket {
  /** The bucket's first day, `YYYY-MM-DD` (a week starts on Monday). */
  date: string;
  count: number;
  total: number;
  ratio: number;
}

/** Bars a chart shows at most when it picks its own interval. */
const AUTO_BARS = 62;

export interface CountOverTime {
  interval: Interval;
  buckets: CountBucket[];
  count: number;
  total: number;
  ratio: number;
  /** How far the index is behind the manifest as it was counted. */
  index: IndexLag;
}

/** Buckets past this many are not drawn out: a day-by-day count over decades says nothing. */
const MAX_BUCKETS = 5000;

/**
 * Matching articles per day, week or month of publication, beside all the articles published in
 * each (their current versions), as Media Cloud's count-over-time gives them: every bucket from
 * the first to the last (`since`/`until` when given), empty ones too.
 */
export function countOverTime(reader: SearchReader, f: SearchFilter, asked: Interval | 'auto'): CountOverTime {
  const counts = reader.countByDay(f);
  const totals = reader.totalsByDay(f);
  const days = [...counts.keys(), ...totals.keys()];
  const first = f.since ? dayNumber(f.since) : Math.min(...days);
  const last = f.until ? dayNumber(f.until) : Math.max(...days);
  // `auto` (the status page's chart): days, weeks or months, whichever gives at most AUTO_BARS bars.
  const span = last - first + 1;
  const interval: Interval = asked !== 'auto' ? asked : span <= AUTO_BARS ? 'day' : span <= AUTO_BARS * 7 ? 'week' : 'month';
  const buckets = new Map<number, CountBucket>();
  if (days.length > 0 || (f.since && f.until)) {
    for (let d = bucketStart(first, interval); d <= last && buckets.size < MAX_BUCKETS; d = nextBucket(d, interval)) {
      buckets.set(d, { date: dateOfDay(d), count: 0, total: 0, ratio: 0 });
    }
  }
  for (const [day, n] of counts) {
    const b = buckets.get(bucketStart(day, interval));
    if (b) b.count += n;
  }
  for (const [day, n] of totals) {
    const b = buckets.get(bucketStart(day, interval));
    if (b) b.total += n;
  }
  const list = [...buckets.values()];
  for (const b of list) b.ratio = ratio(b.count, b.total);
  const count = list.reduce((n, b) => n + b.count, 0);
  const total = list.reduce((n, b) => n + b.total, 0);
  return { interval, buckets: list, count, total, ratio: ratio(count, total), index: reader.lag() };
}

function ratio(count: number, total: number): number {
  return total > 0 ? Number((count / total).toFixed(6)) : 0;
}

/** The day a bucket starts: the day itself, its week's Monday (day 0, 1990-01-01, was one), its month's first. */
function bucketStart(day: number, interval: Interval): number {
  if (interval === 'day') return day;
  if (interval === 'week') return day - (((day % 7) + 7) % 7);
  return dayNumber(`${dateOfDay(day).slice(0, 7)}-01`);
}

function nextBucket(day: number, interval: Interval): number {
  if (interval === 'day') return day + 1;
  if (interval === 'week') return day + 7;
  const [y, m] = dateOfDay(day).split('-').map(Number) as [number, number];
  return dayNumber(new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10));
}
