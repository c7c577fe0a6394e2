import { existsSync, readFileSync } from 'node:fs';

/**
 * Custom steps that append their id to a file on the (sandbox) host, so a test can count how often each ran.
 * `root` is read when a step is built, after the sandbox has started.
 */
export function countingSteps(root: () => string, defaults: Record<string, unknown> = {}) {
  const log = () => `${root()}/ran.log`;
  return {
    step: (id: string, extra: Record<string, unknown> = {}, script = 'true') => ({ id, run: `echo ${id} >> ${log()}; ${script}`, ...defaults, ...extra }),
    ranCount: (id: string): number =>
      existsSync(log())
        ? readFileSync(log(), 'utf8')
            .split('\n')
            .filter((line) => line === id).length
        : 0,
  };
}

/** Config adding custom steps to a tier. */
export const tiers = (add: unknown[], tier = 'weekly') => ({ tiers: { [tier]: { add } } });
