import { takeSnapshot } from '../src/report/snapshot.js';
import { startSandbox } from '../tests/sandbox/sandbox.js';
import { stepHarness } from '../tests/support/step-harness.js';
import type { BenchRow } from './run.js';

async function measure(tables: number): Promise<{ ms: number; roundTrips: number }> {
  const sandbox = await startSandbox({ extraTables: tables });
  const harness = stepHarness(sandbox);
  try {
    await takeSnapshot(harness.context(), 'baseline'); // warm the connection and tunnel
    const started = performance.now();
    const snapshot = await takeSnapshot(harness.context(), 'baseline');
    return { ms: performance.now() - started, roundTrips: snapshot.roundTrips };
  } finally {
    await harness.close();
    await sandbox.stop();
  }
}

/** Snapshot cost on 2,000 tables against 200: round trips must not grow with the table count. */
export async function benchSnapshot(): Promise<BenchRow[]> {
  const small = await measure(200);
  const large = await measure(2000);
  return [
    {
      row: 'snapshot, 2,000 tables vs 200: round trips',
      ours: large.roundTrips,
      reference: small.roundTrips,
      unit: 'trips',
      ratio: large.roundTrips / small.roundTrips,
      target: '≤ 4 trips, ratio 1',
    },
    { row: 'snapshot, 2,000 tables vs 200: time', ours: large.ms, reference: small.ms, unit: 'ms', ratio: large.ms / small.ms, target: 'info' },
  ];
}
