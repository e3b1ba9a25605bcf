import { dashed, isCalendarDay } from '../site/calendar.js';

// The site's own form `20251220T1542+0300`, and ISO 8601 `2025-12-20T15:42:00+03:00`.
// The date is read as written: it is the calendar date in the offset written beside it.
const BASIC = /^(\d{4})(\d{2})(\d{2})(?:T\d{2}(?:\d{2}(?:\d{2}(?:[.,]\d+)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const EXTENDED = /^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}(?::\d{2}(?::\d{2}(?:[.,]\d+)?)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** `YYYY-MM-DD` of a published-time string, or null when it is not a date. */
export function calendarDateOf(value: string): string | null {
  const s = value.trim();
  const m = BASIC.exec(s) ?? EXTENDED.exec(s);
  if (!m) return null;
  const day = `${m[1]}${m[2]}${m[3]}`;
  return isCalendarDay(day) ? dashed(day) : null;
}

/**
 * The instant a published or modified time stands for, as an ISO string in UTC, or null when
 * the value has no time of day or is not a date. A value without an offset is read as Istanbul
 * time, the site's own.
 */
export function instantOf(value: string): string | null {
  const s = value.trim();
  const basic = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})?(?:[.,]\d+)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(s);
  const extended = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:[.,]\d+)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(s);
  const m = basic ?? extended;
  if (!m || !isCalendarDay(`${m[1]}${m[2]}${m[3]}`)) return null;
  const zone = (m[7] ?? '+03:00').replace(/^([+-]\d{2})(\d{2})$/, '$1:$2').toUpperCase();
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}${zone}`);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

