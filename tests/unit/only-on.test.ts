import { expect, test } from 'vitest';
import { Tiers, type Tier } from '../../src/constants.js';
import { localDate, shouldRunOn } from '../../src/plan/only-on.js';
import { zonedInstant } from '../../src/plan/zoned-time.js';
import { ONLY_ON_VALUES, type OnlyOn } from '../../src/settings/settings.js';

/** The guards the scheduled workflows pass: exactly one tier on each Sunday. */
const TIER_GUARD: Record<Tier, OnlyOn> = { weekly: 'not-first-sunday', monthly: 'first-sunday-except-quarter', quarterly: 'first-sunday-of-quarter' };
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Pacific/Auckland', 'Asia/Kolkata'];

interface CalendarDay {
  year: number;
  month: number;
  day: number;
  weekday: number;
}

/** Every calendar day of 2026–2028, with the weekday from plain UTC arithmetic (no time zones involved). */
function calendarDays(): CalendarDay[] {
  const days: CalendarDay[] = [];
  for (let at = Date.UTC(2026, 0, 1); at < Date.UTC(2029, 0, 1); at += 86_400_000) {
    const date = new Date(at);
    days.push({ year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), weekday: date.getUTCDay() });
  }
  return days;
}
const DAYS = calendarDays();

/** What the runbook means, written out plainly: the tier due on a day, if any. */
function expectedTier(date: CalendarDay): Tier | undefined {
  if (date.weekday !== 0) return undefined;
  if (date.day > 7) return 'weekly';
  return [1, 4, 7, 10].includes(date.month) ? 'quarterly' : 'monthly';
}

function tiersRunning(instant: Date, zone: string): Tier[] {
  return Tiers.filter((tier) => shouldRunOn(TIER_GUARD[tier], instant, zone).run);
}

const iso = (date: { year: number; month: number; day: number }) => `${date.year}-${String(date.month).padStart(2, '0')}-${String(date.day).padStart(2, '0')}`;

test('2026–2028 has the expected number of days and Sundays', () => {
  expect(DAYS).toHaveLength(365 + 365 + 366);
  expect(DAYS.filter((date) => date.weekday === 0)).toHaveLength(157);
  expect(DAYS.filter((date) => expectedTier(date) === 'quarterly')).toHaveLength(12);
  expect(DAYS.filter((date) => expectedTier(date) === 'monthly')).toHaveLength(24);
});

test.each(ZONES)('in %s at 02:00 local on every day of 2026–2028: every only-on value, and exactly one tier on each Sunday', (zone) => {
  const wrong: string[] = [];
  for (const date of DAYS) {
    const instant = zonedInstant(date.year, date.month, date.day, 2, 0, zone);
    const local = localDate(instant, zone);
    if (iso(local) !== iso(date) || local.weekday !== date.weekday) wrong.push(`${iso(date)}: 02:00 local converted to ${iso(local)}`);
    const tier = expectedTier(date);
    const expected: Record<OnlyOn, boolean> = {
      any: true,
      sunday: date.weekday === 0,
      'first-sunday': tier === 'monthly' || tier === 'quarterly',
      'first-sunday-of-quarter': tier === 'quarterly',
      'first-sunday-except-quarter': tier === 'monthly',
      'not-first-sunday': tier === 'weekly',
    };
    const runs = Object.fromEntries(ONLY_ON_VALUES.map((onlyOn) => [onlyOn, shouldRunOn(onlyOn, instant, zone).run])) as Record<OnlyOn, boolean>;
    for (const onlyOn of ONLY_ON_VALUES) {
      if (runs[onlyOn] !== expected[onlyOn]) wrong.push(`${iso(date)} ${onlyOn}: expected ${expected[onlyOn]}`);
    }
    const running = Tiers.filter((each) => runs[TIER_GUARD[each]]);
    if (running.join() !== (tier ?? '')) wrong.push(`${iso(date)}: expected ${tier ?? 'no tier'}, got ${running.join(', ') || 'none'}`);
  }
  expect(wrong).toEqual([]);
});

/**
 * A schedule is a UTC instant. These fire at 02:00 standard time in each zone (an hour later in summer time),
 * sometimes on the previous UTC day: the guard must judge the local date, not the UTC one.
 */
const UTC_SCHEDULES: { zone: string; hour: number; minute: number; dayShift: number; localHours: number[] }[] = [
  { zone: 'UTC', hour: 2, minute: 0, dayShift: 0, localHours: [2] },
  { zone: 'Europe/Berlin', hour: 1, minute: 0, dayShift: 0, localHours: [2, 3] },
  { zone: 'America/New_York', hour: 7, minute: 0, dayShift: 0, localHours: [2, 3] },
  { zone: 'Australia/Sydney', hour: 16, minute: 0, dayShift: -1, localHours: [2, 3] },
  { zone: 'Pacific/Auckland', hour: 14, minute: 0, dayShift: -1, localHours: [2, 3] },
  { zone: 'Asia/Kolkata', hour: 20, minute: 30, dayShift: -1, localHours: [2] },
];

test.each(UTC_SCHEDULES)('a fixed UTC schedule ($hour:$minute UTC) is judged on the local date in $zone', ({ zone, hour, minute, dayShift, localHours }) => {
  const wrong: string[] = [];
  const hoursSeen = new Set<number>();
  for (const date of DAYS) {
    const instant = new Date(Date.UTC(date.year, date.month - 1, date.day + dayShift, hour, minute));
    const local = localDate(instant, zone);
    hoursSeen.add(local.hour);
    if (iso(local) !== iso(date)) wrong.push(`${instant.toISOString()} is ${iso(local)} in ${zone}, expected ${iso(date)}`);
    const expected = expectedTier(date);
    const running = tiersRunning(instant, zone);
    if (running.join() !== (expected ?? '')) wrong.push(`${iso(date)}: expected ${expected ?? 'no tier'}, got ${running.join(', ') || 'none'}`);
  }
  expect(wrong).toEqual([]);
  expect([...hoursSeen].sort()).toEqual(localHours);
});

// Days on which the clocks change, several of them first Sundays of a quarter. `at` is the schedule's UTC instant.
test.each([
  { zone: 'Europe/Berlin', at: '2026-03-29T01:00:00Z', local: 'Sunday 2026-03-29 03:00', tier: 'weekly', why: '02:00 does not exist: spring forward' },
  { zone: 'Europe/Berlin', at: '2026-10-25T01:00:00Z', local: 'Sunday 2026-10-25 02:00', tier: 'weekly', why: 'fall back' },
  { zone: 'America/New_York', at: '2026-03-08T07:00:00Z', local: 'Sunday 2026-03-08 03:00', tier: 'weekly', why: 'spring forward' },
  { zone: 'America/New_York', at: '2026-11-01T07:00:00Z', local: 'Sunday 2026-11-01 02:00', tier: 'monthly', why: 'fall back on a first Sunday' },
  { zone: 'Australia/Sydney', at: '2026-04-04T16:00:00Z', local: 'Sunday 2026-04-05 02:00', tier: 'quarterly', why: 'fall back on a quarter Sunday' },
  { zone: 'Australia/Sydney', at: '2026-10-03T16:00:00Z', local: 'Sunday 2026-10-04 03:00', tier: 'quarterly', why: 'spring forward on a quarter Sunday' },
  { zone: 'Pacific/Auckland', at: '2026-04-04T14:00:00Z', local: 'Sunday 2026-04-05 02:00', tier: 'quarterly', why: 'fall back on a quarter Sunday' },
  { zone: 'Pacific/Auckland', at: '2026-09-26T14:00:00Z', local: 'Sunday 2026-09-27 03:00', tier: 'weekly', why: 'spring forward' },
  { zone: 'Asia/Kolkata', at: '2026-02-28T20:30:00Z', local: 'Sunday 2026-03-01 02:00', tier: 'monthly', why: 'a Saturday in UTC' },
  { zone: 'America/New_York', at: '2027-11-07T07:00:00Z', local: 'Sunday 2027-11-07 02:00', tier: 'monthly', why: 'fall back on day 7' },
])('$zone $at ($why) runs the $tier window only', ({ zone, at, local, tier }) => {
  const instant = new Date(at);
  expect(tiersRunning(instant, zone)).toEqual([tier]);
  expect(shouldRunOn(TIER_GUARD[tier as Tier], instant, zone).reason).toContain(`${local} in ${zone} is one`);
});

test('the reason names the rule, the local date and the zone, and says the window is skipped', () => {
  const saturday = new Date('2026-03-07T02:00:00Z');
  expect(shouldRunOn('first-sunday', saturday, 'UTC')).toEqual({
    run: false,
    reason: 'only-on first-sunday runs on the first Sunday of each month: Saturday 2026-03-07 02:00 in UTC is not, so the window is skipped',
  });
  // The second Sunday of April: a Sunday, but the quarter's first Sunday was April 5.
  expect(shouldRunOn('first-sunday-of-quarter', new Date('2026-04-12T02:00:00Z'), 'UTC').reason).toContain('Sunday 2026-04-12 02:00 in UTC is not');
  expect(shouldRunOn('any', saturday, 'Asia/Kolkata')).toEqual({
    run: true,
    reason: 'only-on any runs on every day: Saturday 2026-03-07 07:30 in Asia/Kolkata is one',
  });
});

test('a time zone that does not exist is named in the error', () => {
  expect(() => shouldRunOn('sunday', new Date(), 'Europe/Atlantis')).toThrow('"Europe/Atlantis" is not an IANA time zone');
  expect(() => localDate(new Date(), 'UTC+2')).toThrow('is not an IANA time zone');
});
