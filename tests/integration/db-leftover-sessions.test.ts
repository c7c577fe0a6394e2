import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { runSandboxWindow } from '../support/run-window.js';
import { stepHarness } from '../support/step-harness.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ app: false });
});
afterAll(async () => {
  await sandbox?.stop();
});

describe('database sessions of a window', () => {
  it('ends what an earlier attempt of the same window left running, and nothing else', async () => {
    const harness = stepHarness(sandbox, { settings: { windowId: 'leftover-1' } });
    const connect = (applicationName: string) =>
      new pg.Client({
        host: '127.0.0.1',
        port: sandbox.postgres.port,
        user: 'ner11',
        password: sandbox.postgres.password,
        database: 'ner11_db',
        application_name: applicationName,
      });
    const leftover = connect('maintenance-window leftover-1');
    const stranger = connect('maintenance-window another-window');
    await leftover.connect();
    await stranger.connect();
    leftover.on('error', () => undefined);
    const leftoverQuery = leftover.query('select pg_sleep(60)').then(
      () => 'finished',
      (error: Error) => error.message,
    );
    try {
      await harness.context().db();
      expect(await leftoverQuery).toMatch(/terminat/);
      expect(harness.log.lines.join('\n')).toMatch(/ended 1 database session\(s\) an earlier attempt of this window left running/);
      expect((await stranger.query('select 1 as one')).rows[0].one).toBe(1);
    } finally {
      await stranger.end();
      await leftover.end().catch(() => undefined);
      await harness.close();
    }
  });

  it('does not retry a step whose database login is refused', async () => {
    // db.vacuum-analyze is retried once after a failure; a refused login is not worth the wait.
    const result = await runSandboxWindow(sandbox, {
      config: { services: { manager: 'none' } },
      settings: { steps: ['db.vacuum-analyze'], windowId: 'wrong-password-1', databasePassword: 'not-the-password' },
    });
    expect(result.result).toBe('failed');
    const step = result.journal.steps.find((s) => s.id === 'db.vacuum-analyze')!;
    expect(step.attempts).toBe(1);
    expect(step.error).toMatch(/password authentication failed for user "ner11"/);
    expect(result.lines.join('\n')).not.toMatch(/retrying/);
  });
});
