import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerUpdateImages, restorePreviousImages, ROLLBACK_REPOSITORY } from '../../src/steps/docker/update-images.js';
import type { WindowFacts } from '../../src/steps/step.js';
import { containerEngineAvailable, startContainerEngine, type ContainerEngine } from '../sandbox/container-engine.js';
import { freePort, waitFor } from '../sandbox/ports.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { stepHarness } from '../support/step-harness.js';

const available = containerEngineAvailable();
const APP_IMAGE = 'localhost/app:latest';

function run(command: string, args: string[], env: Record<string, string>, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

describe.skipIf(!available.ok)(`docker.update-images on Podman behind docker-compose v1 ${available.reason ?? ''}`, () => {
  let sandbox: Sandbox;
  let engine: ContainerEngine;
  let dir: string;
  let healthUrl: string;
  const projectName = `mwupd${process.pid}`;
  const compose = (args: string[]) => run('docker-compose', ['-p', projectName, ...args], engine.env, dir);
  const config = (manager = 'compose') => ({
    services: { manager, 'project-dir': dir, app: ['api'], environment: { ...engine.env, COMPOSE_PROJECT_NAME: projectName } },
    health: { url: healthUrl, 'database-url': healthUrl, timeout: '3s' },
  });
  const apiImageId = async () => {
    const result = await compose(['ps', '-q', 'api']);
    const inspect = await engine.docker(['inspect', '--format', '{{.Image}}', result.stdout.trim()]);
    return inspect.stdout.trim();
  };
  /** A release of the app whose api refuses to start: a bad update. */
  const makeBrokenImage = async () => {
    const nonce = await mkdtemp(join(engine.root, 'tmp', 'broken-'));
    await writeFile(join(nonce, 'broken'), 'this release does not start\n');
    const tar = join(nonce, 'image.tar');
    const packed = await run('tar', ['-cf', tar, '-C', join(engine.root, 'busybox-rootfs'), '.', '-C', nonce, 'broken'], {});
    expect(packed.code, packed.stderr).toBe(0);
    const imported = await engine.podman(['import', '-q', tar, APP_IMAGE]);
    expect(imported.code, imported.stderr).toBe(0);
    await rm(nonce, { recursive: true, force: true });
    return imported.stdout.trim().split('\n').pop()!;
  };

  beforeAll(async () => {
    [sandbox, engine] = await Promise.all([startSandbox({ app: false, seedBloat: false }), startContainerEngine()]);
    dir = join(engine.root, 'app');
    await mkdir(dir);
    const port = await freePort();
    healthUrl = `http://127.0.0.1:${port}/health`;
    const api = `if [ -f /broken ]; then echo broken release; exit 1; fi; echo ok > /www/health; trap 'kill $$p; exit 0' TERM; httpd -f -p 127.0.0.1:${port} -h /www & p=$$!; wait $$p`;
    // `tool` is defined but never started, and its image exists nowhere: its pull fails and must not stop the update.
    await writeFile(
      join(dir, 'docker-compose.yml'),
      `version: "2.4"\nservices:\n  api:\n    image: ${APP_IMAGE}\n    network_mode: host\n    stop_grace_period: 2s\n    command: ${JSON.stringify(['/bin/sh', '-c', api])}\n  tool:\n    image: localhost/mw-never-built:1\n    network_mode: host\n`,
    );
    await engine.makeImage(APP_IMAGE);
    const up = await compose(['up', '-d', 'api']);
    expect(up.code, up.stderr).toBe(0);
    await waitFor(healthUrl, () => healthy(healthUrl), 15_000);
  });
  afterAll(async () => {
    await Promise.all([engine?.stop(), sandbox?.stop()]);
  });

  // Each update runs about ten docker / compose commands (compose v1 on Podman: about a second each here).
  it('records the previous image ids first, recreates the api on the new image and waits until it is healthy', { timeout: 150_000 }, async () => {
    const before = await apiImageId();
    const updated = await engine.makeImage(APP_IMAGE); // a new build behind the same tag: the "update"
    const harness = stepHarness(sandbox, { config: config() });
    try {
      const outcome = await harness.run(dockerUpdateImages(harness.config));
      // Both images are only known on this host: the pulls fail, are reported per image and tolerated.
      expect(outcome.status, outcome.summary).toBe('warning');
      expect(outcome.summary).toBe('updated api to new images and the app is healthy');
      expect(outcome.metrics).toMatchObject({ servicesUpdated: 1, pullFailures: 2 });
      expect(outcome.findings!.map((finding) => finding.title).sort()).toEqual([
        `could not pull ${APP_IMAGE} (service api)`,
        'could not pull localhost/mw-never-built:1 (service tool)',
      ]);
      expect(harness.facts.previousImages).toEqual({ api: before });
      expect(harness.facts.imageRollback).toEqual({ refs: { api: APP_IMAGE }, recreate: ['api'] });
      expect(await apiImageId()).toBe(updated);
      expect(await healthy(healthUrl)).toBe(true);
      const rollbackTag = await engine.docker(['image', 'inspect', '--format', '{{.Id}}', `${ROLLBACK_REPOSITORY}:api`]);
      expect(rollbackTag.stdout.trim()).toBe(before);

      // A journal holding only the image ids (no references): the rollback takes the containers' own.
      const restored = await restorePreviousImages({ ...harness.context(), facts: { previousImages: { api: before } } });
      expect(restored.status, restored.summary).toBe('succeeded');
      expect(await apiImageId()).toBe(before);
    } finally {
      await harness.close();
    }
  });

  it(
    'fails when the app is unhealthy on the new image; a re-run keeps the first rollback point; the rollback restores the previous image',
    { timeout: 150_000 },
    async () => {
      expect((await compose(['up', '-d', 'api'])).code).toBe(0);
      await waitFor(healthUrl, () => healthy(healthUrl), 15_000);
      const good = await apiImageId();
      const broken = await makeBrokenImage();
      const facts: WindowFacts = {};
      const harness = stepHarness(sandbox, { config: config(), facts });
      try {
        const outcome = await harness.run(dockerUpdateImages(harness.config));
        expect(outcome.status).toBe('failed');
        expect(outcome.summary).toMatch(/^the app is not healthy after recreating api with new images: /);
        expect(facts.previousImages).toEqual({ api: good });
        expect(await healthy(healthUrl)).toBe(false);

        // Resumed after the failure: the images running now are the broken ones; the rollback point stays.
        const again = await harness.run(dockerUpdateImages(harness.config));
        expect(again.status).toBe('failed');
        expect((again.details as { recreated: string[] }).recreated).toEqual(['api']);
        expect(facts.previousImages).toEqual({ api: good });

        const restored = await restorePreviousImages(harness.context());
        expect(restored.status, restored.summary).toBe('succeeded');
        expect(await apiImageId()).toBe(good);
        expect(await healthy(healthUrl)).toBe(true);
        const tagged = await engine.docker(['image', 'inspect', '--format', '{{.Id}}', APP_IMAGE]);
        expect(tagged.stdout.trim()).toBe(good);
        expect(broken).not.toBe(good);
      } finally {
        await harness.close();
      }
    },
  );

  it('rollback without a recorded rollback point is skipped', async () => {
    const harness = stepHarness(sandbox, { config: config() });
    try {
      expect((await restorePreviousImages(harness.context())).status).toBe('skipped');
    } finally {
      await harness.close();
    }
  });

  it('is skipped when the services are not managed by compose, and when the compose project has no containers', async () => {
    const harness = stepHarness(sandbox, { config: config('none') });
    try {
      const outcome = await harness.run(dockerUpdateImages(harness.config));
      expect(outcome).toMatchObject({ status: 'skipped', summary: 'image updates need services.manager compose (it is none)' });
    } finally {
      await harness.close();
    }
    const other = stepHarness(sandbox, {
      config: { ...config(), services: { ...config().services, environment: { ...engine.env, COMPOSE_PROJECT_NAME: 'mwnosuchproject' } } },
    });
    try {
      const outcome = await other.run(dockerUpdateImages(other.config));
      expect(outcome.status).toBe('skipped');
      expect(outcome.summary).toContain('no containers of the compose project');
      expect(other.facts.previousImages).toBeUndefined();
    } finally {
      await other.close();
    }
  });
});
