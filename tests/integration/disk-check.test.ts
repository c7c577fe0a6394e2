import { statfsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { diskCheck, diskFindings, parseDf } from '../../src/steps/capacity/disk-check.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { stepHarness } from '../support/step-harness.js';

/** `df -P -T -B1; echo __mw_inodes__; df -P -i` captured on this machine, plus a bind mount and a full /data. */
const captured = `Filesystem              Type         1-blocks        Used   Available Capacity Mounted on
devtmpfs                devtmpfs  12630843392           0 12630843392       0% /dev
tmpfs                   tmpfs     25276157952     2232320 25273925632       1% /dev/shm
/dev/vda                ext4     270553174016 25126031360 83818262528      24% /
model_tools_unavailable tmpfs            4096           0        4096       0% /mnt/sandboxing/model_tools_env/v1/python
tmpfs                   tmpfs     12638076928           0 12638076928       0% /sys/fs/cgroup
/dev/vda                ext4     270553174016 25126031360 83818262528      24% /work dir
/dev/vdb                xfs       10737418240 10200547328   536870912      96% /data
__mw_inodes__
Filesystem                Inodes  IUsed    IFree IUse% Mounted on
devtmpfs                 3083702    112  3083590    1% /dev
tmpfs                    3085468      6  3085462    1% /dev/shm
/dev/vda                16777216 442446 16334770    3% /
/dev/vdb                  5242880 4718592   524288   90% /data
`;

test('parseDf keeps disk filesystems once each (bind mounts listed), with space and inode percents', () => {
  expect(parseDf(captured)).toEqual([
    {
      filesystem: '/dev/vda',
      type: 'ext4',
      mount: '/',
      sizeBytes: 270553174016,
      usedBytes: 25126031360,
      availBytes: 83818262528,
      usedPercent: 23.1,
      inodesUsedPercent: 2.6,
      alsoMountedOn: ['/work dir'],
    },
    {
      filesystem: '/dev/vdb',
      type: 'xfs',
      mount: '/data',
      sizeBytes: 10737418240,
      usedBytes: 10200547328,
      availBytes: 536870912,
      usedPercent: 95,
      inodesUsedPercent: 90,
      alsoMountedOn: [],
    },
  ]);
});

test('diskFindings: warning from warn-percent, critical from fail-percent, for space and inodes', () => {
  const findings = diskFindings(parseDf(captured), 80, 95);
  expect(findings.map((finding) => [finding.severity, finding.title])).toEqual([
    ['critical', '/data is 95% full (space)'],
    ['warning', '/data is 90% full (inodes)'],
  ]);
  expect(diskFindings(parseDf(captured), 96, 99)).toEqual([]);
});

describe('disk.check on this machine', () => {
  let sandbox: Sandbox;
  // Computed apart from df, from statfs(2): used / (used + available to users), like df.
  const root = statfsSync('/');
  const rootPercent = ((root.blocks - root.bfree) / (root.blocks - root.bfree + root.bavail)) * 100;
  const run = async (disk: Record<string, number>) => {
    const harness = stepHarness(sandbox, { config: { disk } });
    try {
      return await harness.run(diskCheck(harness.config));
    } finally {
      await harness.close();
    }
  };

  beforeAll(async () => {
    sandbox = await startSandbox({ app: false, seedBloat: false });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('reports every disk filesystem with metrics per mount, and no tmpfs / proc / overlay', async () => {
    const outcome = await run({ 'warn-percent': 99, 'fail-percent': 100 });
    expect(Math.abs(outcome.metrics!['usedPercent:/']! - rootPercent)).toBeLessThan(0.5);
    expect(outcome.metrics!['availBytes:/']).toBeGreaterThan(0);
    const types = (outcome.details as { filesystems: { type: string }[] }).filesystems.map((fs) => fs.type);
    expect(types.filter((type) => ['tmpfs', 'devtmpfs', 'proc', 'overlay', 'sysfs', 'cgroup2'].includes(type))).toEqual([]);
    expect(outcome.metrics!.filesystems).toBe(types.length);
    expect(outcome.summary).toMatch(/^\d+ filesystem\(s\); the fullest is .* at [\d.]+% \(warn 99%, fail 100%\)$/);
  });

  it('warns past warn-percent and fails past fail-percent', async () => {
    const warned = await run({ 'warn-percent': rootPercent / 2, 'fail-percent': 100 });
    expect(warned.findings).toContainEqual(expect.objectContaining({ severity: 'warning', title: expect.stringMatching(/^\/ is [\d.]+% full \(space\)$/) }));
    expect(['warning', 'failed']).toContain(warned.status);

    const failed = await run({ 'warn-percent': rootPercent / 3, 'fail-percent': rootPercent / 2 });
    expect(failed.status).toBe('failed');
    expect(failed.findings).toContainEqual(expect.objectContaining({ severity: 'critical', title: expect.stringMatching(/^\/ is [\d.]+% full \(space\)$/) }));
  });

  it('fails naming the command when df gives nothing to read', async () => {
    const harness = stepHarness(sandbox);
    try {
      const context = harness.context();
      const noDf = {
        ...context.target,
        exec: (script: string, options?: Parameters<typeof context.target.exec>[1]) => harness.target.exec(`PATH=/nonexistent; ${script}`, options),
      };
      await expect(diskCheck(harness.config).run({ ...context, target: noDf })).rejects.toThrow(
        /^df -P -T -B1 \(no real filesystem in its output\) on .* failed \(exit code 127\): .*df: not found/,
      );
    } finally {
      await harness.close();
    }
  });
});
