import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { actionEnv } from '../support/action-env.js';
import { readCommandFile } from '../support/action-outputs.js';

// action.yml declares node24. MW_NODE24 names a Node.js 24 binary (.ci/run fetches one with scripts/fetch-node24.sh).
const NODE24 = process.env.MW_NODE24;

describe.skipIf(!NODE24)('dist/ on Node.js 24 (set MW_NODE24 to a node 24 binary to run)', { timeout: 300_000 }, () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('is really Node.js 24', () => {
    expect(spawnSync(NODE24!, ['--version'], { encoding: 'utf8' }).stdout).toMatch(/^v24\./);
  });

  it('runs the weekly window through dist/main over SSH without ssh2 native addons', () => {
    const { env, dir } = actionEnv(sandbox, { tier: 'weekly', 'window-id': 'node24-weekly' });
    const run = spawnSync(NODE24!, [path.resolve('dist/main/index.js')], { env, encoding: 'utf8', timeout: 240_000 });
    expect(run.status, run.stdout.slice(-3000) + run.stderr).toBe(0);
    expect(readCommandFile(path.join(dir, 'output')).result).toBe('succeeded');
    expect(JSON.parse(readFileSync(`${sandbox.stateDir}/windows/node24-weekly.json`, 'utf8')).status).toBe('succeeded');
  });

  it('runs the post step and the CLI', () => {
    const { env } = actionEnv(sandbox);
    const post = spawnSync(NODE24!, [path.resolve('dist/post/index.js')], { env, encoding: 'utf8' });
    expect(post.status, post.stderr).toBe(0);
    const plan = spawnSync(NODE24!, [path.resolve('dist/cli/index.js'), 'plan', '--tier', 'monthly', '--format', 'json'], { encoding: 'utf8' });
    expect(plan.status, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout).tier).toBe('monthly');
  });
});
