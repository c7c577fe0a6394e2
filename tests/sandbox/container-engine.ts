/**
 * A real, throwaway container engine for tests: rootful Podman (runc, cgroupfs, vfs storage, file locks and
 * events) with everything it owns inside one temp dir, plus `podman system service` on a unix socket so the
 * real Docker CLI and docker-compose v1 drive it through DOCKER_HOST. No registry is reachable, so images are
 * made from the static busybox binary with `podman import`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { accessSync, constants as fsConstants, openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, mkdir, writeFile, copyFile, symlink, rm, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, waitFor } from './ports.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface ContainerEngine {
  /** Temp dir holding containers.conf, storage.conf, graphroot, runroot, tmp_dir and the API socket. */
  root: string;
  /** CONTAINERS_CONF, CONTAINERS_STORAGE_CONF, DOCKER_HOST, DOCKER_CONFIG, COMPOSE_API_VERSION. */
  env: Record<string, string>;
  /** `env` as a POSIX shell prelude: "export A='..'; export B='..'; ". */
  envPrelude: string;
  /** Runs the real docker CLI against this engine. Never rejects on a non-zero exit. */
  docker(args: string[]): Promise<RunResult>;
  /** Runs podman with this engine's configuration. */
  podman(args: string[]): Promise<RunResult>;
  /** 'localhost/mw-busybox:latest': static busybox with every applet linked in /bin. */
  busyboxImage: string;
  /** Imports a new busybox image (unique content, so a unique id) as `tag`; returns its id ('sha256:…'). */
  makeImage(tag: string, opts?: { label?: string }): Promise<string>;
  /** Removes all containers, stops the service and deletes `root`. Idempotent. */
  stop(): Promise<void>;
}

export interface ComposeProject {
  /** Holds docker-compose.yml. */
  dir: string;
  projectName: string;
  /** http://127.0.0.1:PORT of the `api` service (host network); GET /health → 200 "ok". */
  apiUrl: string;
  /** `up -d`, then waits until /health answers. */
  up(): Promise<void>;
  down(): Promise<void>;
  /** docker-compose -p NAME -f dir/docker-compose.yml ...args */
  compose(args: string[]): Promise<RunResult>;
}

const BUSYBOX = '/bin/busybox';
const BUSYBOX_IMAGE = 'localhost/mw-busybox:latest';

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, cmd), fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function containerEngineAvailable(): { ok: boolean; reason?: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'needs Linux' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root (rootful podman with cgroupfs)' };
  const missing = ['podman', 'runc', 'conmon', 'docker', 'docker-compose', 'tar'].filter((c) => !onPath(c));
  try {
    accessSync(BUSYBOX, fsConstants.X_OK);
  } catch {
    missing.push(`${BUSYBOX} (busybox-static)`);
  }
  return missing.length ? { ok: false, reason: `missing: ${missing.join(', ')}` } : { ok: true };
}

type RunOptions = { env?: Record<string, string>; cwd?: string };

function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ stdout, stderr, code: code ?? (signal ? 128 : 1) }));
  });
}

async function mustRun(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

/** PIDs whose command line mentions `root`: the API service, conmon and `podman container cleanup`. */
export function processesMentioning(root: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(root);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const shQuote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;

/** A busybox rootfs (binary + applet symlinks + /tmp, /www) tarred to `tarPath`. */
async function buildBusyboxTar(dir: string, tarPath: string): Promise<void> {
  const applets = (await mustRun(BUSYBOX, ['--list'])).stdout.split('\n').filter((a) => a && a !== 'busybox');
  await Promise.all(['bin', 'tmp', 'www', 'etc'].map((d) => mkdir(join(dir, d), { recursive: true })));
  await copyFile(BUSYBOX, join(dir, 'bin/busybox'));
  await Promise.all(applets.map((a) => symlink('busybox', join(dir, 'bin', a))));
  await writeFile(join(dir, 'etc/passwd'), 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  await writeFile(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  await mustRun('tar', ['-C', dir, '-cf', tarPath, '.']);
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function startContainerEngine(): Promise<ContainerEngine> {
  const root = await mkdtemp(join(tmpdir(), 'mw-podman-'));
  const socket = join(root, 'podman.sock');
  // Everything podman keeps state in is pointed into `root`, so engines in parallel workers don't share
  // locks (lock_type file, not /dev/shm/libpod_lock), events, volumes or network definitions.
  await writeFile(
    join(root, 'containers.conf'),
    `[containers]
default_ulimits = ["nofile=20000:20000", "nproc=1000:1000"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"
tmp_dir = "${root}/tmp"
static_dir = "${root}/graph/libpod"
volume_path = "${root}/graph/volumes"
image_copy_tmp_dir = "${root}/tmp"

[network]
network_config_dir = "${root}/networks"
`,
  );
  await writeFile(join(root, 'storage.conf'), `[storage]\ndriver = "vfs"\ngraphroot = "${root}/graph"\nrunroot = "${root}/run"\n`);
  await Promise.all(['tmp', 'networks', 'docker-config'].map((d) => mkdir(join(root, d))));

  const env: Record<string, string> = {
    CONTAINERS_CONF: join(root, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(root, 'storage.conf'),
    DOCKER_HOST: `unix://${socket}`,
    DOCKER_CONFIG: join(root, 'docker-config'),
    // Without a fixed API version docker-compose v1 asks GET /version first, which podman 4.3 answers in
    // ~1 s (it runs `dpkg -S` for runc, conmon and slirp4netns): 2.2 s → 0.75 s per compose command.
    COMPOSE_API_VERSION: '1.40',
  };
  const podman = (args: string[]) => run('podman', args, { env });

  const logFd = openSync(join(root, 'service.log'), 'a');
  const service: ChildProcess = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
    env: { ...process.env, ...env },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => service.once('exit', () => resolve()));
  // Last resort if the test process dies without stop(): don't leave the API service behind.
  const killOnExit = () => service.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      process.removeListener('exit', killOnExit);
      await podman(['rm', '-af', '-t', '0']).catch(() => undefined);
      if (service.exitCode === null && service.signalCode === null) {
        service.kill('SIGTERM');
        const timer = setTimeout(() => service.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      // conmon runs `podman container cleanup` after each container exits, asynchronously to `rm`.
      for (let i = 0; processesMentioning(root).length && i < 100; i++) await sleep(50);
      for (const pid of processesMentioning(root)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      // Container shm tmpfs mounts are gone after `rm`; unmount any leftover so rm -rf can't fail on EBUSY.
      const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
        .split('\n')
        .map((l) => l.split(' ')[4])
        .filter((m): m is string => !!m && m.startsWith(root + '/'))
        .sort((a, b) => b.length - a.length);
      for (const m of mounts) await run('umount', ['-l', m]).catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    })());

  try {
    const bbTar = join(root, 'busybox.tar');
    await buildBusyboxTar(join(root, 'busybox-rootfs'), bbTar);
    // The image import and the service start are independent: overlap them.
    const imported = mustRun('podman', ['import', '-q', bbTar, BUSYBOX_IMAGE], {
      env,
    });
    const deadline = Date.now() + 15_000;
    while (!(await ping(socket))) {
      if (service.exitCode !== null || service.signalCode !== null)
        throw new Error(`podman system service exited: ${readFileSync(join(root, 'service.log'), 'utf8')}`);
      if (Date.now() > deadline) throw new Error(`podman API socket ${socket} did not answer within 15 s`);
      await sleep(20);
    }
    await imported;

    const makeImage = async (tag: string, opts: { label?: string } = {}) => {
      const nonceDir = await mkdtemp(join(root, 'tmp', 'image-'));
      await writeFile(join(nonceDir, 'mw-image-nonce'), `${randomUUID()}\n`);
      const tar = join(nonceDir, 'image.tar');
      await mustRun('tar', ['-cf', tar, '-C', join(root, 'busybox-rootfs'), '.', '-C', nonceDir, 'mw-image-nonce']);
      const change = opts.label ? ['--change', `LABEL ${opts.label}`] : [];
      const { stdout } = await mustRun('podman', ['import', '-q', ...change, tar, tag], { env });
      await rm(nonceDir, { recursive: true, force: true });
      return stdout.trim().split('\n').pop()!;
    };

    return {
      root,
      env,
      envPrelude: Object.entries(env)
        .map(([k, v]) => `export ${k}=${shQuote(v)}; `)
        .join(''),
      docker: (args) => run('docker', args, { env }),
      podman,
      busyboxImage: BUSYBOX_IMAGE,
      makeImage,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).status === 200;
  } catch {
    return false;
  }
}

/**
 * Writes a two-service compose app and brings it up (api healthy). Both services use the host network
 * (no netavark/iptables state shared with other engines) and shells that trap SIGTERM, so `stop` is
 * prompt instead of waiting the 10 s grace period for a PID 1 that ignores the signal.
 */
export async function startComposeProject(engine: ContainerEngine, opts: { apiPort?: number } = {}): Promise<ComposeProject> {
  const projectName = `mw${randomBytes(4).toString('hex')}`;
  const dir = join(engine.root, `compose-${projectName}`);
  await mkdir(dir);
  const port = opts.apiPort ?? (await freePort());
  // `$$` is compose's escape for a literal `$`.
  const api = `echo ok > /www/health; trap 'kill $$p; exit 0' TERM; httpd -f -p 127.0.0.1:${port} -h /www & p=$$!; wait $$p`;
  const worker = `trap 'exit 0' TERM; i=0; while :; do i=$$((i+1)); echo "seq=$$i"; usleep 100000; done`;
  const service = (command: string) =>
    [
      `    image: ${engine.busyboxImage}`,
      `    network_mode: host`,
      `    restart: "no"`,
      `    stop_grace_period: 5s`,
      `    command: ${JSON.stringify(['/bin/sh', '-c', command])}`,
    ].join('\n');
  const file = join(dir, 'docker-compose.yml');
  await writeFile(file, `version: "2.4"\nservices:\n  api:\n${service(api)}\n  worker:\n${service(worker)}\n`);

  const apiUrl = `http://127.0.0.1:${port}`;
  const compose = (args: string[]) =>
    run('docker-compose', ['-p', projectName, '-f', file, ...args], {
      env: engine.env,
      cwd: dir,
    });
  const project: ComposeProject = {
    dir,
    projectName,
    apiUrl,
    compose,
    up: async () => {
      const r = await compose(['up', '-d']);
      if (r.code !== 0) throw new Error(`docker-compose up failed (${r.code}): ${r.stderr}`);
      await waitFor(`${apiUrl}/health`, () => healthy(`${apiUrl}/health`), 15_000);
    },
    down: async () => {
      const r = await compose(['down', '-t', '5']);
      if (r.code !== 0) throw new Error(`docker-compose down failed (${r.code}): ${r.stderr}`);
    },
  };
  await project.up();
  return project;
}
