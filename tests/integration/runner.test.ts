import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { FRAME_STEPS, runSandboxWindow } from '../support/run-window.js';
import { countingSteps, tiers } from '../support/counting-steps.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox?.stop();
});

const { step: countingStep, ranCount } = countingSteps(() => sandbox.root, { idempotent: true });

describe('window runner', () => {
  it('resumes a failed window: done steps are skipped, the failed one runs again', async () => {
    const flag = `${sandbox.root}/flag-resume`;
    const config = tiers([
      countingStep('custom.first'),
      countingStep('custom.flaky', { after: 'custom.first' }, `[ -f ${flag} ] || { touch ${flag}; echo first time fails >&2; exit 3; }`),
    ]);
    const settings = { steps: ['custom.first', 'custom.flaky'], windowId: 'resume-1' };
    const first = await runSandboxWindow(sandbox, { config, settings });
    expect(first.result).toBe('failed');
    expect(first.journal.failedStep).toBe('custom.flaky');
    expect(first.failureMessage).toMatch(/custom\.flaky failed on mwroot@127\.0\.0\.1|custom\.flaky failed on .*@127\.0\.0\.1/);
    const journalOnHost = JSON.parse(readFileSync(`${sandbox.stateDir}/windows/resume-1.json`, 'utf8'));
    expect(journalOnHost.steps.map((s: { status: string }) => s.status)).toEqual(['succeeded', 'failed']);

    const second = await runSandboxWindow(sandbox, { config, settings: { ...settings, run: { ...settingsRun(), runAttempt: 2 } } });
    expect(second.result).toBe('succeeded');
    expect(second.journal.steps[0].resumedFrom).toBeDefined();
    expect(second.lines.some((line) => /custom\.first: already succeeded/.test(line))).toBe(true);
    expect(ranCount('custom.first')).toBe(1);
    expect(ranCount('custom.flaky')).toBe(2);
    expect(second.journal.attempts).toHaveLength(2);
  });

  it('stops at an interrupted step that is not idempotent, and says what to do', async () => {
    const windowId = 'interrupted-1';
    mkdirSync(`${sandbox.stateDir}/windows`, { recursive: true });
    writeFileSync(
      `${sandbox.stateDir}/windows/${windowId}.json`,
      JSON.stringify({ windowId, runAttempt: 1, attempts: [], status: 'running', steps: [{ id: 'custom.once', status: 'running', attempts: 1 }], facts: {} }),
    );
    const result = await runSandboxWindow(sandbox, {
      config: tiers([countingStep('custom.once', { idempotent: false })]),
      settings: { steps: ['custom.once'], windowId },
    });
    expect(result.result).toBe('failed');
    expect(result.journal.message).toMatch(/custom\.once was interrupted .* not safe to run twice.*resume: custom\.once.*resume: restart/);
    expect(ranCount('custom.once')).toBe(0);

    const forced = await runSandboxWindow(sandbox, {
      config: tiers([countingStep('custom.once', { idempotent: false })]),
      settings: { steps: ['custom.once'], windowId, resume: { kind: 'from', stepId: 'custom.once' } },
    });
    expect(forced.result).toBe('succeeded');
    expect(ranCount('custom.once')).toBe(1);
  });

  it('lets one of two racing windows run and refuses the other, naming the owner', async () => {
    const slow = tiers([countingStep('custom.slow', {}, 'sleep 2')]);
    const [a, b] = await Promise.all([
      runSandboxWindow(sandbox, { config: slow, settings: { steps: ['custom.slow'], windowId: 'race-a', run: { ...settingsRun(), runId: '100' } } }),
      runSandboxWindow(sandbox, { config: slow, settings: { steps: ['custom.slow'], windowId: 'race-b', run: { ...settingsRun(), runId: '200' } } }),
    ]);
    const ran = [a, b].filter((r) => r.result === 'succeeded');
    const refused = [a, b].filter((r) => r.result === 'failed');
    expect(ran).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0].failureMessage).toMatch(/did not start: another maintenance window holds the lock on .*: window race-[ab] of test\/repo run (100|200)/);
    expect(refused[0].journal.steps.every((s) => s.status === 'pending')).toBe(true);
    expect(ranCount('custom.slow')).toBe(1);
    expect(existsSync(`${sandbox.stateDir}/lock`)).toBe(false);
  });

  it('takes over an expired lock with a warning', async () => {
    writeFileSync(
      `${sandbox.stateDir}/lock`,
      JSON.stringify({ token: 'old', windowId: 'ghost', repository: 'x/y', runId: '9', runAttempt: 1, startedAt: '2026-01-01T00:00:00Z', expiresAt: 1000 }),
    );
    const result = await runSandboxWindow(sandbox, {
      config: tiers([countingStep('custom.after-ghost')]),
      settings: { steps: ['custom.after-ghost'], windowId: 'takeover-1' },
    });
    expect(result.result).toBe('succeeded');
    expect(result.warnings.join('\n')).toMatch(/took over an expired lock of window ghost/);
    expect(existsSync(`${sandbox.stateDir}/lock`)).toBe(false);
  });

  it('refuses a live lock of another window', async () => {
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    writeFileSync(
      `${sandbox.stateDir}/lock`,
      JSON.stringify({ token: 't', windowId: 'other', repository: 'x/y', runId: '7', runAttempt: 1, startedAt: 'now', expiresAt }),
    );
    const result = await runSandboxWindow(sandbox, {
      config: tiers([countingStep('custom.blocked')]),
      settings: { steps: ['custom.blocked'], windowId: 'blocked-1' },
    });
    expect(result.result).toBe('failed');
    expect(result.failureMessage).toMatch(/window other of x\/y run 7/);
    expect(ranCount('custom.blocked')).toBe(0);
    expect(JSON.parse(readFileSync(`${sandbox.stateDir}/lock`, 'utf8')).token).toBe('t');
    rmSync(`${sandbox.stateDir}/lock`);
  });

  it('defers a step that would pass the deadline, and still verifies', async () => {
    const at0440 = () => new Date('2026-12-06T04:40:00Z');
    const result = await runSandboxWindow(sandbox, {
      config: {
        ...tiers([countingStep('custom.quick', { timeout: '1m' }), countingStep('custom.long', { timeout: '30m', after: 'custom.quick' })]),
        window: { timezone: 'UTC', start: '02:00', end: '05:00', cutoff: '15m' },
      },
      settings: { steps: ['custom.quick', 'custom.long'], windowId: 'deadline-1' },
      now: at0440,
    });
    // Deadline 04:45: the 1-minute step fits, the 30-minute one does not.
    expect(result.plan.deadline?.toISOString()).toBe('2026-12-06T04:45:00.000Z');
    expect(result.journal.steps.map((s) => [s.id, s.status])).toEqual([
      ['custom.quick', 'succeeded'],
      ['custom.long', 'deferred'],
    ]);
    expect(result.result).toBe('deferred');
    expect(ranCount('custom.long')).toBe(0);
  });

  it('starts a really stopped app again after a failing downtime step, and measures the downtime', async () => {
    const result = await runSandboxWindow(sandbox, {
      config: tiers([
        { id: 'custom.down', run: `${sandbox.app!.statusCommand} && exit 9 || { echo app is stopped; exit 1; }`, impact: 'downtime', idempotent: true },
      ]),
      settings: { steps: ['custom.down'], skipSteps: FRAME_STEPS, windowId: 'bracket-1' },
    });
    expect(result.result).toBe('failed');
    const step = result.journal.steps.find((s) => s.id === 'custom.down')!;
    expect(step.status).toBe('failed');
    expect(step.inBracket).toBe(true);
    expect(JSON.stringify(step.details)).toContain('app is stopped');
    expect(result.journal.bracket?.healthy).toBe(true);
    expect(result.journal.bracket?.downtimeSeconds).toBeGreaterThan(0);
    expect(result.journal.bracket?.countsEqual).toBe(true);
    expect(await sandbox.isAppUp()).toBe(true);
  });

  it('refuses a destructive custom step when the window has no backup', async () => {
    await expect(
      runSandboxWindow(sandbox, {
        config: tiers([countingStep('custom.risky', { destructive: true })]),
        settings: { steps: ['custom.risky'], skipSteps: FRAME_STEPS, windowId: 'destructive-1' },
      }),
    ).rejects.toThrow(/custom\.risky is destructive but no backup step/);
    expect(ranCount('custom.risky')).toBe(0);
  });
});

function settingsRun() {
  return { repository: 'test/repo', runId: '1', runAttempt: 1, workflow: 'test', serverUrl: 'https://github.com', actor: 'tester' };
}
