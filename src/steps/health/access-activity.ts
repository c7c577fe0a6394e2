const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
const CLF = /\[(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\]/;
const ISO = /(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:?\d{2})?/;

/** Time of an access-log line: common/combined log format `[28/Nov/2026:02:00:00 +0000]` or ISO 8601 (no zone = UTC). */
export function logLineTime(line: string): number | undefined {
  const clf = CLF.exec(line);
  if (clf) {
    const [, day, month, year, hour, minute, second, sign, offsetHours, offsetMinutes] = clf;
    const monthIndex = MONTHS[month!];
    if (monthIndex === undefined) return undefined;
    const offsetMs = (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000 * (sign === '-' ? -1 : 1);
    return Date.UTC(Number(year), monthIndex, Number(day), Number(hour), Number(minute), Number(second)) - offsetMs;
  }
  const iso = ISO.exec(line);
  if (iso) {
    const zone = iso[3] ? (iso[3] === 'Z' ? 'Z' : iso[3].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')) : 'Z';
    const time = Date.parse(`${iso[1]}T${iso[2]}${zone}`);
    return Number.isNaN(time) ? undefined : time;
  }
  return undefined;
}

export interface Activity {
  /** Lines stamped within the window. */
  requests: number;
  unparsedLines: number;
  /** false when the tail read did not reach back to the window's start: requests is a lower bound. */
  complete: boolean;
}

/** Counts lines of a log tail stamped at or after now - windowMs. */
export function countRecentRequests(tail: string, nowMs: number, windowMs: number, lineLimit: number): Activity {
  const lines = tail.split('\n').filter((line) => line.trim());
  const since = nowMs - windowMs;
  let requests = 0;
  let unparsedLines = 0;
  let reachedStart = lines.length < lineLimit;
  for (const line of lines) {
    const time = logLineTime(line);
    if (time === undefined) unparsedLines++;
    else if (time >= since) requests++;
    else reachedStart = true;
  }
  return { requests, unparsedLines, complete: reachedStart };
}
