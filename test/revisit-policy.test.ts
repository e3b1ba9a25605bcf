import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { instantOf } from '../src/extract/published-date.js';
import { parseDuration, parseTiers } from '../src/clock/durations.js';
import { checksPerArticle, nextCheck, revisitPolicy } from '../src/engine/revisit-policy.js';

const H = 3_600_000;

describe('revisit schedule', () => {
  it('parses durations and tiers, and refuses what is not one', () => {
    expect(parseDuration('15m')).toBe(15 * 60_000);
    expect(parseDuration('1h30m')).toBe(1.5 * H);
    expect(parseDuration('3d')).toBe(72 * H);
    expect(() => parseDuration('15 minutes')).toThrow(/not a duration/);
    expect(parseTiers('3h:15m, 1d:1h, *:30d')).toEqual([
      { maxAgeMs: 3 * H, everyMs: 15 * 60_000 },
      { maxAgeMs: 24 * H, everyMs: H },
      { maxAgeMs: Number.POSITIVE_INFINITY, everyMs: 30 * 24 * H },
    ]);
    expect(parseTiers('')).toEqual([]);
    expect(() => parseTiers('1d:1h, 3h:15m')).toThrow(/ages must grow/);
    expect(() => parseTiers('3h')).toThrow(/AGE:EVERY/);
    expect(() => loadConfig({ env: { NEWSNAP_REVISIT_SCHEDULE: '3h:soon' } })).toThrow(/configuration key revisit.schedule is not valid: "soon" is not a duration/);
  });

  it('checks by the time since the last real change, and stops past the last tier', () => {
    const { schedule } = revisitPolicy(loadConfig({ env: {} }).config.revisit, 5);
    const changed = Date.parse('2025-12-15T10:00:00Z');
    const next = (ageHours: number) => nextCheck(schedule, changed, changed + ageHours * H);
    expect(next(0)).toBe('2025-12-15T10:15:00.000Z');
    expect(next(2.9)).toBe(new Date(changed + 2.9 * H + 15 * 60_000).toISOString());
    expect(next(3)).toBe(new Date(changed + 4 * H).toISOString());
    expect(next(24)).toBe(new Date(changed + 30 * H).toISOString());
    expect(next(24 * 8)).toBe(new Date(changed + 24 * 8 * H + 72 * H).toISOString());
    expect(next(24 * 30)).toBeNull();
    // The defaults: ~65 checks over an article's first 30 days.
    expect(Math.round(checksPerArticle(schedule))).toBe(65);
  });

  it('reads published and modified times as the site and ISO 8601 write them', () => {
    expect(instantOf('20251220T1542+0300')).toBe('2025-12-20T12:42:00.000Z');
    expect(instantOf('20251201T0030+0300')).toBe('2025-11-30T21:30:00.000Z');
    expect(instantOf('2025-12-20T15:42:00+03:00')).toBe('2025-12-20T12:42:00.000Z');
    expect(instantOf('2025-12-20T15:42:00Z')).toBe('2025-12-20T15:42:00.000Z');
    expect(instantOf('20251220T1542')).toBe('2025-12-20T12:42:00.000Z');
    expect(instantOf('2025-12-20')).toBeNull();
    expect(instantOf('20251340T1542+0300')).toBeNull();
  });
});
