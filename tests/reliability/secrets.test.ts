import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { actionEnv } from '../support/action-env.js';
import { readCommandFile, requireFreshDist, runDoor } from '../support/fault-dist.js';
import { fakeGitHubApi, keyFragments, leaksIn, leaksOfRun, type Secret } from '../support/fault-secrets.js';

let sandbox: Sandbox;
let api: Awaited<ReturnType<typeof fakeGitHubApi>>;
/** A passphrase-protected key with quotes, a backslash and spaces in its passphrase (escaping must not expose it). */
let privateKey: string;
let passphrase: string;
let keyRuns: string[];
const token = `ghp_${randomBytes(18).toString('hex')}`;

beforeAll(async () => {
  requireFreshDist();
  sandbox = await startSandbox();
  api = await fakeGitHubApi();
  const dir = mkdtempSync(path.join(tmpdir(), 'mw-secrets-'));
  passphrase = `correct "horse" \\ battery ${randomBytes(6).toString('hex')}`;
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'mw-secrets', '-f', path.join(dir, 'id')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'another', '-f', path.join(dir, 'other')]);
  privateKey = readFileSync(path.join(dir, 'id'), 'utf8');
  const publicKey = readFileSync(path.join(dir, 'id.pub'), 'utf8');
  appendFileSync(`${sandbox.root}/ssh/authorized_keys/${sandbox.ssh.username}`, publicKey);
  const notSecret = [publicKey, sandbox.ssh.knownHosts, ...['other', 'other.pub'].map((name) => readFileSync(path.join(dir, name), 'utf8'))].join('\n');
  keyRuns = keyFragments(privateKey, notSecret);
  expect(keyRuns.length).toBeGreaterThan(100);
});
afterAll(async () => {
  await api?.close();
  await sandbox?.stop();
});

async function runAction(inputs: Record<string, string>, config: Record<string, unknown> = {}) {
  const { env, dir } = actionEnv(sandbox, { 'private-key': privateKey, passphrase, 'github-token': token, 'open-issue-on-failure': 'true', ...inputs }, config);
  env.GITHUB_API_URL = api.url;
  const exit = await runDoor('main', env);
  return { exit, env, reportDir: path.join(dir, 'report'), hostStateDir: sandbox.stateDir };
}

const secrets = (overrides: Partial<Record<'passphrase' | 'databasePassword', string>> = {}): Secret[] => [
  { name: 'the passphrase', value: overrides.passphrase ?? passphrase },
  { name: 'the database password', value: overrides.databasePassword ?? sandbox.postgres.password },
  { name: 'the GitHub token', value: token },
];

/** A custom step printing the app's env line that holds the database password (as a careless script would). */
const printsDatabaseUrl = (id: string, extra: Record<string, unknown> = {}, tail = '') => ({
  id,
  run: `grep DATABASE_URL ${sandbox.root}/app.env ${tail}`,
  idempotent: true,
  ...extra,
});

describe('no secret leaks from a run of dist/main/index.js', () => {
  it('a successful weekly window, with a step that prints the database password', async () => {
    const run = await runAction({ 'skip-steps': 'system.security-check' }, { tiers: { weekly: { add: [printsDatabaseUrl('custom.show-url')] } } });
    expect(run.exit.code, run.exit.stdout.slice(-3000)).toBe(0);
    expect(readCommandFile(run.env.GITHUB_OUTPUT!).result).toBe('succeeded');
    // The step really printed it: the product masked what it was given.
    expect(run.exit.stdout).toMatch(/custom\.show-url: succeeded .*DATABASE_URL=.*\*\*\*/);
    expect(leaksOfRun(run, secrets(), keyRuns)).toEqual([]);
  });

  it('a failing window whose step prints the password on stderr, with its failure issue filed', async () => {
    const before = api.requests.length;
    const run = await runAction({ steps: 'custom.fail-url' }, { tiers: { weekly: { add: [printsDatabaseUrl('custom.fail-url', {}, '>&2; exit 3')] } } });
    expect(run.exit.code).toBe(1);
    expect(run.exit.stdout).toMatch(/::error::custom\.fail-url failed on mwroot@127\.0\.0\.1:\d+: custom\.fail-url failed \(exit code 3\)/);
    const requests = api.requests.slice(before);
    const created = requests.find((request) => request.method === 'POST' && request.url.endsWith('/issues'));
    expect(created?.body).toContain('custom.fail-url');
    expect(requests.every((request) => request.authorization?.includes(token))).toBe(true);
    const apiLeaks = requests.flatMap((request) => leaksIn(`${request.method} ${request.url}`, `${request.url}\n${request.body}`, secrets(), keyRuns));
    expect([...leaksOfRun(run, secrets(), keyRuns), ...apiLeaks]).toEqual([]);
  });

  it('a wrong database password: the PostgreSQL error is reported, the password given is not', async () => {
    const wrong = `wr0ng'pass"${randomBytes(6).toString('hex')}`;
    const run = await runAction({ 'database-password': wrong, steps: 'db.vacuum-analyze' });
    expect(run.exit.code).toBe(1);
    expect(run.exit.stdout).toMatch(
      /::error::db\.vacuum-analyze failed on .*: cannot connect to database ner11_db as ner11 .*password authentication failed for user \\?"ner11\\?"/,
    );
    expect(leaksOfRun(run, secrets({ databasePassword: wrong }), keyRuns)).toEqual([]);
  });

  it('a wrong passphrase for the key: the window does not start, and neither passphrase nor key shows', async () => {
    const wrong = `not the "passphrase" ${randomBytes(6).toString('hex')}`;
    const run = await runAction({ passphrase: wrong, steps: 'db.vacuum-analyze', 'connect-timeout': '5s' });
    expect(run.exit.code).toBe(1);
    expect(run.exit.stdout).toMatch(
      /::error::the weekly window on mwroot@127\.0\.0\.1:\d+ did not start: the private key for mwroot@127\.0\.0\.1 is encrypted and the passphrase is missing or wrong/,
    );
    expect(leaksOfRun(run, secrets({ passphrase: wrong }), keyRuns)).toEqual([]);
  });
});
