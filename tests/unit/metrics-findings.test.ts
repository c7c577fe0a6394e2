import { describe, expect, test } from 'vitest';
import { metricsFindings, parseDockerStats, type MetricsSample } from '../../src/steps/capacity/metrics-review.js';

const healthy: MetricsSample = {
  containers: [{ name: 'api', cpuPercent: 3, memoryBytes: 1e6, memoryLimitBytes: 1e9, memoryPercent: 0.1 }],
  connections: { byState: { active: 1, idle: 4 }, total: 5, max: 100, idleInTransactionOver5m: 0 },
  cacheHitRatio: 0.999,
  slowQueries: [{ query: 'select 1', calls: 10, meanMs: 0.1, totalMs: 1 }],
};

describe('metricsFindings', () => {
  test('nothing to say about a healthy sample', () => {
    expect(metricsFindings(healthy)).toEqual([]);
  });

  test.each([
    ['cache hit ratio under 0.99', { cacheHitRatio: 0.95 }, 'warning', 'cache hit ratio 0.9500 is under 0.99'],
    ['connections at 80% of max_connections', { connections: { ...healthy.connections, total: 80 } }, 'warning', '80 of max_connections 100 in use'],
    [
      'long idle-in-transaction sessions',
      { connections: { ...healthy.connections, idleInTransactionOver5m: 2 } },
      'warning',
      '2 session(s) idle in a transaction for over 5 minutes',
    ],
    [
      'a container near its memory limit',
      { containers: [{ name: 'db', cpuPercent: 1, memoryPercent: 93.5 }] },
      'warning',
      'container db uses 93.5% of its memory limit',
    ],
    ['a container burning CPU', { containers: [{ name: 'worker', cpuPercent: 180, memoryPercent: 1 }] }, 'warning', 'container worker uses 180% CPU'],
    [
      'slow statements',
      { slowQueries: [{ query: 'select pg_sleep(2)', calls: 3, meanMs: 2000, totalMs: 6000 }] },
      'info',
      '1 statement(s) take over 1000 ms on average',
    ],
  ] as const)('%s', (_name, change, severity, title) => {
    expect(metricsFindings({ ...healthy, ...change } as MetricsSample)).toEqual([expect.objectContaining({ severity, title })]);
  });

  test('no ratio (no reads yet) and no containers are not findings', () => {
    expect(metricsFindings({ ...healthy, cacheHitRatio: undefined, containers: undefined })).toEqual([]);
  });
});

test('parseDockerStats on the docker CLI output captured against Podman here', () => {
  const text = [
    '{"BlockIO":"0B / 0B","CPUPerc":"0.09%","Container":"552bbbbc4609","ID":"552bbbbc4609","MemPerc":"0.00%","MemUsage":"576KiB / 23.54GiB","Name":"w67a86343_worker_1","NetIO":"0B / 0B","PIDs":"2"}',
    '{"BlockIO":"0B / 0B","CPUPerc":"12.50%","Container":"bc56acc79d0f","ID":"bc56acc79d0f","MemPerc":"45.10%","MemUsage":"1.5GiB / 3.326GiB","Name":"api","NetIO":"0B / 0B","PIDs":"2"}',
  ].join('\n');
  expect(parseDockerStats(text)).toEqual([
    { name: 'w67a86343_worker_1', cpuPercent: 0.09, memoryBytes: 576 * 1024, memoryLimitBytes: Math.round(23.54 * 1024 ** 3), memoryPercent: 0 },
    { name: 'api', cpuPercent: 12.5, memoryBytes: Math.round(1.5 * 1024 ** 3), memoryLimitBytes: Math.round(3.326 * 1024 ** 3), memoryPercent: 45.1 },
  ]);
});
