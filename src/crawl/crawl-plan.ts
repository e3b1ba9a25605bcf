import { daysInMonth, shiftDay } from '../site/calendar.js';

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

/** Parses a user's date (YYYY-MM-DD or YYYYMMDD) to YYYYMMDD, or null. */
export function parseDay(input: string): string | null {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(input.trim());
  if (!m) return null;
  const day = `${m[1]}${m[2]}${m[3]}`;
  return shiftDay(day, 0) === day ? day : null;
}
