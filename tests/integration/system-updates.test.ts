import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../../src/remote/target.js';
import type { StepContext } from '../../src/steps/step.js';
import { systemPackageUpdates } from '../../src/steps/system/package-updates.js';
import { systemSecurityCheck } from '../../src/steps/system/security-check.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { stepHarness, type StepHarness } from '../support/step-harness.js';

const isApt = existsSync('/usr/bin/apt-get');

/** `apt-get -s upgrade` on this machine, run directly (not through the product). */
function simulateHere(): string {
  return execFileSync('apt-get', ['-s', 'upgrade'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
}

/** The security updates in a simulation, picked out independently of the product's parser. */
function securityPackages(simulated: string): string[] {
  return simulated
    .split('\n')
    .filter((line) => line.startsWith('Inst ') && /security/i.test(line))
    .map((line) => {
      const [, name, , version] = /^Inst (\S+) (\[[^\]]*\] )?\((\S+)/.exec(line)!;
      return `${name}=${version}`;
    });
}

/** The same SSH target, with `dir` first on PATH for every command. */
function withPathFirst(target: Target, dir: string): Target {
  return {
    description: target.description,
    exec: (script, options) => target.exec(`PATH=${dir}:$PATH; export PATH; ${script}`, options),
    tunnel: (host, port) => target.tunnel(host, port),
    readFile: (path) => target.readFile(path),
    writeFileAtomic: (path, content, mode) => target.writeFileAtomic(path, content, mode),
    close: async () => undefined,
  };
}

describe.skipIf(!isApt)('system.security-check and system.package-updates on this Debian machine', () => {
  let sandbox: Sandbox;
  let harness: StepHarness;
  let stubDir: string;
  let security: string[];
  const calls = () =>
    existsSync(join(stubDir, 'calls'))
      ? readFileSync(join(stubDir, 'calls'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => line.split('\t'))
      : [];
  /**
   * The one fake of these tests: the CI machine must not be upgraded, so package-updates runs with an
   * `apt-get` first on PATH that records its arguments (and DEBIAN_FRONTEND) and changes nothing. Asked for a
   * simulation (`-s`), it prints what the real `apt-get -s upgrade` printed on this machine in beforeAll
   * (apt's solver takes seconds of CPU per call), so the pending list is this machine's own.
   */
  const stubbed = (tier: StepContext['tier'], config: Record<string, unknown> = {}) => {
    const own = stepHarness(sandbox, { config, settings: { tier } });
    const context = (): StepContext => ({ ...own.context(), tier, target: withPathFirst(own.target, stubDir) });
    return { own, context };
  };

  beforeAll(async () => {
    sandbox = await startSandbox({ app: false, seedBloat: false });
    harness = stepHarness(sandbox);
    stubDir = mkdtempSync(join(sandbox.root, 'stub-bin-'));
    writeFileSync(
      join(stubDir, 'apt-get'),
      `#!/bin/sh
{ printf '%s' "DEBIAN_FRONTEND=\${DEBIAN_FRONTEND:-}"; for arg in "$@"; do printf '\\t%s' "$arg"; done; printf '\\n'; } >> ${stubDir}/calls
case " $* " in *" -s "*) cat ${stubDir}/simulation; exit 0;; esac
[ -f ${stubDir}/exit-code ] && { echo "E: stub failure" >&2; exit "$(cat ${stubDir}/exit-code)"; }
exit 0
`,
    );
    chmodSync(join(stubDir, 'apt-get'), 0o755);
    // Fresh lists first, so the step's own refresh finds nothing new and both see the same pending set.
    execFileSync('apt-get', ['update', '-q'], { stdio: 'ignore' });
    const simulated = simulateHere();
    writeFileSync(join(stubDir, 'simulation'), simulated);
    security = securityPackages(simulated);
  });
  afterAll(async () => {
    await harness?.close();
    await sandbox?.stop();
  });

  it("security-check counts this machine's pending updates, security ones apart, from the real apt-get", { timeout: 180_000 }, async () => {
    const outcome = await harness.run(systemSecurityCheck(harness.config));
    expect(outcome.metrics!.securityUpdates).toBe(security.length);
    expect(outcome.metrics!.pendingUpdates).toBeGreaterThanOrEqual(security.length);
    expect(outcome.summary).toMatch(new RegExp(`^apt: \\d+ pending update\\(s\\) \\(${security.length} security\\)`));
    if (security.length > 0) {
      expect(outcome.status).toBe('warning');
      expect(outcome.findings).toContainEqual(expect.objectContaining({ severity: 'warning', title: `${security.length} security update(s) pending` }));
    }
    expect(outcome.metrics!.rebootRequired).toBe(existsSync('/var/run/reboot-required') ? 1 : 0);
  });

  it.skipIf(existsSync('/var/run/reboot-required'))('reports a reboot the host waits for as a finding, with the packages that asked for it', async () => {
    // The flag Debian's packages leave; created for this test only, removed right after.
    writeFileSync('/var/run/reboot-required', '*** System restart required ***\n');
    writeFileSync('/var/run/reboot-required.pkgs', 'linux-image-6.1.0-99-amd64\nlibc6\n');
    try {
      const { own, context } = stubbed('weekly');
      const outcome = await systemSecurityCheck(own.config)
        .run(context())
        .finally(() => own.close());
      expect(outcome.status).toBe('warning');
      expect(outcome.metrics!.rebootRequired).toBe(1);
      expect(outcome.summary).toMatch(/; reboot required$/);
      expect(outcome.findings).toContainEqual({
        severity: 'warning',
        title: 'the host needs a reboot',
        evidence: 'requested by linux-image-6.1.0-99-amd64, libc6',
        action: 'Schedule a reboot; maintenance windows never reboot the host.',
      });
    } finally {
      rmSync('/var/run/reboot-required', { force: true });
      rmSync('/var/run/reboot-required.pkgs', { force: true });
    }
  });

  it('is skipped when no known package manager exists', async () => {
    const bare: Target = {
      ...withPathFirst(harness.target, '/nonexistent'),
      exec: (script, options) => harness.target.exec(`PATH=/nonexistent; ${script}`, options),
    };
    const skipped = await systemSecurityCheck(harness.config).run({ ...harness.context(), target: bare });
    expect(skipped).toEqual({ status: 'skipped', summary: `no known package manager (apt-get, dnf, yum, apk) on ${harness.target.description}` });
  });

  it('package-updates only reports on a tier not in updates.apply-on, and runs nothing that changes the host', async () => {
    rmSync(join(stubDir, 'calls'), { force: true });
    const { own, context } = stubbed('weekly');
    try {
      const outcome = await systemPackageUpdates(own.config).run(context());
      expect(outcome.status).toBe('skipped');
      expect(outcome.summary).toMatch(/^report only: the weekly tier is not in updates.apply-on \(monthly\); \d+ pending update\(s\)/);
      expect(outcome.metrics!.applied).toBe(0);
      expect(calls().map((call) => call.slice(1).join(' '))).toEqual(['update -q', '-s upgrade']);
    } finally {
      await own.close();
    }
  });

  it('package-updates with security-only installs exactly the security packages, non-interactively, keeping local config files', async () => {
    rmSync(join(stubDir, 'calls'), { force: true });
    const { own, context } = stubbed('monthly');
    try {
      const outcome = await systemPackageUpdates(own.config).run(context());
      const installs = calls().filter((call) => call[1] === 'install');
      if (security.length === 0) {
        expect(installs).toEqual([]);
        expect(outcome.summary).toMatch(/^nothing to apply/);
        return;
      }
      expect(installs).toHaveLength(1);
      const [env, ...args] = installs[0]!;
      expect(env).toBe('DEBIAN_FRONTEND=noninteractive');
      expect(args.slice(0, 9)).toEqual([
        'install',
        '-y',
        '-q',
        '--only-upgrade',
        '--no-install-recommends',
        '-o',
        'Dpkg::Options::=--force-confdef',
        '-o',
        'Dpkg::Options::=--force-confold',
      ]);
      expect(args.slice(9).sort()).toEqual([...security].sort());
      expect(calls().some((call) => call[1] === 'upgrade')).toBe(false);
      // The stub installed nothing, so the re-check still sees them: said, not hidden.
      expect(outcome.status).toBe('warning');
      expect(outcome.metrics!.applied).toBe(security.length);
      expect(outcome.summary).toContain(`(${security.length} security still pending)`);
    } finally {
      await own.close();
    }
  });

  it('package-updates without security-only runs a full upgrade', async () => {
    rmSync(join(stubDir, 'calls'), { force: true });
    const { own, context } = stubbed('monthly', { updates: { 'security-only': false } });
    try {
      const outcome = await systemPackageUpdates(own.config).run(context());
      if (outcome.metrics!.pendingUpdates === 0) return expect(outcome.summary).toMatch(/^nothing to apply/);
      const upgrade = calls().find((call) => call[1] === 'upgrade');
      expect(upgrade).toEqual([
        'DEBIAN_FRONTEND=noninteractive',
        'upgrade',
        '-y',
        '-q',
        '--with-new-pkgs',
        '-o',
        'Dpkg::Options::=--force-confdef',
        '-o',
        'Dpkg::Options::=--force-confold',
      ]);
    } finally {
      await own.close();
    }
  });

  it('package-updates fails naming the command and exit code when apt-get fails', async () => {
    rmSync(join(stubDir, 'calls'), { force: true });
    writeFileSync(join(stubDir, 'exit-code'), '100');
    const { own, context } = stubbed('monthly', { updates: { 'security-only': false } });
    try {
      const outcome = await systemPackageUpdates(own.config).run(context());
      if (outcome.metrics!.pendingUpdates === 0) return;
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toMatch(/^apt-get upgrade -y -q .* failed \(exit code 100\): E: stub failure$/);
    } finally {
      rmSync(join(stubDir, 'exit-code'), { force: true });
      await own.close();
    }
  });
});
