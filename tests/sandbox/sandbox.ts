/**
 * A throwaway "target host" on loopback: a real sshd, PostgreSQL 15 with a bloated ner11_db,
 * a small web app using it, backups and logs. Everything lives under one temp dir.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isAppUp, killApp, setupApp, startApp, stopApp, type AppFiles } from './app-process.js';
import { makeBackup, makeLogs, type BackupKind } from './fixtures.js';
import { isAlive, processTree, readPid, run, signal } from './proc.js';
import { killPostgresSync, pgBin, psql, setupPostgres, startPostgres, stopPostgres, SUPERUSER, type PgFiles } from './postgres.js';
import { roleSql, seedSql } from './seed.js';
import { SSHD, setupSshd, startSshd, stopSshd, type SshdInfo } from './sshd.js';

export interface SandboxOptions {
  /** Start the web app (default true). */
  app?: boolean;
  /** Dead tuples, bloat and an invalid index (default true). */
  seedBloat?: boolean;
  /** Also create N small tables t_0001..t_N (default 0). */
  extraTables?: number;
  /** Also allow password logins for the local user 'mwpass' (default false). */
  passwordUser?: boolean;
}

export interface Sandbox {
  root: string;
  ssh: {
    host: '127.0.0.1';
    port: number;
    username: string;
    privateKey: string;
    privateKeyPath: string;
    knownHosts: string;
    hostFingerprint: string;
    passwordUser?: { username: string; password: string };
  };
  postgres: {
    host: '127.0.0.1';
    port: number;
    database: 'ner11_db';
    user: 'ner11';
    password: string;
    superuser: 'postgres';
    dataDir: string;
    socketDir: string;
  };
  app?: {
    url: string;
    port: number;
    accessLog: string;
    startCommand: string;
    stopCommand: string;
    statusCommand: string;
  };
  backupsDir: string;
  logsDir: string;
  stateDir: string;
  env: Record<string, string>;
  /** Stops sshd and (unless keepSessions) every session it forked. */
  stopSshd(opts?: { keepSessions?: boolean }): Promise<void>;
  startSshd(): Promise<void>;
  stopPostgres(): Promise<void>;
  startPostgres(): Promise<void>;
  restartPostgres(): Promise<void>;
  stopApp(): Promise<void>;
  startApp(): Promise<void>;
  isAppUp(): Promise<boolean>;
  psql(sql: string, db?: string): Promise<string>;
  makeBackup(kind?: BackupKind): Promise<string>;
  stop(): Promise<void>;
}

const PREFIX = 'mw-sandbox-';
const PASSWORD_USER = 'mwpass';
/** Root-equivalent (uid 0) login with /bin/sh as shell: root's bash sources ~/.bashrc (pyenv) at ~0.7 s a command. */
export const ROOT_USER = 'mwroot';
const SHARED_DIR = '/var/lib/mw-sandbox';

/** Make sure sshd and the PostgreSQL server binaries exist; installs them when running as root. */
export function ensureSystemPackages(): void {
  const missing: string[] = [];
  if (!existsSync(SSHD)) missing.push('openssh-server');
  try {
    pgBin('initdb');
  } catch {
    missing.push('postgresql-15');
  }
  if (missing.length === 0) return;
  const cmd = ['apt-get', 'install', '-y', '-o', 'DPkg::Lock::Timeout=300', ...missing];
  if (process.getuid?.() !== 0) {
    throw new Error(`missing system packages; run: sudo ${cmd.join(' ')}  (or sudo bash scripts/install-system-packages.sh)`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync(cmd[0]!, cmd.slice(1), { env, stdio: 'inherit' });
  } catch {
    execFileSync('apt-get', ['update'], { env, stdio: 'inherit' });
    execFileSync(cmd[0]!, cmd.slice(1), { env, stdio: 'inherit' });
  }
}

// ---- last-resort cleanup, derived from the root path alone ----

/** Kill every process of the sandbox at `root` (pid files checked against root-unique paths). */
function killAllSync(root: string): void {
  const sshd = readPid(join(root, 'ssh', 'sshd.pid'), root);
  if (sshd !== undefined) signal(processTree(sshd), 'SIGKILL');
  killPostgresSync(join(root, 'pg'));
  const app = readPid(join(root, 'app.pid'), root);
  if (app !== undefined) signal([app], 'SIGKILL');
}

const live = new Set<string>();
let hooked = false;
function trackRoot(root: string): void {
  live.add(root);
  if (hooked) return;
  hooked = true;
  const cleanup = () => {
    for (const r of live) {
      killAllSync(r);
      rmSync(r, { recursive: true, force: true });
    }
    live.clear();
  };
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      cleanup();
      process.kill(process.pid, sig);
    });
  }
}

/** A sandbox whose owning process is gone (or that never got an owner within a minute). */
function isStale(root: string): boolean {
  try {
    const owner = Number.parseInt(readFileSync(join(root, 'owner.pid'), 'utf8'), 10);
    return !(owner > 0 && isAlive(owner));
  } catch {
    const st = statSync(root, { throwIfNoEntry: false });
    return st !== undefined && Date.now() - st.mtimeMs > 60_000;
  }
}

/** Remove sandboxes left behind by processes that died without cleaning up (e.g. SIGKILL). */
function reapStale(): void {
  for (const name of readdirSync(tmpdir())) {
    const root = join(tmpdir(), name);
    if (!name.startsWith(PREFIX) || !isStale(root)) continue;
    killAllSync(root);
    rmSync(root, { recursive: true, force: true });
  }
}

/** The shared password-login user: created once per machine, its random password kept root-only. */
async function ensurePasswordUser(): Promise<{
  username: string;
  password: string;
}> {
  const dir = SHARED_DIR;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pwFile = join(dir, `${PASSWORD_USER}.password`);
  const script = `
    if [ ! -s "$2" ] || ! id "$1" >/dev/null 2>&1; then
      id "$1" >/dev/null 2>&1 || useradd -m -s /bin/sh "$1"
      pw=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \\n')
      echo "$1:$pw" | chpasswd
      (umask 077; echo "$pw" >"$2")
    fi
    cat "$2"`;
  const out = await run('flock', [join(dir, 'lock'), 'sh', '-c', script, 'sh', PASSWORD_USER, pwFile]);
  return { username: PASSWORD_USER, password: out.trim() };
}

/** The shared uid-0 login user: created once per machine (under the same lock as the password user). */
async function ensureRootUser(): Promise<void> {
  mkdirSync(SHARED_DIR, { recursive: true, mode: 0o700 });
  const home = join(SHARED_DIR, 'home');
  // The home must exist, or sshd prints "Could not chdir to home directory" on every command's stderr.
  const script = `
    mkdir -p "$2"
    if ! getent passwd "$1" >/dev/null; then
      useradd -o -u 0 -g 0 -M -d "$2" -s /bin/sh "$1"
      usermod -p '*' "$1"
    fi`;
  await run('flock', [join(SHARED_DIR, 'lock'), 'sh', '-c', script, 'sh', ROOT_USER, home]);
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const { app: withApp = true, seedBloat = true, extraTables = 0, passwordUser = false } = opts;
  ensureSystemPackages();
  reapStale();
  const root = mkdtempSync(join(tmpdir(), PREFIX));
  chmodSync(root, 0o755); // the postgres OS user must reach root/pg
  writeFileSync(join(root, 'owner.pid'), String(process.pid));
  trackRoot(root);

  const dirs = {
    backupsDir: join(root, 'backups'),
    logsDir: join(root, 'logs'),
    stateDir: join(root, 'state'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d);
  makeLogs(dirs.logsDir);
  const pgPassword = randomBytes(18).toString('hex');

  let sshd: SshdInfo | undefined;
  let pg: PgFiles | undefined;
  let app: AppFiles | undefined;
  let stopped: Promise<void> | undefined;

  const stop = () =>
    (stopped ??= (async () => {
      const steps: Array<() => Promise<void>> = [
        () => killApp(root),
        () => (sshd ? stopSshd(sshd) : Promise.resolve()),
        () => (pg ? stopPostgres(pg, 'immediate') : Promise.resolve()),
      ];
      await Promise.allSettled(steps.map((s) => s()));
      killAllSync(root);
      rmSync(root, { recursive: true, force: true });
      live.delete(root);
    })());

  try {
    // Settle every parallel step before looking at failures, so nothing still starts after stop().
    const sshdP = setupSshd(join(root, 'ssh'), passwordUser, [ROOT_USER]);
    const pgP = setupPostgres(root);
    const pwUserP = passwordUser ? ensurePasswordUser() : undefined;
    const rootUserP = ensureRootUser();
    await Promise.allSettled([sshdP, pgP, pwUserP, rootUserP]);
    await rootUserP;
    sshd = await sshdP;
    const pgFiles = (pg = await pgP);
    const pwUser = await pwUserP;
    await psql(pgFiles, roleSql(pgPassword));
    await psql(pgFiles, seedSql({ seedBloat, extraTables }), 'ner11_db');
    if (withApp) app = await setupApp(root, `postgresql://ner11:${pgPassword}@127.0.0.1:${pgFiles.port}/ner11_db`);
    const backupP = makeBackup(pgFiles, dirs.backupsDir);
    const appP = app && startApp(app);
    await Promise.allSettled([backupP, appP]);
    await backupP;
    await appP;
    const appFiles = app;
    const sshdFiles = sshd;

    return {
      root,
      ssh: {
        host: '127.0.0.1',
        port: sshd.port,
        username: ROOT_USER,
        privateKey: sshd.privateKey,
        privateKeyPath: sshd.clientKey,
        knownHosts: sshd.knownHosts,
        hostFingerprint: sshd.hostFingerprint,
        ...(pwUser ? { passwordUser: pwUser } : {}),
      },
      postgres: {
        host: '127.0.0.1',
        port: pg.port,
        database: 'ner11_db',
        user: 'ner11',
        password: pgPassword,
        superuser: SUPERUSER,
        dataDir: pg.dataDir,
        socketDir: pg.socketDir,
      },
      ...(appFiles
        ? {
            app: {
              url: appFiles.url,
              port: appFiles.port,
              accessLog: appFiles.accessLog,
              startCommand: appFiles.startCommand,
              stopCommand: appFiles.stopCommand,
              statusCommand: appFiles.statusCommand,
            },
          }
        : {}),
      ...dirs,
      env: {
        PATH: [join(root, 'bin'), dirname(pgBin('pg_ctl')), process.env.PATH ?? '/usr/bin:/bin'].join(':'),
        MW_SANDBOX_ROOT: root,
      },
      stopSshd: (o) => stopSshd(sshdFiles, o?.keepSessions),
      startSshd: () => startSshd(sshdFiles),
      stopPostgres: () => stopPostgres(pgFiles),
      startPostgres: () => startPostgres(pgFiles),
      restartPostgres: async () => {
        await stopPostgres(pgFiles);
        await startPostgres(pgFiles);
      },
      stopApp: () => (appFiles ? stopApp(appFiles) : Promise.resolve()),
      startApp: () => (appFiles ? startApp(appFiles) : Promise.reject(new Error('sandbox started with app: false'))),
      isAppUp: () => (appFiles ? isAppUp(appFiles) : Promise.resolve(false)),
      psql: (sql, db) => psql(pgFiles, sql, db),
      makeBackup: (kind) => makeBackup(pgFiles, dirs.backupsDir, kind),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
