import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { describeLimit, parseLimit, resolveLimit } from '../../src/fleet/limits.js';
import { parseShard, selectShard } from '../../src/fleet/shard.js';

const hosts = (count: number) => Array.from({ length: count }, (_, index) => `h${index}`);

describe('selectShard', () => {
  it.each([
    [20, 1],
    [20, 3],
    [20, 7],
    [40, 6],
    [1000, 256],
    [5, 8],
    [1, 1],
  ])('splits %i hosts into %i shards: union is all, no overlap, sizes within one, order kept', (count, shards) => {
    const all = hosts(count);
    const parts = Array.from({ length: shards }, (_, index) => selectShard(all, { index: index + 1, count: shards }));
    expect(parts.flat()).toEqual(all);
    const sizes = parts.map((part) => part.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(new Set(parts.flat()).size).toBe(count);
  });

  it('gives the same part on every call (each matrix job computes its own)', () => {
    const all = hosts(37);
    const first = selectShard(all, { index: 3, count: 5 });
    expect(selectShard([...all], { index: 3, count: 5 })).toEqual(first);
    expect(first).toEqual(['h14', 'h15', 'h16', 'h17', 'h18', 'h19', 'h20', 'h21']);
  });

  it('keeps every host without a shard', () => {
    expect(selectShard(hosts(3), undefined)).toEqual(hosts(3));
  });
});

describe('parseShard', () => {
  it('reads i/n, 1-based', () => {
    expect(parseShard('shard', '2/4')).toEqual({ index: 2, count: 4 });
    expect(parseShard('shard', '1/1')).toEqual({ index: 1, count: 1 });
  });

  it.each(['0/4', '5/4', '1/0', '2', '1/2/3', 'a/b', '-1/2', '1 /2'])('rejects %j', (value) => {
    expect(() => parseShard('shard', value)).toThrow(InputError);
    expect(() => parseShard('shard', value)).toThrow(/Input 'shard' .*expected i\/n/);
  });
});

describe('limits', () => {
  it.each([
    ['25%', 20, 1, 5],
    ['10%', 20, 0, 2],
    ['10%', 7, 0, 0],
    ['10%', 7, 1, 1],
    ['33.3%', 10, 1, 3],
    ['100%', 20, 1, 20],
    ['50', 20, 1, 20],
    ['3', 20, 1, 3],
    ['0', 20, 0, 0],
    ['1%', 20, 1, 1],
  ])('%s of %i hosts (at least %i) is %i', (value, total, least, expected) => {
    expect(resolveLimit(parseLimit('max-x', value, least as 0 | 1), total, least as 0 | 1)).toBe(expected);
  });

  it('keeps the percentage exact where floating point would round 29% of 100 down to 28', () => {
    expect(resolveLimit({ kind: 'percent', value: 29 }, 100, 0)).toBe(29);
    expect(resolveLimit({ kind: 'percent', value: 14 }, 50, 0)).toBe(7);
  });

  it.each([
    ['0', 1],
    ['0%', 1],
    ['101%', 0],
    ['-1', 0],
    ['five', 0],
    ['5 %', 0],
    ['1.5', 0],
  ])('rejects %j (least %i)', (value, least) => {
    expect(() => parseLimit('max-errors', value, least as 0 | 1)).toThrow(/Input 'max-errors' has an invalid value/);
  });

  it('describes a limit as written', () => {
    expect(describeLimit({ kind: 'percent', value: 25 })).toBe('25%');
    expect(describeLimit({ kind: 'count', value: 2 })).toBe('2');
  });
});
