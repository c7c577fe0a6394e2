import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Journal } from '../../src/window/journal.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { cutSshSessions, expectJournalIntact, hostJournal, hostLock, stepStates, waitForFile } from '../support/fault-host.js';
import { runFaultWindow } from '../support/fault-window.js';
import { runSandboxWindow } from '../support/run-window.js';
import { useFaultSandbox } from '../support/fault-sandbox.js';
import { countingSteps, tiers } from '../support/counting-steps.js';

let sandbox: Sandbox;
const { expectHostWhole } = useFaultSandbox((started) => (sandbox = started));

const { step, ranCount } = countingSteps(() => sandbox.root);
const run = (attempt: number) => ({
  repository: 'test/repo',
  runId: '1',
  runAttempt: attempt,
  workflow: 'test',
  serverUrl: 'https://github.com',
  actor: 'tester',
});

describe('SSH faults', () => {
  it('a connection cut while a step runs fails that step cleanly; an unsafe step is not re-run blindly, a resume continues', async () => {
    const started = `${sandbox.root}/cut-started`;
    const config = tiers([
      step('custom.before', { idempotent: true }),
      step('custom.cut', { after: 'custom.before' }, `touch ${started}; sleep 4`),
      step('custom.after', { after: 'custom.cut', idempotent: true }),
    ]);
    const settings = { steps: ['custom.before', 'custom.cut', 'custom.after'], windowId: 'cut-1' };

    const window = runSandboxWindow(sandbox, { config, settings });
    await waitForFile(started);
    expect(cutSshSessions(sandbox)).toBeGreaterThan(0);
    const first = await window;

    expect(first.result).toBe('failed');
    expect(first.journal.failedStep).toBe('custom.cut');
    const journal = hostJournal(sandbox, 'cut-1');
    expectJournalIntact(journal);
    expect(stepStates(journal)).toEqual({ 'custom.before': 'succeeded', 'custom.cut': 'failed', 'custom.after': 'not-run' });
    const cut = journal.steps.find((s) => s.id === 'custom.cut')!;
    expect(cut.error).toMatch(/the SSH connection to mwroot@127\.0\.0\.1:\d+ was lost while a command ran/);
    expect(cut.interrupted).toBe('the SSH connection was lost in attempt 1');
    expect(first.failureMessage).toContain('custom.cut failed on mwroot@127.0.0.1');
    await expectHostWhole();

    // The command's fate on the host is unknown and the step is not idempotent: the re-run asks, it does not guess.
    const second = await runSandboxWindow(sandbox, { config, settings: { ...settings, run: run(2) } });
    expect(second.result).toBe('failed');
    expect(second.journal.message).toMatch(
      /step custom\.cut was interrupted while it ran \(the SSH connection was lost in attempt 1\) and is not safe to run twice\. Check on the host what it did, then re-run with resume: custom\.cut to run it again or resume: custom\.after to go on after it/,
    );
    expect(ranCount('custom.cut')).toBe(1);
    expectJournalIntact(hostJournal(sandbox, 'cut-1'));

    const third = await runSandboxWindow(sandbox, { config, settings: { ...settings, resume: { kind: 'from', stepId: 'custom.cut' }, run: run(3) } });
    expect(third.result).toBe('succeeded');
    expect(stepStates(hostJournal(sandbox, 'cut-1'))).toEqual({ 'custom.before': 'succeeded', 'custom.cut': 'succeeded', 'custom.after': 'succeeded' });
    expect([ranCount('custom.before'), ranCount('custom.cut'), ranCount('custom.after')]).toEqual([1, 2, 1]);
    await expectHostWhole();
  });

  it('an idempotent step cut mid-command runs again on the re-run', async () => {
    const started = `${sandbox.root}/cut-idem-started`;
    const config = tiers([
      step('custom.idem-before', { idempotent: true }),
      step('custom.idem-cut', { after: 'custom.idem-before', idempotent: true }, `[ -f ${started} ] || { touch ${started}; sleep 4; }`),
    ]);
    const settings = { steps: ['custom.idem-before', 'custom.idem-cut'], windowId: 'cut-2' };
    const window = runSandboxWindow(sandbox, { config, settings });
    await waitForFile(started);
    cutSshSessions(sandbox);
    expect((await window).journal.failedStep).toBe('custom.idem-cut');

    const second = await runSandboxWindow(sandbox, { config, settings: { ...settings, run: run(2) } });
    expect(second.result).toBe('succeeded');
    expect(second.lines.join('\n')).toContain('custom.idem-before: already succeeded in an earlier attempt — skipped');
    expect([ranCount('custom.idem-before'), ranCount('custom.idem-cut')]).toEqual([1, 2]);
    expectJournalIntact(hostJournal(sandbox, 'cut-2'));
    await expectHostWhole();
  });

  it('sshd down for 2 s between steps: the runner reconnects with backoff within connect-timeout and goes on', async () => {
    let restarted: Promise<void> | undefined;
    const result = await runFaultWindow(sandbox, {
      config: tiers([step('custom.up-1', { idempotent: true }), step('custom.up-2', { after: 'custom.up-1', idempotent: true })]),
      settings: { steps: ['custom.up-1', 'custom.up-2'], windowId: 'sshd-blip', connectTimeoutMs: 15_000 },
      faults: [
        {
          when: 'echo custom.up-2 >>',
          inject: async () => {
            await sandbox.stopSshd();
            restarted = new Promise((resolve) => setTimeout(resolve, 2000)).then(() => sandbox.startSshd());
          },
        },
      ],
    });
    await restarted;
    expect(result.result).toBe('succeeded');
    const log = result.lines.join('\n');
    expect(log).toMatch(/connection to mwroot@127\.0\.0\.1:\d+ failed \(.*ECONNREFUSED.*\); retrying in 250 ms/);
    expect(log).toMatch(/connected to mwroot@127\.0\.0\.1:\d+ after \d+ attempts/);
    expect([ranCount('custom.up-1'), ranCount('custom.up-2')]).toEqual([1, 1]);
    expectJournalIntact(hostJournal(sandbox, 'sshd-blip'));
    await expectHostWhole();
  });

  it('sshd down longer than connect-timeout: a failure that names the host and the timeout; a re-run resumes', async () => {
    const config = tiers([
      step('custom.down-1', { idempotent: true }),
      step('custom.down-2', { after: 'custom.down-1', idempotent: true }),
      step('custom.down-3', { after: 'custom.down-2', idempotent: true }),
    ]);
    const settings = { steps: ['custom.down-1', 'custom.down-2', 'custom.down-3'], windowId: 'sshd-gone', connectTimeoutMs: 1000 };
    const started = Date.now();
    const first = await runFaultWindow(sandbox, { config, settings, faults: [{ when: 'echo custom.down-2 >>', inject: () => sandbox.stopSshd() }] });
    const elapsed = Date.now() - started;
    try {
      expect(first.result).toBe('failed');
      expect(first.journal.failedStep).toBe('custom.down-2');
      expect(first.failureMessage).toMatch(
        /custom\.down-2 failed on mwroot@127\.0\.0\.1:\d+: SSH connection to 127\.0\.0\.1:\d+ failed: .*ECONNREFUSED.* \(gave up after \d+ attempts within the 1000 ms connect timeout\)/,
      );
      expect(stepStates(first.journal)).toEqual({ 'custom.down-1': 'succeeded', 'custom.down-2': 'failed', 'custom.down-3': 'not-run' });
      expectJournalIntact(first.journal);
      // Each later write to the host (journal, lock) gives up within its own connect timeout: bounded, not hanging.
      expect(elapsed).toBeLessThan(30_000);
      expect(ranCount('custom.down-2')).toBe(0);
      // The host could not be told; the report dir's copy of the journal has the whole story.
      expect(first.warnings.join('\n')).toMatch(/the journal could not be written to the host: .*gave up after/);
      expect(first.warnings.join('\n')).toMatch(/the lock could not be released: /);
      const local = JSON.parse(readFileSync(`${sandbox.root}/report/window.json`, 'utf8')) as Journal;
      expect([local.status, local.failedStep]).toEqual(['failed', 'custom.down-2']);
    } finally {
      await sandbox.startSshd();
    }
    // The host still holds the lock of the unreachable attempt; the re-run of the same window takes it over.
    expect(hostLock(sandbox)?.runId).toBe('1');
    const second = await runFaultWindow(sandbox, { config, settings: { ...settings, run: run(2) } });
    expect(second.result).toBe('succeeded');
    expect(second.warnings.join('\n')).toContain('took over the lock left by attempt 1 of this window');
    expect([ranCount('custom.down-1'), ranCount('custom.down-2'), ranCount('custom.down-3')]).toEqual([1, 1, 1]);
    expectJournalIntact(hostJournal(sandbox, 'sshd-gone'));
    await expectHostWhole();
  });
});
