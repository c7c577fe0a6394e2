import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { portAccepts, waitFor } from './ports.js';
import { run, signal, terminate } from './proc.js';
import { SSHD } from './sshd.js';

/** One namespace on the bridge: a host with its own address, reached like a real one. */
export interface NetnsHost {
  namespace: string;
  address: string;
}

/**
 * Network namespaces on one bridge in the root namespace: `10.199.N.1/24` on the bridge, `.2`, `.3`, ... in
 * the namespaces. The addresses exist only on this machine; nothing is routed anywhere else.
 */
export interface NetnsNetwork {
  bridge: string;
  gateway: string;
  hosts: NetnsHost[];
  /** Kills every process in the namespaces, deletes them and the bridge; idempotent. */
  stop(): Promise<void>;
}

/** `ip` synchronously; the exit-time teardown cannot wait for promises. */
function ipSync(args: string[]): { ok: boolean; output: string } {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

/** Why namespaces cannot be made here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = `mwprobe-${process.pid}`;
  const added = ipSync(['netns', 'add', probe]);
  if (!added.ok) return `ip netns add failed: ${added.output || 'ip not found'}`;
  ipSync(['netns', 'del', probe]);
  return undefined;
}

/** A third octet no address or route of this machine uses yet. */
function freeSubnet(): string {
  const inUse = ipSync(['-4', 'addr']).output + ipSync(['-4', 'route']).output;
  for (let attempt = 0; attempt < 20; attempt++) {
    const subnet = `10.199.${randomInt(0, 251)}`;
    if (!inUse.includes(`${subnet}.`)) return subnet;
  }
  throw new Error('no free 10.199.N.0/24 subnet for the namespaces');
}

const pidsIn = (namespace: string) =>
  ipSync(['netns', 'pids', namespace])
    .output.split('\n')
    .map(Number)
    .filter((pid) => pid > 0);

export async function createNetnsNetwork(count: number): Promise<NetnsNetwork> {
  const id = randomBytes(3).toString('hex');
  const subnet = freeSubnet();
  const bridge = `mwbr${id}`;
  const hosts = Array.from({ length: count }, (_, index) => ({ namespace: `mw-${id}-${index}`, address: `${subnet}.${index + 2}` }));
  const hostVeth = (index: number) => `mwv${id}${index}`;

  let stopped = false;
  const removeAll = () => {
    for (const [index, host] of hosts.entries()) {
      ipSync(['netns', 'del', host.namespace]);
      ipSync(['link', 'del', hostVeth(index)]);
    }
    ipSync(['link', 'del', bridge]);
  };
  // Process exit: no time to be gentle.
  const onExit = () => {
    if (stopped) return;
    for (const host of hosts) signal(pidsIn(host.namespace), 'SIGKILL');
    removeAll();
  };
  process.once('exit', onExit);
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    // A namespace with processes left in it outlives `ip netns del` and keeps its veth on the bridge.
    await terminate(hosts.flatMap((host) => pidsIn(host.namespace)));
    removeAll();
  };

  const ip = (...args: string[]) => run('ip', args);
  try {
    await ip('link', 'add', bridge, 'type', 'bridge');
    await ip('addr', 'add', `${subnet}.1/24`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
    for (const [index, host] of hosts.entries()) {
      const peer = `mwp${id}${index}`;
      await ip('netns', 'add', host.namespace);
      await ip('link', 'add', hostVeth(index), 'type', 'veth', 'peer', 'name', peer);
      await ip('link', 'set', peer, 'netns', host.namespace);
      await ip('link', 'set', hostVeth(index), 'master', bridge, 'up');
      await ip('-n', host.namespace, 'link', 'set', peer, 'name', 'eth0');
      await ip('-n', host.namespace, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
      await ip('-n', host.namespace, 'link', 'set', 'eth0', 'up');
      await ip('-n', host.namespace, 'link', 'set', 'lo', 'up');
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { bridge, gateway: `${subnet}.1`, hosts, stop };
}

export interface NetnsSshd {
  /** The `ADDRESS ssh-ed25519 KEY` line (port 22 needs no brackets). */
  knownHosts: string;
  log: string;
}

/**
 * sshd inside the host's namespace on `ADDRESS:22`, with its own host key, taking `authorizedKey` for each
 * of `users`. It dies with the namespace's other processes in the network's stop().
 */
export async function startNamespaceSshd(host: NetnsHost, dir: string, authorizedKey: string, users: string[]): Promise<NetnsSshd> {
  mkdirSync(join(dir, 'authorized_keys'), { recursive: true });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = join(dir, 'host_ed25519');
  const config = join(dir, 'sshd_config');
  const log = join(dir, 'sshd.log');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `mw-netns-${host.address}`, '-f', hostKey]);
  for (const user of users) writeFileSync(join(dir, 'authorized_keys', user), authorizedKey, { mode: 0o600 });
  const lines = [
    'Port 22',
    `ListenAddress ${host.address}`,
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}/%u`,
    'StrictModes no',
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'MaxSessions 50',
    'PrintMotd no',
    'LogLevel VERBOSE',
  ];
  writeFileSync(config, lines.join('\n') + '\n');
  await run('ip', ['netns', 'exec', host.namespace, SSHD, '-f', config, '-E', log]);
  await waitFor(`sshd on ${host.address}:22 in ${host.namespace}`, () => portAccepts(22, host.address));
  const [type, blob] = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);
  return { knownHosts: `${host.address} ${type} ${blob}`, log };
}
