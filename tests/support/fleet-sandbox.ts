import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { processTree, readPid, signal } from '../sandbox/proc.js';
import { ROOT_USER, startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { setupSshd, stopSshd, type SshdInfo } from '../sandbox/sshd.js';
import { sandboxConfigObject } from './sandbox-config.js';

export interface FleetHostInfo {
  label: string;
  port: number;
}

/**
 * A fleet on loopback: one full sandbox (sshd + PostgreSQL) and `count - 1` more sshd instances, each with
 * its own host key, all taking the sandbox's client key. The hosts share one filesystem, so the config's
 * state dir holds `{host}` and each host keeps its own lock and journal.
 */
export interface FleetSandbox {
  sandbox: Sandbox;
  hosts: FleetHostInfo[];
  /** known_hosts lines for every host. */
  knownHosts: string;
  /** `mwroot@127.0.0.1:PORT hNN` a line. */
  inventory(hosts?: FleetHostInfo[]): string;
  stateDir(label: string): string;
  /** The host's own log of its custom.work step: `start <epoch>` / `end <epoch>` lines. */
  logFile(port: number): string;
  /** With this marker the host's custom.work step fails. */
  failMarker(port: number): string;
  /** A config file whose weekly tier adds custom.work: log start, sleep, log end, fail on the marker. */
  writeConfig(name: string, sleepSeconds: number): string;
  stop(): Promise<void>;
}

export const WORK_STEP = 'custom.work';

export async function startFleetSandbox(count: number): Promise<FleetSandbox> {
  const sandbox = await startSandbox({ app: false, seedBloat: false });
  const extra: SshdInfo[] = [];
  const killExtra = () =>
    extra.forEach((info) =>
      signal(
        processTree(readPid(info.pidFile, info.config) ?? -1).filter((pid) => pid > 0),
        'SIGKILL',
      ),
    );
  process.once('exit', killExtra);
  try {
    const started = await Promise.allSettled(
      Array.from({ length: count - 1 }, (_, index) => setupSshd(join(sandbox.root, 'fleet', `sshd${index + 1}`), false, [ROOT_USER])),
    );
    for (const result of started) if (result.status === 'fulfilled') extra.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } catch (error) {
    await Promise.allSettled(extra.map((info) => stopSshd(info)));
    await sandbox.stop();
    throw error;
  }
  // One client key for the whole fleet, as the action has one private-key input.
  const clientPub = readFileSync(`${sandbox.ssh.privateKeyPath}.pub`, 'utf8');
  for (const info of extra) writeFileSync(join(info.dir, 'authorized_keys', ROOT_USER), clientPub, { mode: 0o600 });

  const ports = [sandbox.ssh.port, ...extra.map((info) => info.port)];
  const hosts = ports.map((port, index) => ({ label: `h${String(index).padStart(2, '0')}`, port }));
  const root = sandbox.root;
  return {
    sandbox,
    hosts,
    knownHosts: [sandbox.ssh.knownHosts, ...extra.map((info) => info.knownHosts)].join('\n'),
    inventory: (list = hosts) => list.map((host) => `${ROOT_USER}@127.0.0.1:${host.port} ${host.label}`).join('\n') + '\n',
    stateDir: (label) => join(root, 'hosts', label, 'state'),
    logFile: (port) => join(root, 'worklog', `${port}.log`),
    failMarker: (port) => join(root, 'fail', String(port)),
    writeConfig: (name, sleepSeconds) => {
      // SSH_CONNECTION's last field is the sshd port: the step's way to know which host it runs on.
      const work = [
        'port=${SSH_CONNECTION##* }',
        `mkdir -p ${root}/worklog`,
        `echo "start $(date +%s.%N)" >> ${root}/worklog/$port.log`,
        `sleep ${sleepSeconds}`,
        `echo "end $(date +%s.%N)" >> ${root}/worklog/$port.log`,
        `if [ -f ${root}/fail/$port ]; then echo "failing as asked on $port" >&2; exit 3; fi`,
        'echo "worked on $port"',
      ].join('\n');
      const config = sandboxConfigObject(sandbox, {
        'state-dir': `${root}/hosts/{host}/state`,
        tiers: { weekly: { add: [{ id: WORK_STEP, run: work, idempotent: true, timeout: '60s' }] } },
      });
      const file = join(root, name);
      writeFileSync(file, stringify(config));
      return file;
    },
    stop: async () => {
      await Promise.allSettled(extra.map((info) => stopSshd(info)));
      process.removeListener('exit', killExtra);
      await sandbox.stop();
    },
  };
}

/** The [start, end] intervals (epoch seconds) the host logged, in order. */
export function workIntervals(fleet: FleetSandbox, port: number): Array<[number, number]> {
  let text = '';
  try {
    text = readFileSync(fleet.logFile(port), 'utf8');
  } catch {
    return [];
  }
  const intervals: Array<[number, number]> = [];
  let start: number | undefined;
  for (const line of text.split('\n')) {
    const [kind, at] = line.split(' ');
    if (kind === 'start') start = Number(at);
    if (kind === 'end' && start !== undefined) {
      intervals.push([start, Number(at)]);
      start = undefined;
    }
  }
  return intervals;
}

/** The most intervals open at one instant. */
export function maxOverlap(intervals: Array<[number, number]>): number {
  const events = intervals.flatMap(([start, end]) => [
    { at: start, delta: 1 },
    { at: end, delta: -1 },
  ]);
  // Ends before starts at the same instant: touching intervals do not overlap.
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let peak = 0;
  for (const event of events) {
    open += event.delta;
    peak = Math.max(peak, open);
  }
  return peak;
}
