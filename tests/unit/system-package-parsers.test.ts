import { readFileSync } from 'node:fs';
import { describe, expect, it, test } from 'vitest';
import {
  parseApkVersions,
  parseAptSimulation,
  parseDnfUpdates,
  parseNevra,
  parseRebootCheck,
  updateCommand,
  type PendingUpdates,
} from '../../src/steps/system/package-manager.js';

/** `apt-get -s upgrade` captured on this Debian 12 machine (126 upgrades, 86 of them from bookworm-security). */
const captured = readFileSync(new URL('../fixtures/apt-get-s-upgrade.debian12.txt', import.meta.url), 'utf8');

describe('parseAptSimulation on real output', () => {
  const parsed = parseAptSimulation(captured);

  it('finds every Inst line and tells security origins apart', () => {
    expect(parsed.updates).toHaveLength(126);
    expect(parsed.updates.filter((update) => update.security)).toHaveLength(86);
    expect(parsed.keptBack).toEqual([]);
  });

  it('reads versions and origins', () => {
    expect(parsed.updates.find((update) => update.name === 'base-files')).toEqual({
      name: 'base-files',
      from: '12.4+deb12u11',
      to: '12.4+deb12u15',
      origins: ['Debian:12.15/oldstable'],
      security: false,
    });
    expect(parsed.updates.find((update) => update.name === 'libgcrypt20')).toEqual({
      name: 'libgcrypt20',
      from: '1.10.1-3',
      to: '1.10.1-3+deb12u1',
      origins: ['Debian:12.15/oldstable', 'Debian-Security:12/oldstable-security'],
      security: true,
    });
    expect(parsed.updates.find((update) => update.name === 'liblzma5')?.security).toBe(true);
  });
});

test('parseAptSimulation reads the kept-back list (apt prints it before the upgrade list) and Ubuntu security pockets', () => {
  const text = [
    'Reading package lists...',
    'Calculating upgrade...',
    'The following packages have been kept back:',
    '  linux-generic linux-headers-generic',
    '  linux-image-generic',
    'The following packages will be upgraded:',
    '  openssl',
    '1 upgraded, 0 newly installed, 0 to remove and 3 not upgraded.',
    'Inst openssl [3.0.2-0ubuntu1.15] (3.0.2-0ubuntu1.18 Ubuntu:22.04/jammy-updates, Ubuntu:22.04/jammy-security [amd64])',
    'Inst tzdata [2024a-0ubuntu0.22.04] (2024b-0ubuntu0.22.04 Ubuntu:22.04/jammy-updates [all])',
    'Conf openssl (3.0.2-0ubuntu1.18 Ubuntu:22.04/jammy-updates, Ubuntu:22.04/jammy-security [amd64])',
  ].join('\n');
  const parsed = parseAptSimulation(text);
  expect(parsed.keptBack).toEqual(['linux-generic', 'linux-headers-generic', 'linux-image-generic']);
  expect(parsed.updates.map((update) => [update.name, update.security])).toEqual([
    ['openssl', true],
    ['tzdata', false],
  ]);
});

describe('updateCommand', () => {
  const pending: PendingUpdates = { manager: 'apt', ...parseAptSimulation(captured), securityKnown: true };

  it('security only on apt: installs exactly the security packages at the versions seen, never a full upgrade', () => {
    const command = updateCommand(pending, true)!;
    expect(command).toMatch(
      /^apt-get install -y -q --only-upgrade --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold /,
    );
    expect(command.split(' ')[1]).toBe('install'); // not `upgrade`, which takes every pending package
    const targets = command
      .split(' ')
      .slice(10)
      .map((word) => word.replace(/^'|'$/g, ''));
    const security = pending.updates.filter((update) => update.security);
    expect(targets.sort()).toEqual(security.map((update) => `${update.name}=${update.to}`).sort());
    for (const other of pending.updates.filter((update) => !update.security)) {
      expect(
        targets.some((target) => target.startsWith(`${other.name}=`)),
        other.name,
      ).toBe(false);
    }
    expect(targets).toContain('libgcrypt20=1.10.1-3+deb12u1');
    expect(targets.some((target) => target.startsWith('base-files='))).toBe(false);
  });

  test.each([
    ['apt, everything', { ...pending }, false, 'apt-get upgrade -y -q --with-new-pkgs -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold'],
    ['apt, nothing pending', { ...pending, updates: [] }, true, undefined],
    ['apt, only non-security pending', { ...pending, updates: pending.updates.filter((update) => !update.security) }, true, undefined],
    ['dnf, security only', { ...pending, manager: 'dnf' }, true, 'dnf -y -q upgrade --security'],
    ['yum, everything', { ...pending, manager: 'yum' }, false, 'yum -y -q upgrade'],
    [
      'apk cannot select security updates',
      { ...pending, manager: 'apk', securityKnown: false, updates: pending.updates.map((update) => ({ ...update, security: false })) },
      true,
      undefined,
    ],
    ['apk, everything', { ...pending, manager: 'apk', securityKnown: false }, false, 'apk upgrade -q'],
  ] as const)('%s', (_name, input, securityOnly, expected) => {
    expect(updateCommand(input as PendingUpdates, securityOnly)).toBe(expected);
  });
});

test('parseDnfUpdates joins check-update rows with security advisories', () => {
  const checkUpdate = [
    'Last metadata expiration check: 0:12:01 ago on Sun 01 Dec 2024 02:00:00 AM UTC.',
    '',
    'openssl-libs.x86_64                 1:3.0.7-27.el9                 baseos',
    'tzdata.noarch                       2024b-2.el9                    appstream',
    'Obsoleting Packages',
    'grub2-tools.x86_64                  1:2.06-70.el9                  baseos',
  ].join('\n');
  const security = ['RLSA-2024:1234 Important/Sec.  openssl-libs-1:3.0.7-27.el9.x86_64', 'RLBA-2024:9999 bugfix         tzdata-2024b-2.el9.noarch'].join('\n');
  expect(parseDnfUpdates(checkUpdate, security)).toEqual([
    { name: 'openssl-libs', to: '1:3.0.7-27.el9', origins: ['RLSA-2024:1234'], security: true },
    { name: 'tzdata', to: '2024b-2.el9', origins: ['appstream'], security: false },
  ]);
  expect(parseNevra('openssl-libs-1:3.0.7-27.el9.x86_64')).toEqual({ name: 'openssl-libs', version: '1:3.0.7-27.el9', arch: 'x86_64' });
});

test('parseApkVersions', () => {
  const text =
    'Installed:                                Available:\nmusl-1.2.4-r2                           < 1.2.4-r3\nlibcrypto3-3.1.4-r5                     < 3.1.7-r1\n';
  expect(parseApkVersions(text)).toEqual([
    { name: 'musl', from: '1.2.4-r2', to: '1.2.4-r3', origins: [], security: false },
    { name: 'libcrypto3', from: '3.1.4-r5', to: '3.1.7-r1', origins: [], security: false },
  ]);
});

test.each([
  ['', { required: false, reasons: [] }],
  ['required\n', { required: true, reasons: [] }],
  ['required\nlinux-image-6.1.0-28-amd64\nlibc6\nlibc6\n', { required: true, reasons: ['linux-image-6.1.0-28-amd64', 'libc6'] }],
])('parseRebootCheck(%j)', (stdout, expected) => {
  expect(parseRebootCheck(stdout)).toEqual(expected);
});
