import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { bareActionEnv, readCommandFile, requireFreshDist, runDoor } from '../support/fault-dist.js';

let keys: string;
let key: { privateKey: string; type: string; blob: string };

beforeAll(() => {
  requireFreshDist();
  keys = mkdtempSync(path.join(tmpdir(), 'mw-bad-input-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keys, 'id')]);
  const [type, blob] = readFileSync(path.join(keys, 'id.pub'), 'utf8').split(' ');
  key = { privateKey: readFileSync(path.join(keys, 'id'), 'utf8'), type, blob };
});
afterAll(() => {
  if (keys) rmSync(keys, { recursive: true, force: true });
});

/** A listener standing in for the host: it counts every TCP connection that reaches it, and hangs up. */
async function countingListener(): Promise<{ port: number; connections(): number; close(): Promise<void> }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Inputs that would log in to the listener, were they all valid. */
function validInputs(port: number): Record<string, string> {
  return {
    host: '127.0.0.1',
    port: String(port),
    username: 'mwroot',
    'private-key': key.privateKey,
    'known-hosts': `[127.0.0.1]:${port} ${key.type} ${key.blob}`,
    'connect-timeout': '2s',
    steps: 'db.vacuum-analyze',
  };
}

/** Runs dist/main against a fresh listener; the workspace is removed afterwards. */
async function runAgainstListener(inputs: Record<string, string>, configYaml?: string) {
  const listener = await countingListener();
  const { env, dir } = bareActionEnv({ ...validInputs(listener.port), ...inputs }, configYaml);
  try {
    const result = await runDoor('main', env, 30_000);
    return { ...result, port: listener.port, connections: listener.connections(), outputs: readCommandFile(env.GITHUB_OUTPUT!) };
  } finally {
    await listener.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const pwned = path.join(tmpdir(), `mw-pwned-${process.pid}`);

describe('bad input through dist/main/index.js: named, and refused before anything connects', () => {
  const cases: [string, Record<string, string>, string | undefined, RegExp][] = [
    ['an unknown tier', { tier: 'hourly' }, undefined, /Input 'tier' has an invalid value "hourly": expected one of weekly, monthly, quarterly\./],
    [
      'a host with a shell command',
      { host: '127.0.0.1; rm -rf /' },
      undefined,
      /Input 'host' has an invalid value "127\.0\.0\.1; rm -rf \/": expected a host name or an IP address/,
    ],
    ['a host with command substitution', { host: `$(touch ${pwned})` }, undefined, /Input 'host' has an invalid value "\$\(touch .*mw-pwned-\d+\)"/],
    [
      'a fingerprint in the wrong format',
      { 'host-fingerprint': 'MD5:de:ad:be:ef' },
      undefined,
      /Input 'host-fingerprint' has an invalid value "MD5:de:ad:be:ef": expected 'SHA256:' and 43 base64 characters/,
    ],
    ['a port with a command', { port: '22;id' }, undefined, /Input 'port' has an invalid value "22;id": expected a TCP port from 1 to 65535\./],
    ['a user name with backticks', { username: 'root`id`' }, undefined, /Input 'username' has an invalid value "root`id`"/],
    ['a step list with a command', { steps: 'db.vacuum-analyze;reboot' }, undefined, /Input 'steps' has an invalid value "db\.vacuum-analyze;reboot"/],
    ['malformed YAML in the config', {}, 'database:\n  port: [5432\n  name: x\n', /maintenance\.yml: \d+ problems?:%0A {2}- line \d+: /],
    ['a config value carrying a shell command', {}, 'state-dir: "/var/lib/mw; rm -rf /"\n', /maintenance\.yml: 1 problem:%0A {2}- line 1: state-dir/],
  ];

  it.concurrent.for(cases)('%s', async ([, inputs, configYaml, message], { expect }) => {
    const result = await runAgainstListener(inputs, configYaml);
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n').find((line) => line.startsWith('::error::'))).toMatch(message);
    expect(result.outputs.result).toBe('failed');
    expect(result.connections).toBe(0);
    expect(existsSync(pwned)).toBe(false);
  });

  it.concurrent('control: with valid inputs the same run does reach the listener (so a count of 0 above means something)', async ({ expect }) => {
    const result = await runAgainstListener({});
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      new RegExp(`::error::the weekly window on mwroot@127\\.0\\.0\\.1:${result.port} did not start: SSH connection to 127\\.0\\.0\\.1:${result.port} failed`),
    );
    expect(result.connections).toBeGreaterThan(0);
  });
});
