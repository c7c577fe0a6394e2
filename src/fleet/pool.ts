export type PoolEntry<R> = { started: true; result: R } | { started: false; reason: 'error budget' | 'cancelled' };

export interface PoolOptions<T, R> {
  /** Items in flight at once (at least 1). */
  concurrency: number;
  /** Errors tolerated: once more than this many items failed, no new item starts. */
  maxErrors: number;
  run: (item: T, index: number) => Promise<R>;
  /** What a run that threw counts as (it should not throw; this keeps the pool going if it does). */
  onThrow: (error: unknown, item: T) => R;
  isError: (result: R) => boolean;
  /** Aborted: no new item starts; items in flight are the run's to stop. */
  cancel?: AbortSignal;
}

export interface PoolRun<R> {
  /** One per item, in item order. */
  entries: PoolEntry<R>[];
  errors: number;
  /** True when the error budget stopped new starts while items were left. */
  budgetSpent: boolean;
  peakInFlight: number;
}

/**
 * Runs items a few at a time, in order, starting the next as soon as one finishes (rolling, not in batches),
 * with an error budget: like SSM's max-concurrency / max-errors and Ansible's serial / max_fail_percentage.
 * Items in flight when the budget is spent finish; the rest are not started.
 */
export async function runPool<T, R>(items: readonly T[], options: PoolOptions<T, R>): Promise<PoolRun<R>> {
  const entries: Array<PoolEntry<R> | undefined> = new Array(items.length);
  const concurrency = Math.max(1, options.concurrency);
  let next = 0;
  let inFlight = 0;
  let errors = 0;
  let peakInFlight = 0;
  await new Promise<void>((resolve) => {
    const launch = () => {
      while (inFlight < concurrency && next < items.length && errors <= options.maxErrors && !options.cancel?.aborted) {
        const index = next++;
        inFlight++;
        peakInFlight = Math.max(peakInFlight, inFlight);
        void Promise.resolve()
          .then(() => options.run(items[index], index))
          .catch((error: unknown) => options.onThrow(error, items[index]))
          .then((result) => {
            entries[index] = { started: true, result };
            if (options.isError(result)) errors++;
            inFlight--;
            launch();
          });
      }
      if (inFlight === 0) resolve();
    };
    launch();
  });
  const reason = options.cancel?.aborted ? 'cancelled' : 'error budget';
  const filled = Array.from(entries, (entry): PoolEntry<R> => entry ?? { started: false, reason });
  return { entries: filled, errors, budgetSpent: reason === 'error budget' && filled.some((entry) => !entry.started), peakInFlight };
}
