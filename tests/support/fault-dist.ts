import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUNDLE = path.join(ROOT, 'dist/bundle/index.js');

function newestSource(dir: string): { file: string; mtimeMs: number } {
  let newest = { file: dir, mtimeMs: 0 };
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, name.name);
    const candidate = name.isDirectory() ? newestSource(file) : { file, mtimeMs: statSync(file).mtimeMs };
    if (candidate.mtimeMs > newest.mtimeMs) newest = candidate;
  }
  return newest;
}

/** The dist doors must exist and be built from the current src/, or the test would judge old code. */
export function requireFreshDist(): void {
  for (const door of ['main', 'post']) {
    if (!existsSync(path.join(ROOT, `dist/${door}/index.js`))) throw new Error(`dist/${door}/index.js is missing: run npm run package first`);
  }
  const source = newestSource(path.join(ROOT, 'src'));
  const built = statSync(BUNDLE).mtimeMs;
  if (source.mtimeMs > built) {
    throw new Error(`dist/bundle/index.js (${new Date(built).toISOString()}) is older than ${path.relative(ROOT, source.file)}: run npm run package first`);
  }
}

export interface DoorExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface DoorProcess {
  pid: number;
  /** Output so far. */
  output(): string;
  kill(signal: NodeJS.Signals): void;
  exited: Promise<DoorExit>;
}

/** Starts `node dist/<door>/index.js` as the GitHub runner would, with the given environment. */
export function startDoor(door: 'main' | 'post', env: NodeJS.ProcessEnv, timeoutMs = 120_000): DoorProcess {
  const child = spawn(process.execPath, [path.join(ROOT, `dist/${door}/index.js`)], { env, cwd: env.GITHUB_WORKSPACE, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<DoorExit>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { pid: child.pid!, output: () => stdout + stderr, kill: (signal) => child.kill(signal), exited };
}

export function runDoor(door: 'main' | 'post', env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<DoorExit> {
  return startDoor(door, env, timeoutMs).exited;
}

/**
 * Reads a GITHUB_OUTPUT / GITHUB_STATE file: `name<<delimiter` blocks (what @actions/core writes) or `name=value`
 * lines. A later value of a name wins, as on the runner.
 */
export function readCommandFile(file: string): Record<string, string> {
  const lines = readFileSync(file, 'utf8').split('\n');
  const values: Record<string, string> = {};
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2], index + 1);
      if (end < 0) throw new Error(`${file}: no closing delimiter for ${heredoc[1]}`);
      values[heredoc[1]] = lines.slice(index + 1, end).join('\n');
      index = end;
    } else if (line.includes('=')) {
      values[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return values;
}

/** The post step's environment: the runner turns main's GITHUB_STATE lines into STATE_<name> variables. */
export function postEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const state = readCommandFile(env.GITHUB_STATE!);
  return { ...env, ...Object.fromEntries(Object.entries(state).map(([name, value]) => [`STATE_${name}`, value])) };
}

/** Output lines without `::add-mask::` commands (GitHub consumes those; they are not in the log). */
export function withoutMaskCommands(output: string): string {
  return output
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
}

/** The environment of a re-run of the same workflow run: same run id, next attempt, fresh command files. */
export function rerunEnv(env: NodeJS.ProcessEnv, attempt: number): NodeJS.ProcessEnv {
  const files = Object.fromEntries(
    ['GITHUB_STATE', 'GITHUB_OUTPUT', 'GITHUB_STEP_SUMMARY'].map((name) => {
      const file = `${env[name]}.attempt-${attempt}`;
      writeFileSync(file, '');
      return [name, file];
    }),
  );
  return { ...env, ...files, GITHUB_RUN_ATTEMPT: String(attempt) };
}

/**
 * The GitHub runner's environment for a host that is not a sandbox (e.g. a listener counting connections):
 * INPUT_* from `inputs`, fresh command files in a new workspace. The config file is written only when given.
 */
export function bareActionEnv(inputs: Record<string, string>, configYaml?: string): { env: NodeJS.ProcessEnv; dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'mw-action-'));
  for (const name of ['summary.md', 'output', 'state', 'env']) writeFileSync(path.join(dir, name), '');
  const all = { ...inputs };
  if (configYaml !== undefined) {
    all.config = path.join(dir, 'maintenance.yml');
    writeFileSync(all.config, configYaml);
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_WORKSPACE: dir,
    GITHUB_STEP_SUMMARY: path.join(dir, 'summary.md'),
    GITHUB_OUTPUT: path.join(dir, 'output'),
    GITHUB_STATE: path.join(dir, 'state'),
    GITHUB_ENV: path.join(dir, 'env'),
    GITHUB_REPOSITORY: 'demo/ner11',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SERVER_URL: 'https://github.com',
  };
  for (const [name, value] of Object.entries(all)) env[`INPUT_${name.toUpperCase()}`] = value;
  return { env, dir };
}
