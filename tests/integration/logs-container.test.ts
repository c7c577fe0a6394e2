import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readSync, closeSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logsRotate, type ContainerLogReport } from '../../src/steps/logs/logs-rotate.js';
import { containerEngineAvailable, startContainerEngine, type ContainerEngine } from '../sandbox/container-engine.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { stepHarness } from '../support/step-harness.js';
import { sequenceReport } from './logs-sequence.js';

const available = containerEngineAvailable();
const BLOCK = statSync('/tmp').blksize;

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

/** True once some block boundary of the file ends a line (the only places a line-safe cut can be made). */
function hasLineEndAtBlockBoundary(file: string): boolean {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  try {
    const byte = Buffer.alloc(1);
    for (let end = Math.floor(size / BLOCK) * BLOCK; end > 0; end -= BLOCK) {
      readSync(fd, byte, 0, 1, end - 1);
      if (byte[0] === 0x0a) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Lines of a k8s-file / json-file container log, reduced to what the container printed. */
function printed(text: string): string[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => (line.startsWith('{') ? (JSON.parse(line) as { log: string }).log.trimEnd() : line.replace(/^\S+ (stdout|stderr) [PF] /, '')));
}

describe.skipIf(!available.ok)(`logs.rotate on a running container's log ${available.reason ?? ''}`, () => {
  let sandbox: Sandbox;
  let engine: ContainerEngine;
  let dir: string;
  const project = `mwlogs${process.pid}`;
  const compose = (args: string[]) => run('docker-compose', ['-p', project, ...args], engine.env, dir);
  const logPath = async () => {
    const id = (await compose(['ps', '-q', 'worker'])).stdout.trim();
    return { id, path: (await engine.docker(['inspect', '--format', '{{.LogPath}}', id])).stdout.trim() };
  };

  beforeAll(async () => {
    [sandbox, engine] = await Promise.all([startSandbox({ app: false, seedBloat: false }), startContainerEngine()]);
    dir = join(engine.root, 'logs-project');
    mkdirSync(join(dir, 'applogs'), { recursive: true });
    // The worker prints numbered lines in bursts of ten, about a thousand a second, for as long as it runs.
    const worker = `trap 'exit 0' TERM; i=0; while :; do for j in 1 2 3 4 5 6 7 8 9 10; do i=$$((i+1)); echo "seq=$$i"; done; usleep 5000; done`;
    writeFileSync(
      join(dir, 'docker-compose.yml'),
      `version: "2.4"\nservices:\n  worker:\n    image: ${engine.busyboxImage}\n    network_mode: host\n    stop_grace_period: 5s\n    command: ${JSON.stringify(['/bin/sh', '-c', worker])}\n`,
    );
  });
  afterAll(async () => {
    await Promise.all([engine?.stop(), sandbox?.stop()]);
  });

  it('moves the head of the live worker log into an archive: archive + log hold every line exactly once, and the engine still reads its log', async () => {
    expect((await compose(['up', '-d', 'worker'])).code).toBe(0);
    const { id, path } = await logPath();
    for (let waited = 0; !hasLineEndAtBlockBoundary(path); waited += 100) {
      expect(waited, 'the worker log never had a line end at a block boundary').toBeLessThan(20_000);
      await sleep(100);
    }
    const harness = stepHarness(sandbox, {
      config: {
        services: { manager: 'compose', 'project-dir': dir, app: ['worker'], environment: { ...engine.env, COMPOSE_PROJECT_NAME: project } },
        logs: { dirs: [join(dir, 'applogs')], 'archive-dir': join(dir, 'archive'), 'container-log-max': '4K' },
      },
    });
    let outcome;
    try {
      outcome = await harness.run(logsRotate(harness.config));
    } finally {
      await harness.close();
    }
    await sleep(500); // it keeps writing after the rotation
    expect((await compose(['stop', 'worker'])).code).toBe(0);

    expect(outcome.status, outcome.summary).toBe('succeeded');
    expect(outcome.metrics!.containerLogsRotated).toBe(1);
    const rotation = (outcome.details as { containerLogs: ContainerLogReport }).containerLogs.rotations[0]!;
    expect(rotation).toMatchObject({ path, status: 'rotated' });
    expect(rotation.archivePath).toMatch(new RegExp(`/archive/containers/${project}_worker_1-\\d{8}T\\d{6}Z\\.log\\.gz$`));
    expect(outcome.findings).toContainEqual(expect.objectContaining({ severity: 'info', title: `container ${project}_worker_1 has no log size limit` }));

    const archived = gunzipSync(readFileSync(rotation.archivePath)).toString();
    const current = readFileSync(path, 'utf8');
    const report = sequenceReport([...printed(archived), ...printed(current)]);
    expect(report.max).toBeGreaterThan(100);
    expect(report).toEqual({ max: report.max, missing: 0, duplicates: 0, malformed: 0 });
    expect(archived.length).toBe(rotation.archivedBytes);
    // The engine parses the shortened log from its new first line.
    const logs = await engine.docker(['logs', id]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout.split('\n')[0]).toMatch(/^seq=\d+$/);
  });

  it("the runbook's cp + truncate of the same live container log loses lines", async () => {
    expect((await compose(['up', '-d', '--force-recreate', 'worker'])).code).toBe(0);
    const { path } = await logPath();
    const copies: string[] = [];
    // Each cp + truncate loses whatever the worker printed between the two; a burst lands there often but not
    // always, so rotate until one rotation visibly lost lines (the log restarts past the copy's last line).
    let lostAt: number | undefined;
    for (let attempt = 0; attempt < 40 && lostAt === undefined; attempt++) {
      await sleep(100);
      const copy = `${path}.${attempt}`;
      const result = await run('sh', ['-c', 'cp "$1" "$2"; truncate -s 0 "$1"', 'sh', path, copy], {});
      expect(result.code, result.stderr).toBe(0);
      copies.push(copy);
      let first: string | undefined;
      while (!(first = printed(readFileSync(path, 'utf8'))[0])) await sleep(5);
      const lastCopied = Number(printed(readFileSync(copy, 'utf8')).at(-1)?.slice(4) ?? 0);
      if (Number(first.slice(4)) > lastCopied + 1) lostAt = attempt;
    }
    expect(lostAt, 'no cp + truncate lost a line in 40 rotations').toBeDefined();
    await sleep(250);
    expect((await compose(['stop', 'worker'])).code).toBe(0);
    const lines = [...copies.flatMap((copy) => printed(readFileSync(copy, 'utf8'))), ...printed(readFileSync(path, 'utf8'))];
    const report = sequenceReport(lines);
    expect(report.max).toBeGreaterThan(100);
    expect(report.missing).toBeGreaterThan(0);
  });
});
