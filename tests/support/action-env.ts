import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Sandbox } from '../sandbox/sandbox.js';
import { sandboxConfigYaml } from './sandbox-config.js';

/** The environment a GitHub runner gives the action (INPUT_*, GITHUB_* files), pointed at a sandbox. */
export function actionEnv(
  sandbox: Sandbox,
  inputs: Record<string, string> = {},
  config: Record<string, unknown> = {},
): { env: NodeJS.ProcessEnv; dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'mw-action-'));
  const configFile = path.join(dir, 'maintenance.yml');
  writeFileSync(configFile, sandboxConfigYaml(sandbox, config));
  for (const name of ['summary.md', 'output', 'state', 'env']) writeFileSync(path.join(dir, name), '');
  const all: Record<string, string> = {
    host: sandbox.ssh.host,
    port: String(sandbox.ssh.port),
    username: sandbox.ssh.username,
    'private-key': sandbox.ssh.privateKey,
    'known-hosts': sandbox.ssh.knownHosts,
    'database-password': sandbox.postgres.password,
    config: configFile,
    'report-dir': path.join(dir, 'report'),
    tier: 'weekly',
    ...inputs,
  };
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_WORKSPACE: dir,
    GITHUB_STEP_SUMMARY: path.join(dir, 'summary.md'),
    GITHUB_OUTPUT: path.join(dir, 'output'),
    GITHUB_STATE: path.join(dir, 'state'),
    GITHUB_ENV: path.join(dir, 'env'),
    GITHUB_REPOSITORY: 'demo/ner11',
    GITHUB_RUN_ID: String(Date.now()),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SERVER_URL: 'https://github.com',
  };
  for (const [name, value] of Object.entries(all)) env[`INPUT_${name.toUpperCase()}`] = value;
  return { env, dir };
}
