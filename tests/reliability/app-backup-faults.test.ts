import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../sandbox/sandbox.js';
import { expectJournalIntact, hostJournal, relfilenodes, stepStates } from '../support/fault-host.js';
import { FRAME_STEPS, runSandboxWindow } from '../support/run-window.js';
import { useFaultSandbox } from '../support/fault-sandbox.js';
import { tiers } from '../support/counting-steps.js';

let sandbox: Sandbox;
const { countsBefore, expectHostWhole } = useFaultSandbox((started) => (sandbox = started));

const run = (attempt: number) => ({
  repository: 'test/repo',
  runId: '1',
  runAttempt: attempt,
  workflow: 'test',
  serverUrl: 'https://github.com',
  actor: 'tester',
});

describe('the app does not come back after the downtime bracket', () => {
  it('fails loudly naming the app and its health URL; a re-run starts it again', async () => {
    const start = sandbox.app!.startCommand;
    const config = {
      health: { timeout: '3s' },
      ...tiers([{ id: 'custom.break-start', run: `mv ${start} ${start}.off`, impact: 'downtime', idempotent: true }]),
    };
    const settings = { steps: ['custom.break-start'], skipSteps: FRAME_STEPS, windowId: 'app-down' };
    let first: Awaited<ReturnType<typeof runSandboxWindow>>;
    try {
      first = await runSandboxWindow(sandbox, { config, settings });
      expect(await sandbox.isAppUp()).toBe(false);
    } finally {
      if (existsSync(`${start}.off`)) renameSync(`${start}.off`, start);
    }
    expect(first.result).toBe('failed');
    const journal = hostJournal(sandbox, 'app-down');
    expectJournalIntact(journal);
    expect(journal.bracket?.healthy).toBe(false);
    expect(first.failureMessage).toMatch(/the app did not come back healthy after the downtime bracket within 3\.0 s: the start command failed \(exit 127\)/);
    expect(first.failureMessage).toContain(`${sandbox.app!.url}/api/v1/health`);
    expect(first.failureMessage).toContain(start);
    expect(first.lines.some((line) => line.startsWith('error: ') && line.includes('did not come back healthy'))).toBe(true);

    // The script is back (the operator fixed it): the re-run owns the bracket the first attempt could not close.
    const second = await runSandboxWindow(sandbox, { config, settings: { ...settings, run: run(2) } });
    expect(second.result).toBe('succeeded');
    expect(second.lines.join('\n')).toMatch(/attempt 1 left the app stopped or unhealthy .*: this attempt starts it again/);
    expect(second.journal.bracket?.healthy).toBe(true);
    expectJournalIntact(hostJournal(sandbox, 'app-down'));
    await expectHostWhole();
  });
});

describe('on-failure: rollback', () => {
  it("a destructive downtime step that deleted 1000 rows and failed: the window's own fresh backup is restored, the app is up", async () => {
    const { socketDir, port } = sandbox.postgres;
    const wreck = `psql -X -q -h ${socketDir} -p ${port} -U postgres -d ner11_db -c 'delete from vendor_equipment where id in (select id from vendor_equipment order by id limit 1000)' && echo deleted && exit 1`;
    const result = await runSandboxWindow(sandbox, {
      config: tiers([{ id: 'custom.wreck', run: wreck, impact: 'downtime', destructive: true, after: 'backup.fresh' }], 'monthly'),
      settings: { tier: 'monthly', steps: ['backup.fresh', 'custom.wreck'], skipSteps: FRAME_STEPS, onFailure: 'rollback', windowId: 'rollback-1' },
    });
    expect(result.result).toBe('failed');
    expect(result.journal.failedStep).toBe('custom.wreck');
    const backup = result.journal.facts.backup!;
    expect(backup.kind).toBe('fresh');
    expect(result.journal.rollback?.status).toBe('succeeded');
    expect(result.journal.rollback?.summary).toContain(`ner11_db restored from ${backup.path} (fresh backup of`);
    expect(result.journal.rollback?.summary).toMatch(/the database as it was is kept as ner11_db_before_rollback_\d{8}_\d{6}/);
    const journal = hostJournal(sandbox, 'rollback-1');
    expectJournalIntact(journal);
    expect(journal.steps.find((s) => s.id === 'services.restart')?.summary).toMatch(
      /integrity tables changed across the downtime bracket while writes were stopped: before \{"vendor_equipment":\d+,"threat_intelligence":\d+\}/,
    );
    expect(journal.rollback?.status).toBe('succeeded');
    // The rows the step deleted are back: the counts are those from before the window.
    await expectHostWhole();
    const kept = await sandbox.psql("select datname from pg_database where datname like 'ner11_db_before_rollback_%'");
    expect(Number(await sandbox.psql('select count(*) from vendor_equipment', kept))).toBe(countsBefore().vendor_equipment - 1000);
  });
});

describe('backup missing, truncated or with a wrong checksum: destructive steps never start', () => {
  const source = () => readdirSync(sandbox.backupsDir).find((name) => name.endsWith('.sql.gz'))!;
  /** A backups dir for one case, holding a copy of the sandbox's backup changed by `damage`. */
  function caseDir(name: string, damage?: (file: string) => void): string {
    const dir = join(sandbox.root, 'backup-cases', name);
    mkdirSync(dir, { recursive: true });
    if (damage) {
      const file = join(dir, source());
      copyFileSync(join(sandbox.backupsDir, source()), file);
      copyFileSync(join(sandbox.backupsDir, `${source()}.sha256`), `${file}.sha256`);
      damage(file);
    }
    return dir;
  }
  const sign = (file: string) => writeFileSync(`${file}.sha256`, `${createHash('sha256').update(readFileSync(file)).digest('hex')}  ${basename(file)}\n`);

  const cases: [string, () => string, RegExp][] = [
    ['missing', () => caseDir('missing'), /backup not usable: no backup matching ner11_db_\* in .*backup-cases\/missing/],
    [
      'truncated (its checksum re-signed, so only the archive itself is wrong)',
      () =>
        caseDir('truncated', (file) => {
          truncateSync(file, Math.floor(statSync(file).size * 0.6));
          sign(file);
        }),
      /backup not usable: .*backup-cases\/truncated\/ner11_db_\d{8}_\d{6}\.sql\.gz: .*(gzip|unexpected end|truncated|corrupt)/i,
    ],
    [
      'checksum mismatch',
      () => caseDir('checksum', (file) => writeFileSync(`${file}.sha256`, `${'0'.repeat(64)}  ${basename(file)}\n`)),
      /backup not usable: .*backup-cases\/checksum\/ner11_db_\d{8}_\d{6}\.sql\.gz: sha256 [0-9a-f]{64} does not match .*\.sha256 \(0{64}\)/,
    ],
  ];

  it.each(cases)('%s', async (name, makeDir, problem) => {
    const windowId = `backup-${name.split(' ')[0]}`;
    const before = await relfilenodes(sandbox);
    const result = await runSandboxWindow(sandbox, {
      config: { backups: { dir: makeDir() } },
      settings: { tier: 'monthly', steps: ['backup.verify', 'db.vacuum-full'], skipSteps: FRAME_STEPS, windowId },
    });
    expect(result.result).toBe('failed');
    expect(result.journal.failedStep).toBe('backup.verify');
    expect(result.journal.steps.find((s) => s.id === 'backup.verify')?.summary).toMatch(problem);
    expect(stepStates(result.journal)).toEqual({ 'backup.verify': 'failed', 'db.vacuum-full': 'not-run' });
    expect(result.journal.steps.find((s) => s.id === 'db.vacuum-full')?.summary).toBe('not run: backup.verify failed');
    expect(await relfilenodes(sandbox)).toEqual(before);
    expectJournalIntact(hostJournal(sandbox, windowId));

    // Resuming past the failed verification does not help: the runner itself refuses the destructive step.
    const resumed = await runSandboxWindow(sandbox, {
      config: { backups: { dir: makeDir() } },
      settings: {
        tier: 'monthly',
        steps: ['backup.verify', 'db.vacuum-full'],
        skipSteps: FRAME_STEPS,
        windowId,
        resume: { kind: 'from', stepId: 'db.vacuum-full' },
        run: run(2),
      },
    });
    expect(resumed.result).toBe('failed');
    expect(resumed.journal.steps.find((s) => s.id === 'db.vacuum-full')?.summary).toBe(
      'refused: db.vacuum-full is destructive and this window has no verified or fresh backup (run backup.fresh or backup.verify first)',
    );
    expect(await relfilenodes(sandbox)).toEqual(before);
    expectJournalIntact(hostJournal(sandbox, windowId));
    await expectHostWhole();
  });
});
