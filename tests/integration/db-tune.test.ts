import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbTune, NOT_SET_BY_ALTER_SYSTEM, restorePreviousSettings, type SettingReport } from '../../src/steps/database/db-tune.js';
import type { PostgresMemory } from '../../src/steps/database/postgres-memory.js';
import type { WindowFacts } from '../../src/steps/step.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { sandboxConfig } from '../support/sandbox-config.js';
import { stepHarness } from '../support/step-harness.js';

const MiB = 1024 ** 2;
const LIMIT = 512 * MiB;

let sandbox: Sandbox;
let postmasterPid: number;
/** The cgroup v1 memory group holding the sandbox's postmaster, when this machine lets us make one. */
let cgroup: string | undefined;

/** A child of this process's own v1 memory cgroup with a 512 MiB limit, holding the postmaster. */
function limitPostmaster(pid: number): string | undefined {
  try {
    const own = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((line) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(line));
    const mount = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' '))
      .find((fields) => fields[fields.indexOf('-') + 1] === 'cgroup' && `,${fields[fields.indexOf('-') + 3]},`.includes(',memory,'));
    if (!own || !mount || mount[3] !== '/') return undefined;
    const dir = `${mount[4]}${own.split(':')[2]}/mw-db-tune-${process.pid}`.replace(/\/+/g, '/');
    mkdirSync(dir);
    writeFileSync(`${dir}/memory.limit_in_bytes`, String(LIMIT));
    writeFileSync(`${dir}/cgroup.procs`, String(pid));
    return dir;
  } catch {
    return undefined;
  }
}

const show = (name: string) => sandbox.psql(`show ${name}`);
const autoConf = () =>
  sandbox.psql("select string_agg(name || '=' || setting, ',' order by name) from pg_file_settings where sourcefile like '%/postgresql.auto.conf'");
const reportOf = (details: unknown, name: string) => (details as { settings: SettingReport[] }).settings.find((entry) => entry.name === name)!;
const memoryOf = (details: unknown) => (details as { memory: PostgresMemory }).memory;

beforeAll(async () => {
  sandbox = await startSandbox({ app: false, seedBloat: false });
  postmasterPid = Number(readFileSync(`${sandbox.postgres.dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
  cgroup = limitPostmaster(postmasterPid);
  console.info(cgroup ? `db.tune: real cgroup v1 memory limit of 512 MiB at ${cgroup}` : 'db.tune: no cgroup could be made here; the cgroup case is skipped');
});

afterAll(async () => {
  await sandbox?.stop();
  if (cgroup) {
    // The cgroup empties once the server's processes have exited.
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        rmdirSync(cgroup);
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
});

describe('db.tune', () => {
  it('reports only, with no impact, unless apply is configured', () => {
    const reporting = dbTune(sandboxConfig(sandbox));
    expect(reporting).toMatchObject({ impact: 'none', destructive: false });
    const applying = dbTune(sandboxConfig(sandbox, { database: { tune: { apply: true } } }));
    expect(applying).toMatchObject({ impact: 'degraded', destructive: true });
    expect(applying.commands.join('\n')).toContain('ALTER SYSTEM SET');
  });

  it.runIf(() => cgroup !== undefined)("sizes from the postmaster's cgroup memory limit, not the host's RAM", async () => {
    const harness = stepHarness(sandbox);
    try {
      const outcome = await harness.run(dbTune(harness.config));
      const memory = memoryOf(outcome.details);
      expect(memory).toMatchObject({ bytes: LIMIT, source: 'cgroup-v1', postmasterPid, pidFrom: 'postmaster.pid' });
      expect(memory.cgroup).toMatch(/\/mw-db-tune-\d+$/);
      expect(memory.hostMemTotalBytes).toBeGreaterThan(LIMIT);
      // The runbook's free -m rule would ask for a quarter of the host's RAM.
      expect(reportOf(outcome.details, 'shared_buffers')).toMatchObject({ current: '32.0 MiB', recommended: '128 MiB', farOff: true, restart: true });
      expect(reportOf(outcome.details, 'effective_cache_size').recommended).toBe('384 MiB');
      expect(reportOf(outcome.details, 'maintenance_work_mem').recommended).toBe('32.0 MiB');
      expect(outcome.status).toBe('warning');
      expect(outcome.findings?.find((finding) => finding.severity === 'warning')?.evidence).toContain('shared_buffers 32.0 MiB → 128 MiB (25% of 512 MiB)');
      expect(outcome.summary).toMatch(/reported only \(database\.tune\.apply is off\)/);
      expect(await autoConf()).toBe('');
    } finally {
      await harness.close();
    }
  });

  it.runIf(() => cgroup !== undefined)("finds the postmaster as its session's parent when no data directory is configured", async () => {
    const harness = stepHarness(sandbox, { config: { database: { 'data-directory': undefined } } });
    try {
      const memory = memoryOf((await harness.run(dbTune(harness.config))).details);
      expect(memory).toMatchObject({ bytes: LIMIT, source: 'cgroup-v1', postmasterPid, pidFrom: 'backend parent' });
    } finally {
      await harness.close();
    }
  });

  it('takes a configured memory-limit over what it detects', async () => {
    const harness = stepHarness(sandbox, { config: { database: { tune: { 'memory-limit': '2G', storage: 'hdd' } } } });
    try {
      const outcome = await harness.run(dbTune(harness.config));
      expect(memoryOf(outcome.details)).toMatchObject({ bytes: 2048 * MiB, source: 'config', postmasterPid });
      expect(reportOf(outcome.details, 'shared_buffers').recommended).toBe('512 MiB');
      expect(reportOf(outcome.details, 'random_page_cost')).toMatchObject({ current: '4', recommended: '4' });
      expect(reportOf(outcome.details, 'effective_io_concurrency').recommended).toBe('2');
    } finally {
      await harness.close();
    }
  });

  it('refuses to apply without a superuser and changes nothing', async () => {
    const harness = stepHarness(sandbox, { config: { database: { tune: { apply: true } } } });
    try {
      const outcome = await harness.run(dbTune(harness.config));
      expect(outcome.status).toBe('failed');
      expect(outcome.summary).toMatch(/ner11 is not a superuser.*nothing was changed/);
      expect(harness.facts.previousSettings).toBeUndefined();
      expect(await autoConf()).toBe('');
    } finally {
      await harness.close();
    }
  });

  it('applies as superuser: saves the previous values first, reloads, leaves restart-only settings pending; rollback restores', async () => {
    const password = 'tune-test-password';
    await sandbox.psql(`alter role postgres password '${password}'`);
    await sandbox.psql('alter system set random_page_cost = 2');
    await sandbox.psql('select pg_reload_conf()');
    const facts: WindowFacts = {};
    const harness = stepHarness(sandbox, {
      config: { database: { user: 'postgres', tune: { apply: true, 'memory-limit': '1G' } } },
      settings: { databasePassword: password },
      facts,
    });
    try {
      const workMemBefore = await show('work_mem');
      let workMemWhenSaved: string | undefined;
      const context = {
        ...harness.context(),
        saveFacts: async (update: Partial<WindowFacts>) => {
          workMemWhenSaved = await show('work_mem');
          Object.assign(facts, update);
        },
      };
      const step = dbTune(harness.config);
      const outcome = await step.run(context);
      expect(outcome.status, outcome.summary).toBe('warning');
      expect(workMemWhenSaved).toBe(workMemBefore);
      expect(facts.previousSettings).toMatchObject({ random_page_cost: '2', work_mem: NOT_SET_BY_ALTER_SYSTEM, shared_buffers: NOT_SET_BY_ALTER_SYSTEM });

      // 1 GiB: work_mem (1024 - 256) MiB / (3 × 60 connections) / 2 workers = 2.13 MiB → 2MB
      expect(await show('work_mem')).toBe('2MB');
      expect(await show('effective_cache_size')).toBe('768MB');
      expect(await show('random_page_cost')).toBe('1.1');
      expect(await show('shared_buffers')).toBe('32MB');
      expect(await sandbox.psql("select pending_restart from pg_settings where name = 'shared_buffers'")).toBe('t');
      expect(Number(readFileSync(`${sandbox.postgres.dataDir}/postmaster.pid`, 'utf8').split('\n')[0])).toBe(postmasterPid);
      expect(outcome.details).toMatchObject({ pendingRestart: ['shared_buffers'] });
      expect(outcome.findings?.find((finding) => finding.title === 'Apply at the next restart of PostgreSQL')?.evidence).toContain(
        'shared_buffers = 256MB (now 32.0 MiB)',
      );
      expect(outcome.summary).toMatch(/^applied \d+ setting\(s\) for 1\.00 GiB .*at the next restart \(/);

      // Re-run after an interruption: the values recorded first stay the rollback point.
      const again = await step.run(context);
      expect(again.status, again.summary).toBe('warning');
      expect(facts.previousSettings).toMatchObject({ random_page_cost: '2', work_mem: NOT_SET_BY_ALTER_SYSTEM });

      const restored = await restorePreviousSettings(harness.context());
      expect(restored.status, restored.summary).toBe('succeeded');
      expect(await show('work_mem')).toBe(workMemBefore);
      expect(await show('random_page_cost')).toBe('2');
      expect(await sandbox.psql("select pending_restart from pg_settings where name = 'shared_buffers'")).toBe('f');
      expect(await autoConf()).toBe('random_page_cost=2');
    } finally {
      await harness.close();
    }
  });

  it('has nothing to restore when no previous settings were recorded', async () => {
    const harness = stepHarness(sandbox);
    try {
      expect(await restorePreviousSettings(harness.context())).toMatchObject({ status: 'skipped' });
    } finally {
      await harness.close();
    }
  });
});
