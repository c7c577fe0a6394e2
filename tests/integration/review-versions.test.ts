import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding, StepOutcome } from '../../src/steps/step.js';
import { checkScript, pgUpgradeCheckCommands, versionsReview, type ClusterFacts, type PgUpgradeBinary } from '../../src/steps/review/versions-review.js';
import { containerEngineAvailable, startContainerEngine, type ContainerEngine } from '../sandbox/container-engine.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { stepHarness } from '../support/step-harness.js';

const available = containerEngineAvailable();
const CONTAINER = 'mw-review-app';
/** The Debian package's binaries, next to the sandbox server's (same 15.x release). */
const DEBIAN_BINDIR = '/usr/lib/postgresql/15/bin';

let sandbox: Sandbox;
let engine: ContainerEngine | undefined;

beforeAll(async () => {
  [sandbox, engine] = await Promise.all([startSandbox({ app: false, seedBloat: false }), available.ok ? startContainerEngine() : Promise.resolve(undefined)]);
  if (engine) {
    // An app container whose python3 says 3.9 (past its end of life) and that has no node at all.
    const script = `printf '#!/bin/sh\\necho Python 3.9.18\\n' >/bin/python3 && chmod +x /bin/python3 && exec sleep 600`;
    const started = await engine.docker(['run', '-d', '--name', CONTAINER, engine.busyboxImage, 'sh', '-c', script]);
    expect(started.code, started.stderr).toBe(0);
  }
});
afterAll(async () => {
  await Promise.all([engine?.stop(), sandbox?.stop()]);
});

/** Runs versions.review with ctx.now() at `now`. */
async function review(now: string, config: Record<string, unknown> = {}): Promise<StepOutcome> {
  const harness = stepHarness(sandbox, { config: { services: { manager: 'none', environment: engine?.env ?? {} }, ...config } });
  try {
    return await versionsReview(harness.config).run({ ...harness.context(), now: () => new Date(now) });
  } finally {
    await harness.close();
  }
}

const titled = (outcome: StepOutcome, pattern: RegExp): Finding[] => (outcome.findings ?? []).filter((finding) => pattern.test(finding.title));

/** What python3 / node the sandbox host's login shell finds, read independently of the step's parser. */
async function hostRuntimes(): Promise<string[]> {
  const harness = stepHarness(sandbox);
  try {
    const result = await harness.target.exec('python3 --version 2>&1; node --version 2>&1');
    return result.stdout.split('\n').flatMap((line) => {
      const python = /^Python (\d+\.\d+\.\d+)/.exec(line.trim());
      const node = /^v(\d+\.\d+\.\d+)/.exec(line.trim());
      return python ? [`python ${python[1]}`] : node ? [`node ${node[1]}`] : [];
    });
  } finally {
    await harness.close();
  }
}

describe('versions.review', () => {
  it('reports PostgreSQL 15 as supported more than a year before its end of life, with the host runtimes', async () => {
    const outcome = await review('2026-06-01T02:00:00Z');
    const details = outcome.details as {
      postgres: { state: string; eol: string; versionNum: number };
      runtimes: { runtime: string; full: string; where: string }[];
      eolTables: { writtenOn: string }[];
    };
    expect(details.postgres).toMatchObject({ state: 'supported', eol: '2027-11-11' });
    expect(Math.floor(details.postgres.versionNum / 10000)).toBe(15);
    expect(outcome.metrics?.postgresDaysToEol).toBe(528);
    expect(titled(outcome, /^PostgreSQL/)).toEqual([]);
    expect(outcome.summary).toMatch(/^PostgreSQL 15\.\d+ .*\(EOL 2027-11-11\)/);
    expect(details.eolTables.every((table) => table.writtenOn === '2026-12-06')).toBe(true);
    const host = details.runtimes.filter((runtime) => runtime.where === 'host').map((runtime) => `${runtime.runtime} ${runtime.full}`);
    expect(host.sort()).toEqual((await hostRuntimes()).sort());
  });

  it.skipIf(!available.ok)("finds the runtime inside the app's container, tolerating the missing one, and flags its end of life", async () => {
    const outcome = await review('2026-06-01T02:00:00Z');
    const details = outcome.details as { containers: string[]; runtimes: { runtime: string; full: string; where: string }[] };
    expect(details.containers).toEqual([CONTAINER]);
    expect(details.runtimes.filter((runtime) => runtime.where === `container ${CONTAINER}`)).toEqual([
      expect.objectContaining({ runtime: 'python', full: '3.9.18', line: '3.9' }),
    ]);
    const [finding] = titled(outcome, new RegExp(`^Python 3\\.9 in container ${CONTAINER}`));
    expect(finding).toMatchObject({
      severity: 'critical',
      title: `Python 3.9 in container ${CONTAINER} is past its end of life (2025-10-31): no more security fixes`,
      action: 'Upgrade to Python 3.14 (supported until 2030-10-31).',
    });
    expect(finding!.evidence).toContain('EOL table written 2026-12-06 from the Python developer guide');
    expect(outcome.status).toBe('warning');
  });

  it('warns within a year of the end of life and names the upgrade target', async () => {
    const outcome = await review('2027-03-01T02:00:00Z');
    const [finding] = titled(outcome, /^PostgreSQL 15 /);
    expect(finding).toMatchObject({ severity: 'warning', title: 'PostgreSQL 15 reaches its end of life on 2027-11-11 (255 days)' });
    expect(finding!.action).toMatch(/^Plan the upgrade to PostgreSQL 18 \(supported until 2030-11-14\): /);
    expect(finding!.evidence).toContain('EOL table written 2026-12-06 from the PostgreSQL versioning policy');
    expect(outcome.status).toBe('warning');
  });

  it('is critical past the end of life', async () => {
    const outcome = await review('2028-01-10T02:00:00Z');
    const [finding] = titled(outcome, /^PostgreSQL 15 /);
    expect(finding).toMatchObject({ severity: 'critical', title: 'PostgreSQL 15 is past its end of life (2027-11-11): no more security fixes' });
    expect(finding!.action).toContain('PostgreSQL 18');
  });

  it('plans pg_upgrade --check commands that really pass against the live cluster', async () => {
    if (!existsSync(`${DEBIAN_BINDIR}/pg_upgrade`)) return expect.fail(`${DEBIAN_BINDIR}/pg_upgrade is needed (postgresql-15)`);
    const outcome = await review('2026-06-01T02:00:00Z');
    const details = outcome.details as { cluster: ClusterFacts; pgUpgrade: PgUpgradeBinary[] };
    expect(details.cluster).toMatchObject({
      major: '15',
      port: sandbox.postgres.port,
      dataDirectory: sandbox.postgres.dataDir,
      encoding: 'UTF8',
      collate: 'C',
      ctype: 'C',
    });
    expect(details.pgUpgrade).toContainEqual({ major: '15', path: `${DEBIAN_BINDIR}/pg_upgrade`, bindir: DEBIAN_BINDIR });
    // Only the same major is installed here: nothing to plan.
    expect(titled(outcome, /pg_upgrade/)).toEqual([]);

    // The commands the finding would give for an upgrade, with the same major as the "new" one (pg_upgrade
    // accepts it): run as the postgres OS user, they check the live sandbox cluster and clean up after themselves.
    const workDir = join(sandbox.root, 'upgrade-work');
    mkdirSync(workDir);
    chownSync(workDir, statSync(sandbox.postgres.dataDir).uid, statSync(sandbox.postgres.dataDir).gid);
    const checkDir = join(workDir, 'new-cluster');
    const script = checkScript(
      pgUpgradeCheckCommands(details.cluster, DEBIAN_BINDIR, { major: '15', path: `${DEBIAN_BINDIR}/pg_upgrade`, bindir: DEBIAN_BINDIR }, checkDir),
    );
    const result = spawnSync('su', ['postgres', '-s', '/bin/sh', '-c', `${script} && echo removed=$(test -e ${checkDir} && echo no || echo yes)`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.stdout, result.stderr).toContain('*Clusters are compatible*');
    expect(result.stdout).toContain('Performing Consistency Checks on Old Live Server');
    expect(result.stdout).toContain('removed=yes');
    expect(execFileSync('ls', [sandbox.postgres.dataDir], { encoding: 'utf8' })).toContain('PG_VERSION');
  }, 60_000);

  it('fails naming the database when PostgreSQL cannot be reached', async () => {
    await expect(review('2026-06-01T02:00:00Z', { database: { port: 1 } })).rejects.toThrow(/cannot connect to database ner11_db as ner11 at 127\.0\.0\.1:1/);
  });
});
