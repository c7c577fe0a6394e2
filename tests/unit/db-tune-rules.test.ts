import { describe, expect, it, test } from 'vitest';
import { parsePostgresMemory } from '../../src/steps/database/postgres-memory.js';
import { differs, isFarOff, recommend, settingBytes, sizeValue } from '../../src/steps/database/tune-rules.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const HOST = 64 * GiB;

describe('parsePostgresMemory', () => {
  const lines = (...rows: string[][]) => rows.map((row) => row.join('\t')).join('\n');

  it('takes a cgroup v2 memory.max below the host memory', () => {
    const output = lines(
      ['memtotal', String(HOST)],
      ['pid', '812', 'pgrep'],
      ['limit', 'v2', '/system.slice/docker-abc.scope', String(4 * GiB)],
      ['limit', 'v2', '/system.slice', 'max'],
    );
    expect(parsePostgresMemory(output, undefined)).toEqual({
      bytes: 4 * GiB,
      source: 'cgroup-v2',
      cgroup: '/system.slice/docker-abc.scope',
      hostMemTotalBytes: HOST,
      postmasterPid: 812,
      pidFrom: 'pgrep',
    });
  });

  it('takes the lowest limit on the way up (a parent can limit more than the leaf)', () => {
    const output = lines(
      ['memtotal', String(HOST)],
      ['pid', '9', 'postmaster.pid'],
      ['limit', 'v1', '/docker/x', '9223372036854771712'],
      ['limit', 'v1', '/docker', String(2 * GiB)],
    );
    expect(parsePostgresMemory(output, undefined)).toMatchObject({ bytes: 2 * GiB, source: 'cgroup-v1', cgroup: '/docker' });
  });

  test.each([
    ['no postmaster was found', lines(['memtotal', String(HOST)]), /no PostgreSQL server process found on this host/],
    ['the cgroup sets no limit', lines(['memtotal', String(HOST)], ['pid', '7', 'pgrep'], ['limit', 'v2', '/', 'max']), /sets no memory limit/],
    [
      'the limit is above the host memory',
      lines(['memtotal', String(HOST)], ['pid', '7', 'pgrep'], ['limit', 'v1', '/big', String(2 * HOST)]),
      /above the host's memory/,
    ],
  ])("falls back to the host's MemTotal when %s", (_case, output, note) => {
    const memory = parsePostgresMemory(output, undefined);
    expect(memory).toMatchObject({ bytes: HOST, source: 'host' });
    expect(memory.note).toMatch(note);
  });

  it('lets a configured memory-limit win over a detected limit', () => {
    const output = lines(['memtotal', String(HOST)], ['pid', '9', 'pgrep'], ['limit', 'v2', '/a', String(GiB)]);
    expect(parsePostgresMemory(output, 3 * GiB)).toMatchObject({ bytes: 3 * GiB, source: 'config', postmasterPid: 9 });
  });

  it('fails when MemTotal is unreadable and nothing is configured', () => {
    expect(() => parsePostgresMemory('', undefined)).toThrow(/MemTotal/);
  });
});

describe('recommend', () => {
  const byName = (memoryBytes: number, storage: 'ssd' | 'hdd' = 'ssd', maxConnections = 100) =>
    Object.fromEntries(recommend({ memoryBytes, maxConnections, parallelWorkersPerGather: 2, storage }).map((entry) => [entry.name, entry.value]));

  it('sizes a 4 GiB container by the pgtune web rules', () => {
    expect(byName(4 * GiB)).toEqual({
      shared_buffers: '1GB',
      effective_cache_size: '3GB',
      maintenance_work_mem: '256MB',
      // (4096 - 1024) MiB / (3 × 100) / 2 = 5.12 MiB
      work_mem: '5MB',
      random_page_cost: '1.1',
      effective_io_concurrency: '200',
      checkpoint_completion_target: '0.9',
      default_statistics_target: '100',
      min_wal_size: '1GB',
      max_wal_size: '4GB',
    });
  });

  it('caps maintenance_work_mem at 2 GB and keeps work_mem at least 64 kB', () => {
    expect(byName(64 * GiB).maintenance_work_mem).toBe('2GB');
    expect(byName(256 * MiB, 'ssd', 5000).work_mem).toBe('64kB');
  });

  it('uses the spinning-disk costs for hdd', () => {
    expect(byName(GiB, 'hdd')).toMatchObject({ random_page_cost: '4', effective_io_concurrency: '2' });
  });
});

describe('settings arithmetic', () => {
  test.each([
    ['4096', '8kB', 32 * MiB],
    ['4096', 'kB', 4 * MiB],
    ['1024', 'MB', GiB],
    ['1.1', null, undefined],
  ])('pg_settings %s × %s is %s bytes', (setting, unit, bytes) => {
    expect(settingBytes(setting, unit)).toBe(bytes);
  });

  it('writes sizes in whole MB, or kB below one MB', () => {
    expect(sizeValue(1.7 * MiB)).toEqual({ value: '1MB', bytes: MiB });
    expect(sizeValue(700 * 1024)).toEqual({ value: '700kB', bytes: 700 * 1024 });
    expect(sizeValue(2.5 * GiB)).toEqual({ value: '2560MB', bytes: 2.5 * GiB });
    expect(sizeValue(3 * GiB)).toEqual({ value: '3GB', bytes: 3 * GiB });
  });

  it('calls a memory setting far off outside half to twice its recommendation, and only memory settings', () => {
    const [shared] = recommend({ memoryBytes: GiB, maxConnections: 100, parallelWorkersPerGather: 2, storage: 'ssd' });
    expect(isFarOff(shared!, 128 * MiB)).toBe(false);
    expect(isFarOff(shared!, 127 * MiB)).toBe(true);
    expect(isFarOff(shared!, 513 * MiB)).toBe(true);
    const maxWal = recommend({ memoryBytes: GiB, maxConnections: 100, parallelWorkersPerGather: 2, storage: 'ssd' }).find(
      (entry) => entry.name === 'max_wal_size',
    )!;
    expect(isFarOff(maxWal, 80 * MiB)).toBe(false);
    expect(differs(maxWal, 80 * MiB)).toBe(true);
    expect(differs(maxWal, 4 * GiB)).toBe(false);
  });
});
