/** Calendar days as the site writes them in URLs and sitemaps: `YYYYMMDD` strings, months `YYYYMM`. */

/** Number of days in a month written YYYYMM. */
export function daysInMonth(month: string): number {
  return new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(4, 6)), 0)).getUTCDate();
}

/** True for a real calendar day written YYYYMMDD (from 1990 on). */
export function isCalendarDay(day: string): boolean {
  if (!/^\d{8}$/.test(day)) return false;
  const y = Number(day.slice(0, 4));
  const m = Number(day.slice(4, 6));
  const d = Number(day.slice(6, 8));
  if (y < 1990 || m < 1 || m > 12 || d < 1) return false;
  return d <= daysInMonth(day.slice(0, 6));
}

/** YYYYMMDD moved by `n` days (an impossible day such as 20250230 rolls over). */
export function shiftDay(day: string, n: number): string {
  return ymd(new Date(Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8)) + n)));
}

/** The site's time zone, Istanbul: UTC+3 all year (no DST since 2016). */
export const SITE_UTC_OFFSET_MS = 3 * 3_600_000;

/** Today in the site's time zone, YYYYMMDD. */
export function siteToday(now: number): string {
  return ymd(new Date(now + SITE_UTC_OFFSET_MS));
}

/** `YYYYMMDD` → `YYYY-MM-DD`. */
export function dashed(day: string): string {
  return `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}`;
}

function ymd(d: Date): string {
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}
