import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { takeSnapshot } from '../../src/report/snapshot.js';
import { containerEngineAvailable, startComposeProject, startContainerEngine, type ComposeProject, type ContainerEngine } from '../sandbox/container-engine.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { schemaValidator } from '../support/report-fixtures.js';
import { stepHarness } from '../support/step-harness.js';

const available = containerEngineAvailable();

describe.skipIf(!available.ok)(`snapshot of a compose app on Podman behind the docker CLI ${available.reason ?? ''}`, () => {
  let sandbox: Sandbox;
  let engine: ContainerEngine;
  let project: ComposeProject;
  const config = (environment: Record<string, string>) => ({
    services: { manager: 'compose', 'project-dir': project.dir, app: ['api', 'worker'], environment },
    health: { url: `${project.apiUrl}/health`, 'database-url': `${project.apiUrl}/health`, samples: 2 },
  });

  beforeAll(async () => {
    [sandbox, engine] = await Promise.all([startSandbox({ app: false, seedBloat: false }), startContainerEngine()]);
    project = await startComposeProject(engine);
  });
  afterAll(async () => {
    await Promise.all([engine?.stop(), sandbox?.stop()]);
  });

  test('docker space, containers with CPU and memory, and compose service status come from the same one script', async () => {
    const harness = stepHarness(sandbox, { config: config({ ...engine.env, COMPOSE_PROJECT_NAME: project.projectName }) });
    try {
      const snapshot = await takeSnapshot(harness.context(), 'baseline');
      expect(schemaValidator('snapshot')(snapshot)).toEqual([]);
      expect(snapshot.errors).toEqual([]);
      expect(snapshot.roundTrips).toBe(4);
      const docker = snapshot.docker!;
      expect(docker.space.map((row) => row.type)).toEqual(expect.arrayContaining(['Images', 'Containers']));
      expect(docker.space.find((row) => row.type === 'Containers')).toMatchObject({ count: 2, active: 2 });
      expect(docker.totalBytes).toBe(docker.space.reduce((sum, row) => sum + row.sizeBytes, 0));
      const api = docker.containers.find((container) => container.name.includes('_api_'))!;
      expect(api).toMatchObject({ image: engine.busyboxImage, state: 'running' });
      expect(api.status).toMatch(/^Up/);
      // Podman's `docker stats` mangles names; the snapshot joins on ids, so every container has its numbers.
      for (const container of docker.containers) {
        expect(container.cpuPercent, container.name).toBeGreaterThanOrEqual(0);
        expect(container.memoryBytes, container.name).toBeGreaterThan(0);
      }
      expect(snapshot.services).toMatchObject({ manager: 'compose', running: true });
      expect(snapshot.services!.detail).toContain(`${project.projectName}_api_1`);
      expect(snapshot.response).toMatchObject({ ok: 2 });
    } finally {
      await harness.close();
    }
  });

  test('a stopped service reads as not running; a docker daemon out of reach is named when compose runs the app', async () => {
    expect((await project.compose(['stop', 'worker'])).code).toBe(0);
    const harness = stepHarness(sandbox, { config: config({ ...engine.env, COMPOSE_PROJECT_NAME: project.projectName }) });
    try {
      const snapshot = await takeSnapshot(harness.context(), 'post');
      expect(snapshot.services).toMatchObject({ running: false });
      expect(snapshot.docker!.containers.find((container) => container.name.includes('_worker_'))?.state).toMatch(/exited|stopped/);
    } finally {
      await harness.close();
      expect((await project.compose(['start', 'worker'])).code).toBe(0);
    }

    const unreachable = stepHarness(sandbox, { config: config({ DOCKER_HOST: 'unix:///nonexistent/docker.sock', COMPOSE_PROJECT_NAME: project.projectName }) });
    try {
      const snapshot = await takeSnapshot(unreachable.context(), 'post');
      expect(schemaValidator('snapshot')(snapshot)).toEqual([]);
      expect(snapshot.errors.join('\n')).toMatch(/docker system df failed \(exit \d+\): .*nonexistent/);
      expect(snapshot.services?.running).toBe(false);
    } finally {
      await unreachable.close();
    }
  });
});
