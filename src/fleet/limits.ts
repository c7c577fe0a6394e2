import { InputError } from '../errors.js';
import type { Limit } from './fleet-settings.js';

/** `5` or `25%`; `least` is the smallest count accepted (1 for concurrency, 0 for errors). */
export function parseLimit(input: string, value: string, least: 0 | 1): Limit {
  const count = /^\d+$/.exec(value);
  if (count && Number(value) >= least) return { kind: 'count', value: Number(value) };
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(value);
  if (percent && Number(percent[1]) <= 100 && (least === 0 || Number(percent[1]) > 0)) return { kind: 'percent', value: Number(percent[1]) };
  throw new InputError(input, value, `expected a number of hosts (at least ${least}) or a percentage such as 25%${least ? ' (above 0%)' : ''}`);
}

/**
 * The limit as a count of `total` hosts. Percentages round down, as Ansible's serial and max_fail_percentage
 * do (failures > floor(p·n) ⇔ failures > p·n); concurrency is at least one host and at most all of them.
 */
export function resolveLimit(limit: Limit, total: number, least: 0 | 1): number {
  const count = limit.kind === 'count' ? limit.value : Math.floor((limit.value * total) / 100 + 1e-9);
  return Math.max(least, Math.min(count, Math.max(total, least)));
}

export function describeLimit(limit: Limit): string {
  return limit.kind === 'count' ? String(limit.value) : `${limit.value}%`;
}
