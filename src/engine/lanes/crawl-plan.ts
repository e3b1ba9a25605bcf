import { daysInMonth, shiftDay, SITE_UTC_OFFSET_MS } from '../../site/calendar.js';

/** Which months and days a crawl discovers through, from what it was asked and when it last ran. */
export interface CrawlWindow {
  /** YYYYMMDD, inclusive. */
  since: string;
  until: string;
  /** Backfill of a range given by the user; otherwise an incremental run. */
  backfill: boolean;
}

/** Months (YYYYMM), newest first, that overlap the window. */
export function monthsOf(window: CrawlWindow): string[] {
  const months: string[] = [];
  let y = Number(window.until.slice(0, 4));
  let m = Number(window.until.slice(4, 6));
  const stop = window.since.slice(0, 6);
  for (;;) {
    const month = `${y}${String(m).padStart(2, '0')}`;
    months.push(month);
    if (month <= stop) break;
    m--;
    if (m === 0) {
      m = 12;
      y--;
    }
  }
  return months;
}

/** Some days (YYYYMMDD, inclusive); an end left out is open. */
export interface DayRange {
  since?: string;
  until?: string;
}

/**
 * The days a run takes new work from, newest first: a backfill's range; otherwise every day but
 * those `leave` gives to another lane (a backfill under way), the days after them first. The
 * incremental window is always the run's own: only the days of `leave` before its `since` are
 * left, or an open-ended backfill (until = the day it was asked) would hold today's new articles
 * behind the whole history, at the lowest rank.
 */
export function newWorkRanges(window: CrawlWindow, leave?: { since: string; until: string }): DayRange[] {
  if (window.backfill) return [{ since: window.since, until: window.until }];
  if (!leave) return [{}];
  const beforeOwn = shiftDay(window.since, -1);
  const until = leave.until < beforeOwn ? leave.until : beforeOwn;
  if (leave.since > until) return [{}];
  return [{ since: shiftDay(until, 1) }, { until: shiftDay(leave.since, -1) }];
}

/** Days (YYYYMMDD) of a month that fall in the window, newest first. */
export function daysOf(month: string, window: CrawlWindow): string[] {
  const days: string[] = [];
  const last = daysInMonth(month);
  for (let d = last; d >= 1; d--) {
    const day = `${month}${String(d).padStart(2, '0')}`;
    if (day >= window.since && day <= window.until) days.push(day);
  }
  return days;
}

/**
 * The incremental window: from the day before the last successful run (on a first run, this
 * month's first day) to today. In a month's first three days it reaches into the previous month,
 * whose sitemap still gains late entries.
 */
export function incrementalWindow(today: string, lastSuccessDay: string | null): CrawlWindow {
  const monthStart = `${today.slice(0, 6)}01`;
  let since = lastSuccessDay ? shiftDay(lastSuccessDay, -1) : monthStart;
  if (Number(today.slice(6, 8)) <= 3) {
    const previousMonthEnd = shiftDay(monthStart, -1);
    if (since > previousMonthEnd) since = previousMonthEnd;
  }
  return { since, until: today, backfill: false };
}

/** One sitemap read of an incremental run: a whole month, or some days of one month. */
export type SitemapRead = { kind: 'month'; month: string } | { kind: 'range'; since: string; until: string };

/** How long after the site's midnight an incremental run still reads yesterday's range. */
const YESTERDAY_GRACE_MS = 3_600_000;

/**
 * The sitemaps an incremental run reads. A busy month's sitemap holds thousands of URLs and
 * changes with every article, so it is read whole at most every `monthEveryMs` (for the
 * `<lastmod>` moves of older articles, and what left it); in between, one range from the last day
 * discovery completed to today (today alone once today was read; yesterday too in the hour after
 * midnight, for the last articles of the day). Each range stays within one month. A first
 * incremental run reads its months whole.
 */
export function incrementalSitemapReads(o: {
  window: CrawlWindow;
  /** YYYYMMDD of the last incremental run whose discovery completed, or null. */
  lastDiscoveryDay: string | null;
  nowMs: number;
  monthEveryMs: number;
  /** When a month's whole sitemap was last read (ms), or null. */
  monthReadAt: (month: string) => number | null;
}): SitemapRead[] {
  const today = o.window.until;
  // A first incremental run (no discovery completed yet) reads its months whole.
  const wholeMonths = new Set(
    monthsOf(o.window).filter((month) => {
      const at = o.monthReadAt(month);
      return o.lastDiscoveryDay === null || at === null || o.nowMs - at >= o.monthEveryMs;
    }),
  );
  let since: string;
  if (o.lastDiscoveryDay === null) since = o.window.since;
  else if (o.lastDiscoveryDay < today) since = o.lastDiscoveryDay < o.window.since ? o.window.since : o.lastDiscoveryDay;
  else since = msSinceSiteMidnight(o.nowMs) < YESTERDAY_GRACE_MS ? shiftDay(today, -1) : today;
  const reads: SitemapRead[] = [];
  for (const month of monthsOf({ since, until: today, backfill: false })) {
    if (wholeMonths.has(month)) continue;
    const first = `${month}01`;
    const last = `${month}${String(daysInMonth(month)).padStart(2, '0')}`;
    reads.push({ kind: 'range', since: since > first ? since : first, until: today < last ? today : last });
  }
  for (const month of wholeMonths) reads.push({ kind: 'month', month });
  return reads;
}

function msSinceSiteMidnight(nowMs: number): number {
  return (nowMs + SITE_UTC_OFFSET_MS) % 86_400_000;
}

/** Parses a user's date (YYYY-MM-DD or YYYYMMDD) to YYYYMMDD, or null. */
export function parseDay(input: string): string | null {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(input.trim());
  if (!m) return null;
  const day = `${m[1]}${m[2]}${m[3]}`;
  return shiftDay(day, 0) === day ? day : null;
}
