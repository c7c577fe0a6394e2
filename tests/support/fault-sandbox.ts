import { afterAll, beforeAll, expect } from 'vitest';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { hostLock, integrityCounts } from './fault-host.js';

export interface FaultSandbox {
  /** Row counts of the integrity tables when the sandbox started. */
  countsBefore(): Record<string, number>;
  /** Whatever the fault, the host ends as it began: app up, no lock left, integrity tables untouched. */
  expectHostWhole(): Promise<void>;
}

/** One sandbox per fault test file, started before its tests and stopped after; `onStart` receives it. */
export function useFaultSandbox(onStart: (sandbox: Sandbox) => void, before?: () => void): FaultSandbox {
  let sandbox: Sandbox | undefined;
  let counts: Record<string, number> = {};
  beforeAll(async () => {
    before?.();
    sandbox = await startSandbox();
    counts = await integrityCounts(sandbox);
    onStart(sandbox);
  });
  afterAll(async () => {
    await sandbox?.stop();
  });
  return {
    countsBefore: () => counts,
    async expectHostWhole() {
      expect(await sandbox!.isAppUp()).toBe(true);
      expect(hostLock(sandbox!)).toBeUndefined();
      expect(await integrityCounts(sandbox!)).toEqual(counts);
    },
  };
}
