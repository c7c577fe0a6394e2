import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  containerEngineAvailable,
  processesMentioning,
  startComposeProject,
  startContainerEngine,
  type ComposeProject,
  type ContainerEngine,
} from './container-engine.js';

const available = containerEngineAvailable();
if (!available.ok) console.warn(`container engine tests skipped: ${available.reason}`);

async function health(url: string): Promise<number | 'refused'> {
  try {
    return (await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return 'refused';
  }
}

describe.skipIf(!available.ok)('container engine sandbox (podman + docker CLI + docker-compose v1)', () => {
  let engine: ContainerEngine;
  let project: ComposeProject;

  beforeAll(async () => {
    let t = performance.now();
    engine = await startContainerEngine();
    const engineMs = performance.now() - t;
    t = performance.now();
    project = await startComposeProject(engine);
    console.info(`startContainerEngine ${engineMs.toFixed(0)} ms, startComposeProject ${(performance.now() - t).toFixed(0)} ms`);
  });

  afterAll(async () => {
    await engine?.stop();
  });

  it('drives podman with the real docker CLI: ps, system df, images', async () => {
    const ps = await engine.docker(['ps', '--format', '{{.Names}}']);
    expect(ps.code).toBe(0);
    expect(ps.stdout).toContain(`${project.projectName}_api_1`);
    const df = await engine.docker(['system', 'df']);
    expect(df.code).toBe(0);
    expect(df.stdout).toMatch(/^Images\s/m);
    const images = await engine.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    expect(images.code).toBe(0);
    expect(images.stdout.split('\n')).toContain(engine.busyboxImage);
  });

  it('envPrelude exports the same environment to a shell', async () => {
    const out = execFileSync('sh', ['-c', `${engine.envPrelude}docker ps -q >/dev/null && echo "$DOCKER_HOST"`], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      encoding: 'utf8',
    });
    expect(out.trim()).toBe(engine.env.DOCKER_HOST);
  });

  it('re-tagging leaves a dangling image that `docker image prune -f` removes', async () => {
    const first = await engine.makeImage('localhost/mw-app:latest', {
      label: 'mw.test=1',
    });
    const second = await engine.makeImage('localhost/mw-app:latest');
    expect(second).not.toBe(first);
    const label = await engine.docker(['image', 'inspect', '--format', '{{index .Config.Labels "mw.test"}}', first]);
    expect(label.stdout.trim()).toBe('1');

    const dangling = async () => (await engine.docker(['images', '-q', '--no-trunc', '-f', 'dangling=true'])).stdout.split('\n').filter(Boolean);
    expect(await dangling()).toContain(first);
    const prune = await engine.docker(['image', 'prune', '-f']);
    expect(prune.code).toBe(0);
    expect(await dangling()).toEqual([]);
    expect((await engine.docker(['image', 'inspect', first])).code).not.toBe(0);
    expect((await engine.docker(['image', 'inspect', second])).code).toBe(0);
  });

  it('compose: api is healthy, `stop api` refuses, `start api` brings it back', async () => {
    expect(await health(project.apiUrl)).toBe(200);

    expect((await project.compose(['stop', 'api'])).code).toBe(0);
    expect(await health(project.apiUrl)).toBe('refused');
    const ps = await project.compose(['ps']);
    expect(ps.stdout).toMatch(new RegExp(`${project.projectName}_api_1\\s.*Exit 0`));
    expect(ps.stdout).toMatch(new RegExp(`${project.projectName}_worker_1\\s.*Up`));

    expect((await project.compose(['start', 'api'])).code).toBe(0);
    let status = await health(project.apiUrl);
    for (let i = 0; i < 50 && status !== 200; i++, status = await health(project.apiUrl)) await sleep(50);
    expect(status).toBe(200);
  });

  it('worker writes consecutive seq=N lines to a growing k8s-file log', async () => {
    const container = `${project.projectName}_worker_1`;
    const logPath = (await engine.docker(['inspect', '--format', '{{.LogPath}}', container])).stdout.trim();
    expect(logPath.startsWith(engine.root)).toBe(true);
    expect(statSync(logPath).isFile()).toBe(true);
    const before = statSync(logPath).size;
    await sleep(400);
    expect(statSync(logPath).size).toBeGreaterThan(before);

    // k8s-file (CRI) format: "<RFC3339Nano> stdout F <line>", not Docker's JSON lines.
    expect(readFileSync(logPath, 'utf8').split('\n')[0]).toMatch(/^\S+ stdout F seq=1$/);
    const logs = await engine.docker(['logs', container]);
    const seqs = [...logs.stdout.matchAll(/^seq=(\d+)$/gm)].map((m) => Number(m[1]));
    expect(seqs.length).toBeGreaterThan(3);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });

  it('down removes the project; stop() leaves no process and no files behind', async () => {
    await project.down();
    expect((await engine.docker(['ps', '-aq'])).stdout.trim()).toBe('');
    // A container started outside compose must be cleaned up by stop() as well.
    expect((await engine.docker(['run', '-d', '--network', 'none', engine.busyboxImage, 'sleep', '1000'])).code).toBe(0);
    expect(processesMentioning(engine.root).length).toBeGreaterThan(0);

    await engine.stop();
    await engine.stop(); // idempotent
    expect(processesMentioning(engine.root)).toEqual([]);
    expect(existsSync(engine.root)).toBe(false);
  });
});
