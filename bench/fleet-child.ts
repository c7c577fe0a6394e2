// Runs one fleet window and nothing else, so that this process's memory is the fleet's cost.
// Input: env BENCH_FLEET (JSON: inputs of the action, privateKeyPath). Output: one JSON line.
import { readFileSync } from 'node:fs';
import { runFleetAndReport } from '../src/fleet/run-fleet.js';
import { cliIO } from '../src/report/publish.js';
import { mapInputSource } from '../src/settings/input-source.js';
import { parseSettings } from '../src/settings/parse-settings.js';
import { consoleIO } from '../src/window/runner-io.js';

const input = JSON.parse(process.env.BENCH_FLEET ?? '{}') as { inputs: Record<string, string>; privateKeyPath: string };
const settings = parseSettings(mapInputSource({ ...input.inputs, 'private-key': readFileSync(input.privateKeyPath, 'utf8') }), {
  repository: 'bench/fleet',
  runId: '1',
  runAttempt: 1,
  workflow: 'bench',
  serverUrl: 'https://github.com',
  actor: 'bench',
});

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const idleRss = process.memoryUsage().rss;
let peakRss = idleRss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5);
const started = performance.now();
const cpu = process.cpuUsage();
const { fleet } = await runFleetAndReport({ settings, io: consoleIO(() => undefined), publish: cliIO({ write: () => undefined }) });
const wallMs = performance.now() - started;
const used = process.cpuUsage(cpu);
const cpuMs = (used.user + used.system) / 1000;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
console.log(JSON.stringify({ wallMs, cpuMs, idleRss, peakRss, peakInFlight: fleet.peakInFlight, statuses: fleet.hosts.map((run) => run.status) }));
