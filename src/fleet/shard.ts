import { InputError } from '../errors.js';
import type { Shard } from './fleet-settings.js';

/** `2/4`: the second of four shards (1-based, as a matrix of `shard: [1, 2, 3, 4]` counts). */
export function parseShard(input: string, value: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count)
    throw new InputError(input, value, 'expected i/n with 1 ≤ i ≤ n, e.g. 2/4 for the second of four matrix jobs');
  return { index, count };
}

/**
 * This shard's hosts: a contiguous block of the inventory, sizes balanced within one host. Contiguous keeps
 * neighbours (a primary and its replica listed together) in one job, where the concurrency limit holds;
 * the same inventory always gives the same split.
 */
export function selectShard<T>(items: readonly T[], shard: Shard | undefined): T[] {
  if (!shard) return [...items];
  const start = Math.floor(((shard.index - 1) * items.length) / shard.count);
  const end = Math.floor((shard.index * items.length) / shard.count);
  return items.slice(start, end);
}
