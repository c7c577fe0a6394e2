import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCleanup } from '../../src/steps/docker/docker-cleanup.js';
import { containerEngineAvailable, startComposeProject, startContainerEngine, type ComposeProject, type ContainerEngine } from '../sandbox/container-engine.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { stepHarness } from '../support/step-harness.js';

const available = containerEngineAvailable();

/** Loads an image whose config says it was created at `created` (podman import always says "now"). */
async function loadImage(engine: ContainerEngine, created: string, tags: string[] = []): Promise<string> {
  const dir = mkdtempSync(join(engine.root, 'tmp', 'archive-'));
  writeFileSync(join(dir, 'nonce'), randomUUID());
  execFileSync('tar', ['-cf', join(dir, 'layer.tar'), '-C', dir, 'nonce']);
  const diffId = `sha256:${createHash('sha256')
    .update(readFileSync(join(dir, 'layer.tar')))
    .digest('hex')}`;
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created,
    config: {},
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created }],
  });
  writeFileSync(join(dir, 'config.json'), config);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: tags, Layers: ['layer.tar'] }]));
  execFileSync('tar', ['-cf', join(dir, 'image.tar'), '-C', dir, 'manifest.json', 'config.json', 'layer.tar']);
  const loaded = await engine.docker(['load', '-i', join(dir, 'image.tar')]);
  expect(loaded.code, loaded.stderr).toBe(0);
  return `sha256:${createHash('sha256').update(config).digest('hex')}`;
}

async function dockerLines(engine: ContainerEngine, args: string[]): Promise<string[]> {
  const result = await engine.docker(args);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.split('\n').filter(Boolean);
}

describe.skipIf(!available.ok)(`docker.cleanup on Podman behind the docker CLI ${available.reason ?? ''}`, () => {
  let sandbox: Sandbox;
  let engine: ContainerEngine;
  let project: ComposeProject;
  const composeConfig = (environment: Record<string, string> = {}, manager = 'compose') => ({
    services: {
      manager,
      'project-dir': project.dir,
      'compose-file': join(project.dir, 'docker-compose.yml'),
      app: ['api'],
      environment: { ...engine.env, COMPOSE_PROJECT_NAME: project.projectName, ...environment },
    },
  });

  beforeAll(async () => {
    [sandbox, engine] = await Promise.all([startSandbox({ app: false, seedBloat: false }), startContainerEngine()]);
    project = await startComposeProject(engine);
  });
  afterAll(async () => {
    await Promise.all([engine?.stop(), sandbox?.stop()]);
  });

  it('prunes old dangling images, one-off stopped containers and unused networks; keeps the compose project stopped containers', async () => {
    expect((await project.compose(['stop', 'worker'])).code).toBe(0);
    expect((await engine.docker(['run', '--name', 'mw-oneoff', engine.busyboxImage, 'true'])).code).toBe(0);
    expect((await engine.docker(['network', 'create', 'mw-unused'])).code).toBe(0);
    const oldDangling = await loadImage(engine, '2020-01-01T00:00:00Z');
    await loadImage(engine, new Date().toISOString(), ['localhost/fresh:1']);
    const freshDangling = await loadImage(engine, new Date().toISOString(), ['localhost/fresh:1']); // untags the first
    const oldTagged = await loadImage(engine, '2020-01-02T00:00:00Z', ['localhost/old-but-tagged:1']);

    const harness = stepHarness(sandbox, { config: composeConfig() });
    try {
      const outcome = await harness.run(dockerCleanup(harness.config));
      expect(outcome.status, outcome.summary).toBe('succeeded');
      expect(outcome.metrics).toMatchObject({ containersRemoved: 1, imagesRemoved: 1, networksRemoved: 1, containersKept: 1 });
      expect(outcome.metrics!.reclaimedBytes).toBeGreaterThan(0);
      expect(outcome.summary).toContain('removed 1 dangling image(s) older than 7 days, 1 stopped container(s), 1 unused network(s)');
      const details = outcome.details as { notes: string[]; prunes: Record<string, { ok: boolean }> };
      expect(details.notes[0]).toContain(`kept 1 stopped container(s) of compose project(s) ${project.projectName}`);
      // Podman serves no BuildKit cache API: tolerated and said.
      expect(details.prunes.buildCache!.ok).toBe(false);
      expect(details.notes[1]).toMatch(/^build cache not pruned: the engine does not support it/);
    } finally {
      await harness.close();
    }

    const containers = await dockerLines(engine, ['ps', '-a', '--format', '{{.Names}}']);
    expect(containers).not.toContain('mw-oneoff');
    expect(containers).toContain(`${project.projectName}_worker_1`);
    const images = await dockerLines(engine, ['images', '-a', '--no-trunc', '--format', '{{.ID}}']);
    expect(images).not.toContain(oldDangling);
    expect(images).toContain(freshDangling);
    expect(images).toContain(oldTagged);
    expect(await dockerLines(engine, ['network', 'ls', '--format', '{{.Name}}'])).not.toContain('mw-unused');
    // The kept service can be started again as it was.
    const started = await project.compose(['start', 'worker']);
    expect(started.code, started.stderr).toBe(0);
  });

  it('removes nothing more on a second run', async () => {
    const harness = stepHarness(sandbox, { config: composeConfig() });
    try {
      const outcome = await harness.run(dockerCleanup(harness.config));
      expect(outcome.status).toBe('succeeded');
      expect(outcome.metrics).toMatchObject({ containersRemoved: 0, imagesRemoved: 0, networksRemoved: 0 });
    } finally {
      await harness.close();
    }
  });

  it('is skipped with the reason when the docker CLI is not installed', async () => {
    const harness = stepHarness(sandbox, { config: composeConfig({ PATH: '/nonexistent-mw-bin' }) });
    try {
      const outcome = await harness.run(dockerCleanup(harness.config));
      expect(outcome.status).toBe('skipped');
      expect(outcome.summary).toContain('the docker CLI is not installed');
    } finally {
      await harness.close();
    }
  });

  it('fails naming the engine error when the app runs on compose and the engine does not answer; skipped otherwise', async () => {
    const gone = { DOCKER_HOST: `unix://${join(engine.root, 'no-such.sock')}` };
    for (const [manager, status] of [
      ['compose', 'failed'],
      ['none', 'skipped'],
    ] as const) {
      const harness = stepHarness(sandbox, { config: composeConfig(gone, manager) });
      try {
        const outcome = await harness.run(dockerCleanup(harness.config));
        expect(outcome.status).toBe(status);
        expect(outcome.summary).toMatch(/the container engine does not answer .*Cannot connect to the Docker daemon/);
      } finally {
        await harness.close();
      }
    }
  });
});
