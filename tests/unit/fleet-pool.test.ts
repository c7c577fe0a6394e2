import { describe, expect, it } from 'vitest';
import { runPool } from '../../src/fleet/pool.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Items that take `ms` each and fail when listed; records how many ran at once. */
function tracker(failing: Set<number> = new Set(), ms = (index: number) => 5 + (index % 3) * 4) {
  let inFlight = 0;
  const state = { peak: 0, started: [] as number[] };
  const run = async (_: number, index: number) => {
    state.started.push(index);
    inFlight++;
    state.peak = Math.max(state.peak, inFlight);
    await sleep(ms(index));
    inFlight--;
    return { index, failed: failing.has(index) };
  };
  return { state, run };
}

const items = (count: number) => Array.from({ length: count }, (_, index) => index);
const base = { onThrow: () => ({ index: -1, failed: true }), isError: (result: { failed: boolean }) => result.failed };

describe('runPool', () => {
  it.each([1, 3, 5, 20])('keeps at most %i in flight, rolling (not in batches), and runs everything in order', async (concurrency) => {
    const { state, run } = tracker();
    const result = await runPool(items(20), { ...base, concurrency, maxErrors: 0, run });
    expect(state.peak).toBe(concurrency);
    expect(result.peakInFlight).toBe(concurrency);
    expect(state.started).toEqual(items(20));
    expect(result.entries.every((entry) => entry.started)).toBe(true);
    expect(result.budgetSpent).toBe(false);
  });

  it('starts the next item as soon as any one finishes', async () => {
    // Item 0 holds its slot until items 1..5 have all finished, which only a rolling pool lets happen
    // (a pool working in batches would wait for item 0 first; the 2 s fallback then lets this test fail, not hang).
    const { run } = tracker(new Set(), () => 1);
    const order: number[] = [];
    let releaseFirst = () => undefined as void;
    const firstHeld = new Promise<void>((resolve) => {
      releaseFirst = resolve;
      setTimeout(resolve, 2000);
    });
    const result = await runPool(items(6), {
      ...base,
      concurrency: 2,
      maxErrors: 0,
      run: async (item, index) => {
        if (index === 0) await firstHeld;
        const result = await run(item, index);
        order.push(index);
        if (order.length === 5 && !order.includes(0)) releaseFirst();
        return result;
      },
    });
    expect(order).toEqual([1, 2, 3, 4, 5, 0]);
    expect(result.peakInFlight).toBe(2);
  });

  it('stops starting new items once more than maxErrors failed; items in flight finish', async () => {
    const { state, run } = tracker(new Set([0, 1, 2, 3]), () => 10);
    const result = await runPool(items(20), { ...base, concurrency: 2, maxErrors: 2, run });
    // 0 and 1 fail → 2 errors (within budget) → 2, 3 start; 2 fails → budget spent; 3 was in flight and finishes.
    expect(state.started).toEqual([0, 1, 2, 3]);
    expect(result.errors).toBe(4);
    expect(result.budgetSpent).toBe(true);
    expect(result.entries.slice(4).every((entry) => !entry.started && entry.reason === 'error budget')).toBe(true);
  });

  it('with maxErrors 0 stops after the first failure', async () => {
    const { state, run } = tracker(new Set([2]), () => 5);
    const result = await runPool(items(10), { ...base, concurrency: 1, maxErrors: 0, run });
    expect(state.started).toEqual([0, 1, 2]);
    expect(result.entries.filter((entry) => entry.started)).toHaveLength(3);
  });

  it('does not spend the budget when the failures come last', async () => {
    const { run } = tracker(new Set([8, 9]), () => 2);
    const result = await runPool(items(10), { ...base, concurrency: 3, maxErrors: 0, run });
    expect(result.entries.every((entry) => entry.started)).toBe(true);
    expect(result.budgetSpent).toBe(false);
    expect(result.errors).toBe(2);
  });

  it('counts a run that throws as an error, through onThrow', async () => {
    const result = await runPool(items(3), {
      concurrency: 1,
      maxErrors: 0,
      run: async (item) => {
        if (item === 1) throw new Error('boom');
        return `ok ${item}`;
      },
      onThrow: (error) => `threw ${(error as Error).message}`,
      isError: (value) => value.startsWith('threw'),
    });
    expect(result.entries).toEqual([
      { started: true, result: 'ok 0' },
      { started: true, result: 'threw boom' },
      { started: false, reason: 'error budget' },
    ]);
  });

  it('starts nothing new after cancel and reports the rest as cancelled', async () => {
    const controller = new AbortController();
    const { state, run } = tracker(new Set(), () => 10);
    const pending = runPool(items(10), { ...base, concurrency: 2, maxErrors: 5, run, cancel: controller.signal });
    await sleep(15);
    controller.abort();
    const result = await pending;
    expect(state.started.length).toBeLessThan(10);
    expect(result.entries.filter((entry) => !entry.started).every((entry) => !entry.started && entry.reason === 'cancelled')).toBe(true);
    expect(result.budgetSpent).toBe(false);
  });

  it('finishes at once with no items', async () => {
    const result = await runPool([], { ...base, concurrency: 3, maxErrors: 0, run: async () => ({ index: 0, failed: false }) });
    expect(result).toEqual({ entries: [], errors: 0, budgetSpent: false, peakInFlight: 0 });
  });
});
