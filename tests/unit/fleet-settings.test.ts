import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, ValidationError } from '../../src/errors.js';
import { hostConfig, hostSettings } from '../../src/fleet/host-settings.js';
import { parseCliArgs } from '../../src/settings/cli-flags.js';
import { mapInputSource } from '../../src/settings/input-source.js';
import { parseConfig } from '../../src/settings/load-config.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
import type { RunContext } from '../../src/settings/settings.js';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
const KNOWN = 'db1.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKyqUd0k0i4u3uJ5vS2bq8X1oYwC6Q3tC6u0uO2S9pbE';
const RUN: RunContext = { repository: 'o/r', runId: '42', runAttempt: 1, workflow: 'w', serverUrl: 'https://github.com', actor: 'a' };
const CREDS = { 'private-key': KEY, 'known-hosts': KNOWN };
const HOSTS = ['db1.example.com', 'deploy@db2.example.com:2222 replica', '# retired: db3', 'db4.example.com'].join('\n');

const dir = mkdtempSync(path.join(tmpdir(), 'mw-fleet-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const parse = (values: Record<string, string>) => parseSettings(mapInputSource(values), RUN, {});

function errorOf(values: Record<string, string>): Error {
  try {
    parse(values);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected parseSettings to throw');
}

describe('fleet inputs', () => {
  it('parses inline hosts with defaults: concurrency 1, no failure tolerated, no shard, no single target', () => {
    const settings = parse({ ...CREDS, hosts: HOSTS, username: 'ops' });
    expect(settings.target).toBeUndefined();
    expect(settings.fleet).toEqual({
      source: 'the hosts input',
      inventorySize: 3,
      hosts: [
        { endpoint: { username: 'ops', host: 'db1.example.com', port: 22 }, label: 'db1.example.com', line: 1 },
        { endpoint: { username: 'deploy', host: 'db2.example.com', port: 2222 }, label: 'replica', line: 2 },
        { endpoint: { username: 'ops', host: 'db4.example.com', port: 22 }, label: 'db4.example.com', line: 4 },
      ],
      maxConcurrency: { kind: 'count', value: 1 },
      maxErrors: { kind: 'count', value: 0 },
      shard: undefined,
    });
  });

  it('reads an inventory file, with percentages and a shard', () => {
    const file = path.join(dir, 'inventory.txt');
    writeFileSync(file, Array.from({ length: 10 }, (_, index) => `db${index}.example.com`).join('\n'));
    const fleet = parse({ ...CREDS, inventory: file, 'max-concurrency': '25%', 'max-errors': '10%', shard: '2/3' }).fleet!;
    expect(fleet.source).toBe(`inventory ${file}`);
    expect(fleet.inventorySize).toBe(10);
    expect(fleet.hosts.map((host) => host.label)).toEqual(['db3.example.com', 'db4.example.com', 'db5.example.com']);
    expect(fleet.maxConcurrency).toEqual({ kind: 'percent', value: 25 });
    expect(fleet.maxErrors).toEqual({ kind: 'percent', value: 10 });
    expect(fleet.shard).toEqual({ index: 2, count: 3 });
  });

  it('names the inventory file and the line of each bad entry', () => {
    const file = path.join(dir, 'bad.txt');
    writeFileSync(file, 'db1.example.com\ndb2.example.com;reboot\n');
    const error = errorOf({ ...CREDS, inventory: file });
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toContain(`inventory ${file}: 1 problem`);
    expect(error.message).toMatch(/line 2: "db2\.example\.com;reboot": expected a host name/);
  });

  it.each([
    [{ host: 'db1.example.com', hosts: 'db2.example.com' }, /Input 'host' .*host names one target; hosts names a fleet/],
    [{ host: 'db1.example.com', inventory: 'x.txt' }, /Input 'host' .*inventory names a fleet/],
    [{ hosts: 'db1.example.com', inventory: 'x.txt' }, /Input 'inventory' .*either inline \(hosts\) or in a file \(inventory\), not both/],
    [{ host: 'db1.example.com', shard: '1/2' }, /Input 'shard' .*a shard needs hosts or an inventory/],
    [
      { inventory: 'does/not/exist.txt' },
      /Input 'inventory' has an invalid value "does\/not\/exist.txt": a readable file in the workspace is needed \(ENOENT\)/,
    ],
    [{ hosts: 'db1.example.com', 'max-concurrency': '0' }, /Input 'max-concurrency'/],
    [{ hosts: 'db1.example.com', 'max-errors': 'many' }, /Input 'max-errors'/],
    [{ hosts: 'db1.example.com', shard: '3/2' }, /Input 'shard'/],
    [{ hosts: 'db1.example.com', 'host-fingerprint': 'SHA256:' + 'A'.repeat(43) }, /Input 'host-fingerprint' .*pin the hosts of a fleet with known-hosts/],
    [
      { hosts: `db1.example.com ${'l'.repeat(60)}`, 'window-id': 'w'.repeat(70) },
      /Input 'window-id' .*with host label l+ \(the hosts input line 1\) .* would pass 128 characters/,
    ],
  ])('refuses %j', (values, message) => {
    const error = errorOf({ ...CREDS, ...values });
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toMatch(message);
  });

  it('needs credentials and pinned host keys for a fleet as for one host', () => {
    expect(errorOf({ hosts: 'db1.example.com' }).message).toMatch(/a private-key or a password is needed to log in to the hosts of the hosts input/);
    expect(errorOf({ hosts: 'db1.example.com', 'private-key': KEY }).message).toMatch(
      /known-hosts or host-fingerprint is needed to pin the host key of the hosts of the hosts input/,
    );
  });

  it('leaves the single-host path as it was', () => {
    const settings = parse({ ...CREDS, host: 'db1.example.com' });
    expect(settings.fleet).toBeUndefined();
    expect(settings.target).toEqual({ host: 'db1.example.com', port: 22, username: 'root' });
  });

  it('takes the fleet inputs as CLI flags', () => {
    const { values } = parseCliArgs(['run', '--inventory', 'hosts.txt', '--max-concurrency', '25%', '--max-errors', '1', '--shard', '1/4'], {}, []);
    expect(values).toEqual({ inventory: 'hosts.txt', 'max-concurrency': '25%', 'max-errors': '1', shard: '1/4' });
  });
});

describe('per-host settings', () => {
  const settings = parse({ ...CREDS, hosts: HOSTS, 'window-id': 'weekly-7' });
  const [, replica] = settings.fleet!.hosts;

  it('gives each host its own target, window id (so its own journal and resume) and report dir', () => {
    const one = hostSettings(settings, replica, '/work/report');
    expect(one.target).toEqual({ username: 'deploy', host: 'db2.example.com', port: 2222 });
    expect(one.windowId).toBe('weekly-7-replica');
    expect(one.reportDir).toBe('/work/report/replica');
    expect(one.fleet).toBeUndefined();
    expect(one.privateKey).toBe(settings.privateKey);
  });

  it('keeps the state dir of a single-host run (one lock per host either way) unless it holds {host}', () => {
    const plain = parseConfig('state-dir: /var/lib/maintenance-window\n', 'c.yml');
    expect(hostConfig(plain, 'replica').stateDir).toBe('/var/lib/maintenance-window');
    const shared = parseConfig('state-dir: /srv/rig/{host}/state\n', 'c.yml');
    expect(hostConfig(shared, 'replica').stateDir).toBe('/srv/rig/replica/state');
    expect(shared.stateDir).toBe('/srv/rig/{host}/state');
  });
});
