import { describe, expect, it } from 'vitest';
import { newWorkRanges } from '../src/engine/lanes/crawl-plan.js';
import { indexRetryMs, nextStepAt, sweepRequestsPerHour, sweepStepMs } from '../src/engine/lanes/sweep-lane.js';
import { LANE_RANK, LANES } from '../src/engine/lane.js';

describe("the lanes' plans", () => {
  it('the lanes rank manual > watch > schedule > revisit > sweep > backfill, the command line as its serve counterparts', () => {
    const order = ['manual', 'watch', 'schedule', 'revisit', 'sweep', 'backfill'] as const;
    for (let i = 1; i < order.length; i++) expect(LANE_RANK[order[i - 1]!]).toBeGreaterThan(LANE_RANK[order[i]!]);
    expect([LANE_RANK.fetch, LANE_RANK.crawl]).toEqual([LANE_RANK.manual, LANE_RANK.schedule]);
    expect(LANES).toEqual(expect.arrayContaining(['revisit', 'sweep']));
  });

  it("a scheduled crawl leaves a backfill's days to it, newest first; a backfill takes only its own", () => {
    const incremental = { since: '20261201', until: '20261207', backfill: false };
    expect(newWorkRanges(incremental)).toEqual([{}]);
    expect(newWorkRanges(incremental, { since: '20260801', until: '20261009' })).toEqual([{ since: '20261010' }, { until: '20260731' }]);
    expect(newWorkRanges({ since: '20260801', until: '20261009', backfill: true }, { since: '20260801', until: '20261009' })).toEqual([{ since: '20260801', until: '20261009' }]);
  });

  it("the schedule keeps its own window from a backfill reaching into it: an open-ended backfill (until = today) leaves it today's new articles", () => {
    const incremental = { since: '20261206', until: '20261207', backfill: false };
    // Open-ended, asked today: the backfill keeps the days before the window, the schedule takes the window.
    expect(newWorkRanges(incremental, { since: '20260101', until: '20261207' })).toEqual([{ since: '20261206' }, { until: '20251231' }]);
    // Reaching into the window: cut at the day before it.
    expect(newWorkRanges(incremental, { since: '20260101', until: '20261206' })).toEqual([{ since: '20261206' }, { until: '20251231' }]);
    // Wholly inside the window: nothing is left.
    expect(newWorkRanges(incremental, { since: '20261206', until: '20261207' })).toEqual([{}]);
  });

  it('the sweep spreads a cycle evenly over the months: at the default 7 days and 150 months, a month about every 67 minutes', () => {
    const week = 7 * 86_400_000;
    expect(sweepStepMs(week, 150) / 60_000).toBeCloseTo(67.2, 1);
    // And the index once a day.
    expect(sweepRequestsPerHour(week, 150)).toBeCloseTo(60 / 67.2 + 1 / 24, 3);
    // Knowing no month yet (the index failed), it tries again within 15 minutes.
    expect(sweepStepMs(week, 0)).toBe(15 * 60_000);
    expect(sweepStepMs(12_000, 0)).toBe(12_000);
  });

  it('a sweep step comes one step after the last was planned; a month a cycle old is read at once, so steps a starved queue lost are made up', () => {
    // On time: one step after the last planned start.
    expect(nextStepAt(1000, 500, 1200, 9000)).toBe(1500);
    // A slow step: at once, but no debt banked beyond that.
    expect(nextStepAt(1000, 500, 2600, 9000)).toBe(2600);
    // The month it would read is overdue: at once, however recent the last step.
    expect(nextStepAt(1000, 500, 1200, 1100)).toBe(1200);
    expect(nextStepAt(1000, 500, 1200, null)).toBe(1500);
  });

  it('a failing sitemap index is asked again after 15 minutes, doubling, at most once a day', () => {
    const week = 7 * 86_400_000;
    expect([1, 2, 3].map((n) => indexRetryMs(week, n) / 60_000)).toEqual([15, 30, 60]);
    expect(indexRetryMs(week, 20)).toBe(86_400_000);
    // A sweep of seconds (the tests') backs off from its own step.
    expect(indexRetryMs(12_000, 2)).toBe(24_000);
  });
});
