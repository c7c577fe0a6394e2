import type { MaintenanceConfig } from '../settings/config.js';
import { localParts, zonedInstant } from './zoned-time.js';

function minutesOf(clock: string): number {
  const [hours, minutes] = clock.split(':').map(Number);
  return hours * 60 + minutes;
}

/**
 * When no step may start any more: the window's end (in its time zone) minus the cutoff, when the run started
 * inside the window; and/or start + max-duration. A run outside the window is bounded by max-duration only.
 */
export function windowDeadline(window: MaintenanceConfig['window'], now: Date, maxDurationMs?: number): { deadline?: Date; reason: string } {
  const local = localParts(now, window.timezone);
  const nowMinutes = local.hour * 60 + local.minute;
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  const wraps = end < start;
  const inside = wraps ? nowMinutes >= start || nowMinutes < end : nowMinutes >= start && nowMinutes < end;
  const candidates: { at: Date; reason: string }[] = [];
  if (inside) {
    const endsTomorrow = wraps && nowMinutes >= start;
    const base = new Date(Date.UTC(local.year, local.month - 1, local.day + (endsTomorrow ? 1 : 0)));
    const endAt = zonedInstant(base.getUTCFullYear(), base.getUTCMonth() + 1, base.getUTCDate(), Math.floor(end / 60), end % 60, window.timezone);
    candidates.push({
      at: new Date(endAt.getTime() - window.cutoffMs),
      reason: `window ends ${window.end} ${window.timezone}, minus a ${Math.round(window.cutoffMs / 60_000)} min cutoff`,
    });
  }
  if (maxDurationMs !== undefined) {
    candidates.push({ at: new Date(now.getTime() + maxDurationMs), reason: `max-duration ${Math.round(maxDurationMs / 60_000)} min` });
  }
  if (candidates.length === 0) {
    return { reason: `started outside the window (${window.start}–${window.end} ${window.timezone}) with no max-duration: no deadline` };
  }
  candidates.sort((a, b) => a.at.getTime() - b.at.getTime());
  return { deadline: candidates[0].at, reason: candidates[0].reason };
}
