import { appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { processTree, readPid, run, signal, terminate, type RunOptions } from './proc.js';

const PG_BIN_DIRS = ['/usr/local/bin', '/usr/lib/postgresql/15/bin', '/usr/bin'];

/** initdb/pg_ctl/psql/... from /usr/local/bin or the Debian postgresql-15 package. */
export function pgBin(name: string): string {
  for (const dir of PG_BIN_DIRS) if (existsSync(join(dir, name))) return join(dir, name);
  throw new Error(`PostgreSQL binary '${name}' not found in ${PG_BIN_DIRS.join(', ')}; run scripts/install-system-packages.sh as root`);
}

export const SUPERUSER = 'postgres';

export interface PgFiles {
  dataDir: string;
  socketDir: string;
  log: string;
  port: number;
}

function postgresOsUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error("OS user 'postgres' is missing (initdb refuses to run as root); install postgresql-15");
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function asPostgres(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return run(cmd, args, {
    ...postgresOsUser(),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
    cwd: '/',
    ...opts,
  });
}

const TEMPLATE = join(tmpdir(), 'mw-pgtemplate-15');

/**
 * initdb takes ~1 s, copying its result ~0.2 s: one pristine cluster per machine, built in a
 * temp dir and renamed into place (if another worker won the race, its copy is used).
 */
async function clusterTemplate(): Promise<string> {
  if (existsSync(join(TEMPLATE, 'PG_VERSION'))) return TEMPLATE;
  const { uid, gid } = postgresOsUser();
  const tmp = mkdtempSync(`${TEMPLATE}.tmp-`);
  try {
    chownSync(tmp, uid, gid);
    await asPostgres(pgBin('initdb'), ['-D', join(tmp, 'data'), '-U', SUPERUSER, '-A', 'trust', '--no-sync', '--locale=C', '-E', 'UTF8']);
    try {
      renameSync(join(tmp, 'data'), TEMPLATE);
    } catch (e) {
      if (!existsSync(join(TEMPLATE, 'PG_VERSION'))) throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return TEMPLATE;
}

/** A fresh cluster in root/pg (socket + log in root/pgrun), started on a free 127.0.0.1 port. */
export async function setupPostgres(root: string): Promise<PgFiles> {
  const f: PgFiles = {
    dataDir: join(root, 'pg'),
    socketDir: join(root, 'pgrun'),
    log: join(root, 'pgrun', 'postgres.log'),
    port: 0,
  };
  const { uid, gid } = postgresOsUser();
  mkdirSync(f.socketDir, { mode: 0o700 });
  chownSync(f.socketDir, uid, gid);
  await run('cp', ['-a', await clusterTemplate(), f.dataDir]);
  writeFileSync(join(f.dataDir, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n');
  appendFileSync(join(f.dataDir, 'postgresql.conf'), "\ninclude 'sandbox.conf'\n");
  for (let attempt = 1; ; attempt++) {
    f.port = await freePort();
    const conf = [
      `port = ${f.port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${f.socketDir}'`,
      "password_encryption = 'scram-sha-256'",
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'shared_buffers = 32MB',
      'max_connections = 60',
    ];
    writeFileSync(join(f.dataDir, 'sandbox.conf'), conf.join('\n') + '\n');
    chownSync(join(f.dataDir, 'sandbox.conf'), uid, gid);
    try {
      await startPostgres(f);
      return f;
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
}

export function postmasterPid(dataDir: string): number | undefined {
  return readPid(join(dataDir, 'postmaster.pid'), dataDir);
}

export async function startPostgres(f: PgFiles): Promise<void> {
  if (postmasterPid(f.dataDir) !== undefined) return;
  await asPostgres(pgBin('pg_ctl'), ['-D', f.dataDir, '-l', f.log, '-w', '-t', '30', 'start']);
}

export async function stopPostgres(f: PgFiles, mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
  const pid = postmasterPid(f.dataDir);
  if (pid === undefined) return;
  const tree = processTree(pid);
  try {
    await asPostgres(pgBin('pg_ctl'), ['-D', f.dataDir, '-m', mode, '-w', '-t', '30', 'stop']);
  } finally {
    await terminate(tree, 0);
  }
}

/** Synchronous immediate shutdown for the process 'exit' hook. */
export function killPostgresSync(dataDir: string): void {
  const pid = postmasterPid(dataDir);
  if (pid !== undefined) signal([pid], 'SIGQUIT');
}

/** Run SQL as the superuser over the unix socket; stdout of `psql -At`. */
export function psql(f: PgFiles, sql: string, db = 'postgres'): Promise<string> {
  const args = ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', f.socketDir, '-p', String(f.port), '-U', SUPERUSER, '-d', db, '-f', '-'];
  return run(pgBin('psql'), args, {
    input: sql,
    env: { ...process.env, PGPASSFILE: '/dev/null' },
  }).then((s) => s.replace(/\n$/, ''));
}
