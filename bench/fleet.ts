/**
 * Fleet windows on 20 loopback hosts (sshd instances sharing one PostgreSQL), each window one cheap custom
 * step (log, sleep 1 s, log) so the figures are the fleet machinery's, not maintenance work's:
 *   wall time of 20 hosts at max-concurrency 5 against 4 × one host's window (perfect rolling would be 1×);
 *   the runner's CPU per host, and its memory per host in flight (peak RSS above idle, sampled every 5 ms in a
 *   child process that runs only the fleet), against the same for a one-host window.
 * The hosts share the runner's machine here (sshd, shells), so on a busy machine their own slowdown under
 * concurrency shows in the first ratio. The second separates it out: a round of the fleet against the same
 * hosts run at once by separate one-host processes (no pool, no shared event loop); the CPU row tells
 * whether the runner itself is the bottleneck.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFleetSandbox, WORK_STEP, type FleetHostInfo, type FleetSandbox } from '../tests/support/fleet-sandbox.js';
import type { BenchRow } from './run.js';

const HOSTS = 20;
const CONCURRENCY = 5;
const STEP_SECONDS = 1;
const SINGLE_RUNS = 3;
const MIB = 1024 * 1024;
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

interface ChildResult {
  wallMs: number;
  /** CPU time of the runner process (user + system). */
  cpuMs: number;
  idleRss: number;
  peakRss: number;
  peakInFlight: number;
  statuses: string[];
}

function runChild(fleet: FleetSandbox, config: string, hosts: FleetHostInfo[], concurrency: number, windowId: string): Promise<ChildResult> {
  const inventory = join(fleet.sandbox.root, `bench-${windowId}.txt`);
  writeFileSync(inventory, fleet.inventory(hosts));
  const env = {
    ...process.env,
    BENCH_FLEET: JSON.stringify({
      privateKeyPath: fleet.sandbox.ssh.privateKeyPath,
      inputs: {
        inventory,
        config,
        steps: WORK_STEP,
        'known-hosts': fleet.knownHosts,
        'window-id': windowId,
        'max-concurrency': String(concurrency),
        'report-dir': join(fleet.sandbox.root, 'bench-report', windowId),
      },
    }),
  };
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(repoRoot, 'bench', 'fleet-child.ts')],
      { env, cwd: repoRoot, maxBuffer: 4 * MIB },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`${error.message}: ${stderr}`));
        const result = JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult;
        if (result.statuses.some((status) => status !== 'succeeded')) return reject(new Error(`a host did not succeed: ${result.statuses.join(', ')}`));
        resolve(result);
      },
    );
  });
}

export async function benchFleet(): Promise<BenchRow[]> {
  const fleet = await startFleetSandbox(HOSTS);
  try {
    const config = fleet.writeConfig('bench-fleet.yml', STEP_SECONDS);
    const stamp = Date.now();
    const singles: ChildResult[] = [];
    for (let index = 0; index < SINGLE_RUNS; index++) singles.push(await runChild(fleet, config, fleet.hosts.slice(0, 1), 1, `single-${stamp}-${index}`));
    const single = singles.reduce((best, run) => (run.wallMs < best.wallMs ? run : best));
    const many = await runChild(fleet, config, fleet.hosts, CONCURRENCY, `fleet-${stamp}`);
    // The same load without the fleet machinery: one-host runs in separate processes side by side.
    const apart = await Promise.all(fleet.hosts.slice(0, CONCURRENCY).map((host, index) => runChild(fleet, config, [host], 1, `apart-${stamp}-${index}`)));
    const apartMs = Math.max(...apart.map((run) => run.wallMs));

    const rounds = HOSTS / CONCURRENCY;
    const perHostMiB = (many.peakRss - many.idleRss) / MIB / many.peakInFlight;
    const singleMiB = (single.peakRss - single.idleRss) / MIB;
    return [
      {
        row: `fleet: ${HOSTS} hosts at max-concurrency ${CONCURRENCY} vs ${rounds} × one host's window (${STEP_SECONDS} s step)`,
        ours: many.wallMs / 1000,
        reference: (rounds * single.wallMs) / 1000,
        unit: 's',
        ratio: many.wallMs / (rounds * single.wallMs),
        target: '≤ 1.25×',
      },
      {
        row: `fleet: one round of ${CONCURRENCY} hosts in the fleet (its wall time / ${rounds}) vs ${CONCURRENCY} one-host runs in separate processes at once`,
        ours: many.wallMs / rounds / 1000,
        reference: apartMs / 1000,
        unit: 's',
        ratio: many.wallMs / rounds / apartMs,
        target: '≤ 1.1×',
      },
      {
        row: `fleet: runner CPU per host (user + system) at max-concurrency ${CONCURRENCY} vs one host alone`,
        ours: many.cpuMs / HOSTS,
        reference: single.cpuMs,
        unit: 'ms',
        ratio: many.cpuMs / HOSTS / single.cpuMs,
        target: '≤ 1×',
      },
      {
        row: `fleet: runner memory per host in flight (peak RSS above idle, ${many.peakInFlight} in flight) vs one host alone`,
        ours: perHostMiB,
        reference: singleMiB,
        unit: 'MiB',
        ratio: perHostMiB / singleMiB,
        target: '≤ 1×',
      },
    ];
  } finally {
    await fleet.stop();
  }
}
