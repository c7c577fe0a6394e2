import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFleetAndReport } from '../../src/fleet/run-fleet.js';
import { PREFLIGHT_STEPS, VERIFY_STEPS } from '../../src/plan/tiers.js';
import { cliIO } from '../../src/report/publish.js';
import { mapInputSource } from '../../src/settings/input-source.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
import { consoleIO } from '../../src/window/runner-io.js';
import { createNetnsNetwork, netnsUnavailable, startNamespaceSshd, type NetnsNetwork } from '../sandbox/netns.js';
import { run } from '../sandbox/proc.js';
import { ROOT_USER } from '../sandbox/sandbox.js';
import { maxOverlap } from '../support/fleet-sandbox.js';

const HOSTS = 4;
const STEP = 'custom.where-am-i';
const unavailable = netnsUnavailable();
// The uid-0 user with /bin/sh that other sandboxes create; root's bash would source ~/.bashrc on every command.
const user = spawnSync('getent', ['passwd', ROOT_USER]).status === 0 ? ROOT_USER : 'root';

let root: string;
let network: NetnsNetwork | undefined;
let privateKey: string;
let knownHosts: string;

const stateDir = (address: string) => join(root, 'hosts', address, 'state');
const ADDRESSES = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;

/** The [start, end] intervals (epoch seconds) the step logged on one host. */
function intervals(address: string): Array<[number, number]> {
  const lines = readFileSync(join(stateDir(address), 'work.log'), 'utf8')
    .trim()
    .split('\n');
  const out: Array<[number, number]> = [];
  for (let index = 0; index + 1 < lines.length; index += 2) {
    const [start, end] = [lines[index].split(' '), lines[index + 1].split(' ')];
    expect([start[0], end[0]]).toEqual(['start', 'end']);
    out.push([Number(start[1]), Number(end[1])]);
  }
  return out;
}

describe.skipIf(unavailable !== undefined)(`fleet of hosts in network namespaces${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'mw-netns-'));
    const clientKey = join(root, 'id_ed25519');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mw-netns-client', '-f', clientKey]);
    privateKey = readFileSync(clientKey, 'utf8');
    network = await createNetnsNetwork(HOSTS);
    const authorized = readFileSync(`${clientKey}.pub`, 'utf8');
    const sshds = await Promise.all(network.hosts.map((host) => startNamespaceSshd(host, join(root, 'sshd', host.namespace), authorized, [user])));
    knownHosts = sshds.map((sshd) => sshd.knownHosts).join('\n');
  });
  afterAll(async () => {
    await network?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('reaches each namespace by its own address and runs at most 2 hosts at a time', async () => {
    const hosts = network!.hosts;
    // The host's label is its address (port 22), so the step finds its own state dir from its own address.
    const work = [
      'addr=$(hostname -I | tr -d " ")',
      `log=${root}/hosts/$addr/state/work.log`,
      'echo "start $(date +%s.%N)" >> "$log"',
      'sleep 1',
      'echo "end $(date +%s.%N)" >> "$log"',
      'set -- $SSH_CONNECTION',
      'echo "sshd listens on $3"',
      'echo "hostname -I: $(hostname -I)"',
      'echo "ip: $(ip -4 -o addr show scope global | awk \'{print $4}\')"',
    ].join('\n');
    const config = join(root, 'fleet.yml');
    writeFileSync(
      config,
      stringify({
        services: { manager: 'none' },
        'state-dir': `${root}/hosts/{host}/state`,
        tiers: { weekly: { add: [{ id: STEP, run: work, idempotent: true, timeout: '30s' }] } },
      }),
    );
    const inventory = join(root, 'inventory.txt');
    writeFileSync(inventory, hosts.map((host) => `${user}@${host.address}`).join('\n') + '\n');
    const settings = parseSettings(
      mapInputSource({
        steps: STEP,
        'skip-steps': [...PREFLIGHT_STEPS, ...VERIFY_STEPS].join(','),
        config,
        inventory,
        'private-key': privateKey,
        'known-hosts': knownHosts,
        'connect-timeout': '5s',
        'window-id': 'netns',
        'max-concurrency': '2',
        'report-dir': join(root, 'report'),
      }),
      { repository: 'test/fleet', runId: '901', runAttempt: 1, workflow: 'fleet', serverUrl: 'https://github.com', actor: 'tester' },
      {},
    );
    const log: string[] = [];
    const report = await runFleetAndReport({ settings, io: consoleIO((line) => log.push(line)), publish: cliIO({ write: () => undefined }) });

    expect(report.fleet.result).toBe('succeeded');
    expect(report.fleet.hosts.map((entry) => [entry.host.label, entry.status])).toEqual(hosts.map((host) => [host.address, 'succeeded']));
    for (const [index, host] of hosts.entries()) {
      const steps = report.fleet.hosts[index].result!.journal.steps;
      expect(steps.map((step) => step.id)).toEqual([STEP]);
      const output = String((steps[0].details as { output?: string } | undefined)?.output);
      // sshd's listening address, hostname -I and ip all name this namespace's address and nothing else.
      expect(output).toContain(`sshd listens on ${host.address}`);
      expect(output).toContain(`ip: ${host.address}/24`);
      expect(new Set(output.match(ADDRESSES))).toEqual(new Set([host.address]));
    }

    // Each host logged its step once; from the hosts' own clocks, never more than 2 ran at once, and 2 did.
    const logged = hosts.map((host) => intervals(host.address));
    expect(logged.map((list) => list.length)).toEqual(hosts.map(() => 1));
    expect(maxOverlap(logged.flat())).toBe(2);
    expect(report.fleet.peakInFlight).toBe(2);
  });
});
