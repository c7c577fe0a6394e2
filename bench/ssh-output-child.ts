// Runs one command through SshTarget.exec and nothing else, so that this process's peak RSS is the cost of it.
// Input: env BENCH_SSH (JSON: host, port, username, privateKeyPath, knownHosts, command). Output: one JSON line.
import { readFileSync } from 'node:fs';
import { SshTarget } from '../src/remote/ssh-target.js';

const input = JSON.parse(process.env.BENCH_SSH ?? '{}') as {
  host: string;
  port: number;
  username: string;
  privateKeyPath: string;
  knownHosts: string;
  command: string;
};

/** The kernel's high-water mark of this process's resident set. */
function peakRssKiB(): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) : NaN;
}

const target = new SshTarget({
  host: input.host,
  port: input.port,
  username: input.username,
  privateKey: readFileSync(input.privateKeyPath, 'utf8'),
  connectTimeoutMs: 10_000,
  hostKeys: { strict: true, knownHosts: input.knownHosts, warn: () => undefined },
});
await target.exec('true'); // connect outside the timing
const started = performance.now();
const result = await target.exec(input.command);
const seconds = (performance.now() - started) / 1000;
await target.close();
console.log(JSON.stringify({ seconds, peakRssKiB: peakRssKiB(), code: result.code, truncated: result.truncated, kept: result.stdout.length }));
