import type { OnlyOn } from '../settings/settings.js';
import { localParts, type LocalParts } from './zoned-time.js';

const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
/** Months that open a quarter: January, April, July, October. */
const QUARTER_START_MONTHS = [1, 4, 7, 10];

const isSunday = (date: LocalParts) => date.weekday === 0;
/** Cron cannot say this (it ORs day-of-month with day-of-week), so the date is judged here. */
const isFirstSunday = (date: LocalParts) => isSunday(date) && date.day <= 7;
const isFirstSundayOfQuarter = (date: LocalParts) => isFirstSunday(date) && QUARTER_START_MONTHS.includes(date.month);

const RULES: Record<OnlyOn, { matches: (date: LocalParts) => boolean; days: string }> = {
  any: { matches: () => true, days: 'every day' },
  sunday: { matches: isSunday, days: 'Sundays' },
  'first-sunday': { matches: isFirstSunday, days: 'the first Sunday of each month' },
  'first-sunday-of-quarter': { matches: isFirstSundayOfQuarter, days: 'the first Sunday of January, April, July and October' },
  'first-sunday-except-quarter': {
    matches: (date) => isFirstSunday(date) && !isFirstSundayOfQuarter(date),
    days: 'the first Sunday of each month that does not open a quarter',
  },
  'not-first-sunday': { matches: (date) => isSunday(date) && !isFirstSunday(date), days: 'Sundays other than the first of the month' },
};

/** The wall-clock date and time of `now` in an IANA time zone; throws on an unknown zone. */
export function localDate(now: Date, timezone: string): LocalParts {
  try {
    return localParts(now, timezone);
  } catch {
    throw new Error(`${JSON.stringify(timezone)} is not an IANA time zone (e.g. Europe/Berlin, UTC)`);
  }
}

function describe(date: LocalParts, timezone: string): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${WEEKDAY_NAMES[date.weekday]} ${date.year}-${pad(date.month)}-${pad(date.day)} ${pad(date.hour)}:${pad(date.minute)} in ${timezone}`;
}

/**
 * The date guard of scheduled windows: whether a window with this `only-on` runs at `now`, judged on the
 * calendar of the window's time zone (a schedule fires in UTC; 02:00 in Sydney is Saturday in UTC).
 */
export function shouldRunOn(onlyOn: OnlyOn, now: Date, timezone: string): { run: boolean; reason: string } {
  const rule = RULES[onlyOn];
  const date = localDate(now, timezone);
  const run = rule.matches(date);
  return {
    run,
    reason: `only-on ${onlyOn} runs on ${rule.days}: ${describe(date, timezone)} ${run ? 'is one' : 'is not, so the window is skipped'}`,
  };
}
