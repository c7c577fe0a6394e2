// SSH layer figures against the sandbox sshd: memory and throughput of a huge output, per-command latency, cold start.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'ssh2';
import { SshTarget } from '../src/remote/ssh-target.js';
import { startSandbox, type Sandbox } from '../tests/sandbox/sandbox.js';
import type { BenchRow } from './run.js';

const GIB = 1024 * 1024 * 1024;
const SHORT_COMMANDS = 50;
const SSH_PROCESSES = 10;
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
/** The bundled action entry; BENCH_MAIN_ENTRY points the cold-start row at another build. */
const mainEntry = process.env.BENCH_MAIN_ENTRY ?? join(repoRoot, 'dist', 'main', 'index.js');

function sshArgs(sandbox: Sandbox, knownHostsFile: string): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    sandbox.ssh.privateKeyPath,
    '-p',
    String(sandbox.ssh.port),
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    `${sandbox.ssh.username}@${sandbox.ssh.host}`,
  ];
}

/** Wall time of a process whose output is discarded; rejects on a non-zero exit. */
function timeProcess(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${command} exited ${code}: ${stderr.trim()}`))));
  });
}

function childJson<T>(args: string[], env: NodeJS.ProcessEnv): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { env, cwd: repoRoot, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${error.message}: ${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as T);
    });
  });
}

interface ChildResult {
  seconds: number;
  peakRssKiB: number;
  code: number | null;
  truncated: boolean;
}

/** (a) 1 GiB of output: peak RSS of a node process doing only that, and throughput against plain ssh. */
async function hugeOutput(sandbox: Sandbox, knownHostsFile: string): Promise<BenchRow[]> {
  const run = (command: string) =>
    childJson<ChildResult>(['--import', 'tsx', join(repoRoot, 'bench', 'ssh-output-child.ts')], {
      ...process.env,
      BENCH_SSH: JSON.stringify({ ...sandbox.ssh, privateKey: undefined, command }),
    });
  const idle = await run('true');
  const big = await run(`head -c ${GIB} /dev/zero`);
  if (big.code !== 0 || !big.truncated) throw new Error(`the 1 GiB command ended with ${big.code}, truncated ${big.truncated}`);
  const args = sshArgs(sandbox, knownHostsFile);
  const connectOnly = await timeProcess('ssh', [...args, 'true']);
  const plain = (await timeProcess('ssh', [...args, `head -c ${GIB} /dev/zero`])) - connectOnly;
  const ours = 1024 / big.seconds;
  const reference = 1024 / (plain / 1000);
  return [
    {
      row: 'ssh: peak RSS of a node process running a 1 GiB-output command (reference: same process, `true`)',
      ours: big.peakRssKiB / 1024,
      reference: idle.peakRssKiB / 1024,
      unit: 'MiB',
      ratio: big.peakRssKiB / idle.peakRssKiB,
      target: '< 150 MiB',
    },
    {
      row: 'ssh: 1 GiB output throughput, SshTarget.exec vs `ssh host head -c 1G` > /dev/null (connect time subtracted)',
      ours,
      reference,
      unit: 'MiB/s',
      ratio: ours / reference,
      target: '≥ 0.7×',
    },
  ];
}

function bareClient(sandbox: Sandbox): Promise<Client> {
  return new Promise((resolve, reject) => {
    // Same TCP setting as SshTarget (no Nagle), so the comparison is of the exec path alone.
    const sock = net.connect({ host: sandbox.ssh.host, port: sandbox.ssh.port }, () => sock.setNoDelay(true));
    const client = new Client();
    client.on('ready', () => resolve(client)).on('error', reject);
    client.connect({ sock, username: sandbox.ssh.username, privateKey: sandbox.ssh.privateKey });
  });
}

function bareExec(client: Client, command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error) return reject(error);
      channel.on('close', () => resolve()).resume();
      channel.stderr.resume();
    });
  });
}

async function perCommand(count: number, run: () => Promise<unknown>): Promise<number> {
  await run(); // warm up
  const started = performance.now();
  for (let i = 0; i < count; i++) await run();
  return (performance.now() - started) / count;
}

/** (b) Many short commands over one connection. */
async function shortCommands(sandbox: Sandbox, knownHostsFile: string): Promise<BenchRow[]> {
  const target = new SshTarget({
    host: sandbox.ssh.host,
    port: sandbox.ssh.port,
    username: sandbox.ssh.username,
    privateKey: sandbox.ssh.privateKey,
    connectTimeoutMs: 10_000,
    hostKeys: { strict: true, knownHosts: sandbox.ssh.knownHosts, warn: () => undefined },
  });
  const client = await bareClient(sandbox);
  try {
    // Interleaved rounds, so that load from elsewhere on the machine hits both sides alike.
    let ours = 0;
    let bare = 0;
    for (let round = 0; round < 5; round++) {
      ours += await perCommand(SHORT_COMMANDS / 5, () => target.exec('true'));
      bare += await perCommand(SHORT_COMMANDS / 5, () => bareExec(client, 'true'));
    }
    ours /= 5;
    bare /= 5;
    const args = sshArgs(sandbox, knownHostsFile);
    const processes = await perCommand(SSH_PROCESSES, () => timeProcess('ssh', [...args, 'true']));
    return [
      {
        row: `ssh: ${SHORT_COMMANDS} × \`true\`, SshTarget.exec vs bare ssh2 client.exec on one connection`,
        ours,
        reference: bare,
        unit: 'ms/cmd',
        ratio: ours / bare,
        target: '≤ 1.2×',
      },
      {
        row: `ssh: \`true\`, SshTarget.exec vs a new ssh process per command (${SSH_PROCESSES} runs)`,
        ours,
        reference: processes,
        unit: 'ms/cmd',
        ratio: ours / processes,
        target: 'info',
      },
    ];
  } finally {
    client.end();
    await target.close();
  }
}

/** A TCP proxy in front of sshd that notes when it accepted its first connection. */
async function timestampingProxy(upstreamPort: number): Promise<{ port: number; firstAccept: Promise<number>; close(): void }> {
  let noteAccept: (at: number) => void = () => undefined;
  const firstAccept = new Promise<number>((resolve) => (noteAccept = resolve));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    noteAccept(performance.now());
    const upstream = net.connect({ host: '127.0.0.1', port: upstreamPort });
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
    }
    socket.pipe(upstream).pipe(socket);
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    firstAccept,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Spawn → first TCP connection at the host, for the bundled action in dry-run mode. */
async function coldStartOnce(sandbox: Sandbox, scratch: string): Promise<number> {
  const proxy = await timestampingProxy(sandbox.ssh.port);
  const knownHosts = sandbox.ssh.knownHosts.replace(/^\[127\.0\.0\.1\]:\d+/, `[127.0.0.1]:${proxy.port}`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RUNNER_TEMP: scratch,
    GITHUB_OUTPUT: join(scratch, 'output'),
    GITHUB_STATE: join(scratch, 'state'),
    GITHUB_STEP_SUMMARY: join(scratch, 'summary'),
    INPUT_HOST: '127.0.0.1',
    INPUT_PORT: String(proxy.port),
    INPUT_USERNAME: sandbox.ssh.username,
    'INPUT_PRIVATE-KEY': sandbox.ssh.privateKey,
    'INPUT_KNOWN-HOSTS': knownHosts,
    'INPUT_DRY-RUN': 'true',
    'INPUT_REPORT-DIR': join(scratch, 'report'),
  };
  for (const file of ['output', 'state', 'summary']) writeFileSync(join(scratch, file), '');
  const started = performance.now();
  const child = spawn(process.execPath, [mainEntry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<never>((_, reject) =>
    child.on('close', (code) => reject(new Error(`the action exited (${code}) without connecting: ${output.trim().split('\n').slice(-3).join(' | ')}`))),
  );
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no connection within 30 s')), 30_000).unref());
  try {
    return (await Promise.race([proxy.firstAccept, exited, timeout])) - started;
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    proxy.close();
  }
}

/** (c) Cold start of the bundled action, against a bare node start. */
async function coldStart(sandbox: Sandbox): Promise<BenchRow[]> {
  if (!existsSync(mainEntry)) {
    return [
      {
        row: `ssh: cold start to first connection — skipped, ${mainEntry} is not built (npm run package)`,
        ours: NaN,
        reference: NaN,
        unit: 'ms',
        ratio: NaN,
        target: 'info',
      },
    ];
  }
  const row = 'ssh: cold start, spawn of the bundled action (dry run) → first TCP connection at sshd, vs `node -e 0` (best of 3)';
  const scratch = mkdtempSync(join(tmpdir(), 'mw-bench-cold-'));
  try {
    const samples: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < 3; i++) {
      samples.push(await coldStartOnce(sandbox, scratch));
      bare.push(await timeProcess(process.execPath, ['-e', '0']));
    }
    const ours = Math.min(...samples);
    const reference = Math.min(...bare);
    return [{ row, ours, reference, unit: 'ms', ratio: ours / reference, target: 'info' }];
  } catch (error) {
    // A broken bundle must not take the other ssh rows down with it.
    return [{ row: `${row} — failed: ${(error as Error).message}`, ours: NaN, reference: NaN, unit: 'ms', ratio: NaN, target: 'info' }];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export async function benchSsh(): Promise<BenchRow[]> {
  const sandbox = await startSandbox({ app: false, seedBloat: false });
  const knownHostsFile = join(sandbox.root, 'bench_known_hosts');
  writeFileSync(knownHostsFile, sandbox.ssh.knownHosts + '\n');
  try {
    return [...(await hugeOutput(sandbox, knownHostsFile)), ...(await shortCommands(sandbox, knownHostsFile)), ...(await coldStart(sandbox))];
  } finally {
    await sandbox.stop();
  }
}
