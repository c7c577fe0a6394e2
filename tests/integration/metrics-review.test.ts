import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsReview, type MetricsSample } from '../../src/steps/capacity/metrics-review.js';
import { containerEngineAvailable, startComposeProject, startContainerEngine, type ComposeProject, type ContainerEngine } from '../sandbox/container-engine.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { stepHarness } from '../support/step-harness.js';

const engineAvailable = containerEngineAvailable();

describe('metrics.review against the sandbox database (and Podman when available)', () => {
  let sandbox: Sandbox;
  let engine: ContainerEngine | undefined;
  let project: ComposeProject | undefined;
  const review = async () => {
    const services =
      engine && project
        ? { manager: 'compose', 'project-dir': project.dir, environment: { ...engine.env, COMPOSE_PROJECT_NAME: project.projectName } }
        : { manager: 'none' };
    const harness = stepHarness(sandbox, { config: { services } });
    try {
      return await harness.run(metricsReview(harness.config));
    } finally {
      await harness.close();
    }
  };

  beforeAll(async () => {
    [sandbox, engine] = await Promise.all([startSandbox({ app: false }), engineAvailable.ok ? startContainerEngine() : undefined]);
    if (engine) project = await startComposeProject(engine);
  });
  afterAll(async () => {
    await Promise.all([engine?.stop(), sandbox?.stop()]);
  });

  it('reports connections by state (an idle-in-transaction session included), the cache hit ratio and container resources', async () => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: sandbox.postgres.port,
      database: sandbox.postgres.database,
      user: sandbox.postgres.user,
      password: sandbox.postgres.password,
    });
    await client.connect();
    try {
      await client.query('begin');
      await client.query('select count(*) from vendor_equipment');
      const outcome = await review();
      const details = outcome.details as MetricsSample & { notes: string[] };
      expect(details.connections.byState['idle in transaction']).toBeGreaterThanOrEqual(1);
      expect(outcome.metrics!['connections:idle in transaction']).toBeGreaterThanOrEqual(1);
      expect(outcome.metrics!.maxConnections).toBe(Number(await sandbox.psql('show max_connections')));
      // The ratio the step read, checked against one read by psql right after (it only moves by a little).
      const [hit, read] = (await sandbox.psql("select blks_hit || ' ' || blks_read from pg_stat_database where datname = 'ner11_db'"))
        .trim()
        .split(' ')
        .map(Number);
      expect(outcome.metrics!.cacheHitRatio).toBeCloseTo(hit! / (hit! + read!), 2);
      const lowRatio = outcome.metrics!.cacheHitRatio! < 0.99;
      expect(outcome.findings!.some((finding) => finding.title.startsWith('cache hit ratio'))).toBe(lowRatio);
      expect(outcome.status).toBe(lowRatio ? 'warning' : 'succeeded');
      expect(details.notes).toContain(
        'pg_stat_statements is not installed in this database: no per-statement timings (CREATE EXTENSION pg_stat_statements, with it in shared_preload_libraries)',
      );
      if (project) {
        expect(details.containers!.length).toBe(2);
        expect(details.containers!.every((container) => container.memoryBytes! > 0)).toBe(true);
        expect(outcome.summary).toContain('2 container(s) sampled');
      }
    } finally {
      await client.query('rollback');
      await client.end();
    }
  });

  it('says when pg_stat_statements is installed but not loaded, and lists the slowest statements once it is', { timeout: 120_000 }, async () => {
    await sandbox.psql('create extension if not exists pg_stat_statements', 'ner11_db');
    const unloaded = await review();
    expect((unloaded.details as { notes: string[] }).notes.find((note) => note.startsWith('pg_stat_statements'))).toMatch(
      /^pg_stat_statements [\d.]+ is installed but cannot be read: .*shared_preload_libraries/,
    );

    await sandbox.psql("alter system set shared_preload_libraries = 'pg_stat_statements'");
    await sandbox.restartPostgres();
    const client = new pg.Client({
      host: '127.0.0.1',
      port: sandbox.postgres.port,
      database: sandbox.postgres.database,
      user: sandbox.postgres.user,
      password: sandbox.postgres.password,
    });
    await client.connect();
    await client.query('select pg_sleep(0.4), count(*) from vendor_equipment').finally(() => client.end());
    await sandbox.psql('select pg_sleep(0.2)', 'ner11_db'); // by the superuser: its text is hidden from ner11
    const loaded = await review();
    const slow = (loaded.details as MetricsSample).slowQueries!;
    expect(slow[0]!.query).toMatch(/^select pg_sleep\(\$1\), count\(\*\) from vendor_equipment$/);
    expect(slow[0]!.meanMs).toBeGreaterThanOrEqual(400);
    expect(slow[1]).toMatchObject({ query: '<insufficient privilege>' });
    expect((loaded.details as { notes: string[] }).notes).toContain(
      '1 statement text(s) of other roles are hidden from ner11: GRANT pg_read_all_stats TO ner11 to see them',
    );
    expect(loaded.metrics!.slowestMeanMs).toBe(slow[0]!.meanMs);
    expect(loaded.summary).toContain('slowest statement(s) listed');
  });

  it('says when no container engine answers, and fails naming the database when it is down', async () => {
    const harness = stepHarness(sandbox, { config: { services: { manager: 'none', environment: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } } } });
    try {
      const outcome = await harness.run(metricsReview(harness.config));
      expect((outcome.details as { notes: string[] }).notes[0]).toMatch(
        /^docker stats failed \(exit code 1: Cannot connect to the Docker daemon.*\): container resources not sampled$/,
      );
      await sandbox.stopPostgres();
      const fresh = stepHarness(sandbox);
      await expect(fresh.run(metricsReview(fresh.config)))
        .rejects.toThrow(/cannot connect to database ner11_db as ner11 at 127.0.0.1:\d+/)
        .finally(() => fresh.close());
    } finally {
      await sandbox.startPostgres();
      await harness.close();
    }
  });
});
