import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import { actionEnv } from '../support/action-env.js';
import { postEnv, readCommandFile, requireFreshDist, rerunEnv, runDoor, startDoor } from '../support/fault-dist.js';
import { expectJournalIntact, hostJournal, hostLock, stepStates, waitForFile } from '../support/fault-host.js';
import { useFaultSandbox } from '../support/fault-sandbox.js';
import { countingSteps, tiers } from '../support/counting-steps.js';

let sandbox: Sandbox;
const { expectHostWhole } = useFaultSandbox((started) => (sandbox = started), requireFreshDist);

const FRAME = 'snapshot.baseline,preflight,verify,snapshot.post';

const { step, ranCount } = countingSteps(() => sandbox.root);
/** Runs the first time (writing `started`, then sleeping long enough to be killed), is quick on later runs. */
function sleepsOnce(name: string): string {
  const flag = `${sandbox.root}/${name}.ran-once`;
  return `if [ -f ${flag} ]; then echo ran again; else touch ${flag} ${sandbox.root}/${name}.started; sleep 20; fi`;
}

describe('the runner process killed (dist/main/index.js)', () => {
  it('SIGKILL mid-step, then a re-run of the workflow: takes over its own lock, skips done steps, re-runs the idempotent one', async () => {
    const { env } = actionEnv(
      sandbox,
      { steps: 'custom.k-first,custom.k-sleepy,custom.k-last' },
      tiers([
        step('custom.k-first', { idempotent: true }),
        step('custom.k-sleepy', { idempotent: true, after: 'custom.k-first' }, sleepsOnce('k-sleepy')),
        step('custom.k-last', { idempotent: true, after: 'custom.k-sleepy' }),
      ]),
    );
    const windowId = `weekly-${env.GITHUB_RUN_ID}`;
    const main = startDoor('main', env);
    await waitForFile(`${sandbox.root}/k-sleepy.started`);
    main.kill('SIGKILL');
    expect((await main.exited).signal).toBe('SIGKILL');

    const left = hostJournal(sandbox, windowId);
    expectJournalIntact(left, { killed: true });
    expect(stepStates(left)).toEqual({ 'custom.k-first': 'succeeded', 'custom.k-sleepy': 'running', 'custom.k-last': 'pending' });
    expect(hostLock(sandbox)).toMatchObject({ windowId, runId: env.GITHUB_RUN_ID, runAttempt: 1 });

    const rerun = rerunEnv(env, 2);
    const second = await runDoor('main', rerun);
    expect(second.code, second.stdout).toBe(0);
    expect(second.stdout).toContain('took over the lock left by attempt 1 of this window (it did not finish)');
    expect(second.stdout).toContain('custom.k-first: already succeeded in an earlier attempt — skipped');
    expect(second.stdout).toContain('step custom.k-sleepy was interrupted while it ran; it is idempotent and runs again');
    expect(readCommandFile(rerun.GITHUB_OUTPUT!).result).toBe('succeeded');

    const journal = hostJournal(sandbox, windowId);
    expectJournalIntact(journal);
    expect(journal.status).toBe('succeeded');
    expect(journal.attempts.map((attempt) => [attempt.runAttempt, attempt.status])).toEqual([
      [1, undefined],
      [2, 'succeeded'],
    ]);
    expect([ranCount('custom.k-first'), ranCount('custom.k-sleepy'), ranCount('custom.k-last')]).toEqual([1, 2, 1]);
    await expectHostWhole();

    // After a main step that finished, the post step has nothing to do.
    const post = await runDoor('post', postEnv(rerun));
    expect(post.code).toBe(0);
    expect(post.stdout).not.toContain('did not finish');
  });

  it('SIGKILL inside the downtime bracket: the post step starts the app and releases the lock; re-runs stop at the unsafe step until told', async () => {
    const { env } = actionEnv(
      sandbox,
      { steps: 'custom.k-down', 'skip-steps': FRAME },
      tiers([step('custom.k-down', { impact: 'downtime' }, sleepsOnce('k-down'))]),
    );
    const windowId = `weekly-${env.GITHUB_RUN_ID}`;
    const main = startDoor('main', env);
    await waitForFile(`${sandbox.root}/k-down.started`);
    expect(await sandbox.isAppUp()).toBe(false);
    const state = readCommandFile(env.GITHUB_STATE!);
    expect(state.bracketOpen).toBe('true');
    expect(state.lockHeld).toBe(hostLock(sandbox)?.token);
    main.kill('SIGKILL');
    await main.exited;
    expectJournalIntact(hostJournal(sandbox, windowId), { killed: true });

    const post = await runDoor('post', postEnv(env));
    expect(post.code, post.stdout).toBe(0);
    expect(post.stdout).toContain('the main step did not finish: checking the host');
    expect(post.stdout).toContain('the app was stopped for the downtime bracket: starting it again');
    expect(post.stdout).toContain('the app is healthy again');
    expect(post.stdout).toContain('released the window lock');
    await expectHostWhole();

    // custom.k-down is not idempotent and nobody knows how far it got: every automatic re-run stops and says so.
    for (const attempt of [2, 3]) {
      const rerun = await runDoor('main', rerunEnv(env, attempt));
      expect(rerun.code).toBe(1);
      expect(rerun.stdout).toMatch(
        /::error::custom\.k-down failed on .*: step custom\.k-down was interrupted while it ran \(attempt 1( ended before it finished)?\) and is not safe to run twice\. Check on the host what it did, then re-run with resume: custom\.k-down to run it again, or resume: restart to start over\./,
      );
      const journal = hostJournal(sandbox, windowId);
      expectJournalIntact(journal);
      expect(journal.failedStep).toBe('custom.k-down');
      expect(journal.steps.find((s) => s.id === 'custom.k-down')).toMatchObject({ status: 'failed', interrupted: 'attempt 1 ended before it finished' });
      await expectHostWhole();
    }
    expect(ranCount('custom.k-down')).toBe(1);

    const told = await runDoor('main', { ...rerunEnv(env, 4), INPUT_RESUME: 'custom.k-down' });
    expect(told.code, told.stdout).toBe(0);
    const journal = hostJournal(sandbox, windowId);
    expect(journal.status).toBe('succeeded');
    expect(journal.bracket?.healthy).toBe(true);
    expect(ranCount('custom.k-down')).toBe(2);
    await expectHostWhole();
  });

  it('SIGINT inside the downtime bracket (a cancelled job): the step stops, the app is started again, the lock released, all within the runner’s 10 s', async () => {
    const { env } = actionEnv(
      sandbox,
      { steps: 'custom.c-down,custom.c-after', 'skip-steps': FRAME },
      tiers([
        step('custom.c-down', { impact: 'downtime' }, `touch ${sandbox.root}/c-down.started; sleep 60`),
        step('custom.c-after', { after: 'custom.c-down' }),
      ]),
    );
    const windowId = `weekly-${env.GITHUB_RUN_ID}`;
    const main = startDoor('main', env);
    await waitForFile(`${sandbox.root}/c-down.started`);
    expect(await sandbox.isAppUp()).toBe(false);
    const signalled = Date.now();
    main.kill('SIGINT');
    const exit = await main.exited;
    // GitHub's runner sends SIGKILL 10 s after SIGINT: everything must be done by then.
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(exit.code).toBe(1);
    expect(main.output()).toContain('received SIGINT: stopping the window');
    await expectHostWhole();
    const journal = hostJournal(sandbox, windowId);
    expectJournalIntact(journal);
    expect(journal.status).toBe('cancelled');
    expect(stepStates(journal)).toMatchObject({ 'custom.c-down': 'failed', 'custom.c-after': 'not-run', 'services.restart': 'succeeded' });
    expect(ranCount('custom.c-after')).toBe(0);
    // The step's remote process (sleep 60) was ended with it.
    expect(spawnSync('pgrep', ['-f', `${sandbox.root}/c-down.started; sleep 60`]).status).toBe(1);
  });

  it('two dist/main processes on one host at once: one runs, the other is refused naming the owner', async () => {
    const config = tiers([step('custom.k-slow', { idempotent: true }, 'sleep 4')]);
    const a = actionEnv(sandbox, { steps: 'custom.k-slow' }, config).env;
    const b = actionEnv(sandbox, { steps: 'custom.k-slow' }, config).env;
    a.GITHUB_RUN_ID = '7001';
    b.GITHUB_RUN_ID = '7002';
    const results = await Promise.all([runDoor('main', a), runDoor('main', b)]);

    const winner = results.findIndex((result) => result.code === 0);
    expect(winner, results.map((r) => r.stdout).join('\n----\n')).toBeGreaterThanOrEqual(0);
    const loser = results[1 - winner];
    const [winnerEnv, loserEnv] = winner === 0 ? [a, b] : [b, a];
    expect(loser.code).toBe(1);
    expect(loser.stdout).toMatch(
      new RegExp(
        `::error::the weekly window on mwroot@127\\.0\\.0\\.1:\\d+ did not start: another maintenance window holds the lock on mwroot@127\\.0\\.0\\.1:\\d+: ` +
          `window weekly-${winnerEnv.GITHUB_RUN_ID} of demo/ner11 run ${winnerEnv.GITHUB_RUN_ID} \\(attempt 1\\), started .*, lock expires`,
      ),
    );
    expect(readCommandFile(loserEnv.GITHUB_OUTPUT!).result).toBe('failed');
    expect(readCommandFile(loserEnv.GITHUB_STATE!).lockHeld ?? '').toBe('');
    expect(ranCount('custom.k-slow')).toBe(1);
    // The refused window never touched the host's journal.
    expect(existsSync(`${sandbox.stateDir}/windows/weekly-${loserEnv.GITHUB_RUN_ID}.json`)).toBe(false);
    await expectHostWhole();
  });
});

describe.skipIf(!process.env.MW_LONG_TESTS)('long: five kill / resume loops (set MW_LONG_TESTS=1 to run)', () => {
  it('a window killed in each of its five steps in turn finishes with every step run exactly once more than it was killed', async () => {
    const ids = [1, 2, 3, 4, 5].map((n) => `custom.loop-${n}`);
    const { env } = actionEnv(
      sandbox,
      { steps: ids.join(',') },
      tiers(ids.map((id, index) => step(id, { idempotent: true, ...(index ? { after: ids[index - 1] } : {}) }, sleepsOnce(id)))),
    );
    const windowId = `weekly-${env.GITHUB_RUN_ID}`;
    for (const [index, id] of ids.entries()) {
      const main = startDoor('main', index === 0 ? env : rerunEnv(env, index + 1));
      await waitForFile(`${sandbox.root}/${id}.started`);
      main.kill('SIGKILL');
      await main.exited;
      const journal = hostJournal(sandbox, windowId);
      expectJournalIntact(journal, { killed: true });
      expect(journal.steps.filter((s) => s.status === 'succeeded').map((s) => s.id)).toEqual(ids.slice(0, index));
      expect(journal.steps[index].status).toBe('running');
    }
    const last = await runDoor('main', rerunEnv(env, 6));
    expect(last.code, last.stdout).toBe(0);
    const journal = hostJournal(sandbox, windowId);
    expectJournalIntact(journal);
    expect(journal.attempts).toHaveLength(6);
    expect(ids.map(ranCount)).toEqual([2, 2, 2, 2, 2]);
    await expectHostWhole();
  });
});
