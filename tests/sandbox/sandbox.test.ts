import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Client } from 'ssh2';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { isAlive, processTree, readPid } from './proc.js';
import { startSandbox, type Sandbox } from './sandbox.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? Number((err as { code?: unknown }).code ?? 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('sandbox (default options)', () => {
  let sb: Sandbox;
  let knownHostsFile: string;

  const ssh = (command: string) =>
    exec('ssh', [
      '-F',
      '/dev/null',
      '-i',
      sb.ssh.privateKeyPath,
      '-p',
      String(sb.ssh.port),
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
      `${sb.ssh.username}@${sb.ssh.host}`,
      command,
    ]);

  const tcpPsql = (password: string | undefined) =>
    exec(
      'psql',
      [
        '-X',
        '-w',
        '-At',
        '-h',
        sb.postgres.host,
        '-p',
        String(sb.postgres.port),
        '-U',
        sb.postgres.user,
        '-d',
        sb.postgres.database,
        '-c',
        'select current_user',
      ],
      {
        PGPASSFILE: '/dev/null',
        ...(password ? { PGPASSWORD: password } : {}),
      },
    );

  const get = async (path: string) => {
    const res = await fetch(`${sb.app!.url}${path}`);
    return {
      status: res.status,
      body: (await res.json()) as Record<string, unknown>,
    };
  };

  beforeAll(async () => {
    const t0 = Date.now();
    sb = await startSandbox();
    console.log(`startSandbox took ${Date.now() - t0} ms`);
    knownHostsFile = join(sb.root, 'test_known_hosts');
    writeFileSync(knownHostsFile, sb.ssh.knownHosts + '\n');
  });
  afterAll(async () => {
    await sb?.stop();
  });

  it('accepts the key over real ssh with strict host key checking', async () => {
    expect(sb.ssh.knownHosts).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sb.ssh.port} ssh-ed25519 AAAA\\S+$`));
    expect(sb.ssh.privateKey).toContain('BEGIN OPENSSH PRIVATE KEY');
    const r = await ssh('echo ok');
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ code: 0, stdout: 'ok\n' });
  });

  it('reports the host key fingerprint as ssh-keygen -lf prints it', async () => {
    const r = await exec('ssh-keygen', ['-lf', join(sb.root, 'ssh', 'host_ed25519.pub')]);
    expect(sb.ssh.hostFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(r.stdout.split(/\s+/)[1]).toBe(sb.ssh.hostFingerprint);
  });

  it('keeps the port and host key across an sshd restart', async () => {
    await sb.stopSshd();
    expect((await ssh('echo ok')).code).not.toBe(0);
    await sb.startSshd();
    expect(await ssh('echo again')).toMatchObject({
      code: 0,
      stdout: 'again\n',
    });
  });

  it('needs the ner11 password for TCP connections', async () => {
    expect(await tcpPsql(sb.postgres.password)).toMatchObject({
      code: 0,
      stdout: 'ner11\n',
    });
    const refused = await tcpPsql(undefined);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/password/);
    expect((await tcpPsql('wrong')).code).not.toBe(0);
  });

  it('seeds bloat: dead tuples, a heap several times the live data, an invalid index', async () => {
    const [live, dead] = (await sb.psql("select n_live_tup, n_dead_tup from pg_stat_user_tables where relname = 'vendor_equipment'", 'ner11_db'))
      .split('|')
      .map(Number);
    expect(live).toBeGreaterThan(5000);
    expect(dead).toBeGreaterThan(1000);
    const ratio = Number(
      await sb.psql("select pg_relation_size('threat_intelligence') / (select sum(pg_column_size(t.*)) from threat_intelligence t)", 'ner11_db'),
    );
    expect(ratio).toBeGreaterThan(3);
    const invalid = await sb.psql('select indexrelid::regclass from pg_index where not indisvalid', 'ner11_db');
    expect(invalid).toBe('threat_intelligence_source_uniq');
    expect(await sb.psql("select tableowner from pg_tables where tablename = 'vendor_equipment'", 'ner11_db')).toBe('ner11');
  });

  it('has a verified gzip backup and can make a custom-format one', async () => {
    const initial = readdirSync(sb.backupsDir).sort();
    expect(initial).toHaveLength(2);
    for (const kind of ['plain-gz', 'custom'] as const) {
      const file = kind === 'plain-gz' ? join(sb.backupsDir, initial[0]!) : await sb.makeBackup(kind);
      expect(basename(file)).toMatch(kind === 'plain-gz' ? /^ner11_db_\d{8}_\d{6}\.sql\.gz$/ : /^ner11_db_\d{8}_\d{6}\.dump$/);
      const hex = createHash('sha256').update(readFileSync(file)).digest('hex');
      expect(readFileSync(`${file}.sha256`, 'utf8')).toBe(`${hex}  ${basename(file)}\n`);
      expect((await exec('sh', ['-c', `cd "${sb.backupsDir}" && sha256sum -c "${basename(file)}.sha256"`])).code).toBe(0);
      if (kind === 'plain-gz') expect((await exec('gunzip', ['-t', file])).code).toBe(0);
      else expect((await exec('pg_restore', ['-l', file])).stdout).toContain('vendor_equipment');
    }
  });

  it('serves health, DB health and stats, logging each request first', async () => {
    expect(await get('/api/v1/health')).toEqual({
      status: 200,
      body: { status: 'ok' },
    });
    expect(await get('/api/v1/db/health')).toEqual({
      status: 200,
      body: { status: 'ok', rows: 10000 },
    });
    expect(readFileSync(sb.app!.accessLog, 'utf8')).toMatch(/^127\.0\.0\.1 - - \[[^\]]+\] "GET \/api\/v1\/db\/health HTTP\/1\.1" 200 \d+$/m);
    expect((await get('/api/v1/stats')).body.requests).toBeGreaterThanOrEqual(3);
  });

  it('turns DB health to 503 while PostgreSQL is down', async () => {
    await sb.stopPostgres();
    expect((await get('/api/v1/db/health')).status).toBe(503);
    expect((await get('/api/v1/health')).status).toBe(200);
    await sb.startPostgres();
    expect((await get('/api/v1/db/health')).status).toBe(200);
    await sb.restartPostgres();
    expect((await get('/api/v1/db/health')).status).toBe(200);
  });

  it('stops and starts the app, also through its commands over ssh', async () => {
    const app = sb.app!;
    expect((await ssh(app.statusCommand)).code).toBe(0);
    await sb.stopApp();
    expect(await sb.isAppUp()).toBe(false);
    expect((await ssh(app.statusCommand)).code).not.toBe(0);
    await sb.startApp();
    expect(await sb.isAppUp()).toBe(true);
    expect(await ssh(`${app.stopCommand} && ${app.statusCommand}; echo $?`)).toMatchObject({ code: 0, stdout: '1\n' });
    expect(await sb.isAppUp()).toBe(false);
    expect(await ssh(`${app.startCommand} && ${app.statusCommand}; echo $?`)).toMatchObject({ code: 0, stdout: '0\n' });
    expect(await sb.isAppUp()).toBe(true);
    expect(readFileSync(join(sb.root, 'bin', 'app-start.sh'), 'utf8')).not.toContain(sb.postgres.password);
  });

  it('has old and fresh logs and an empty state dir', () => {
    const logs = readdirSync(sb.logsDir);
    expect(logs).toEqual(expect.arrayContaining(['app.log', 'app.1.log', 'archive']));
    const ageDays = (f: string) => (Date.now() - statSync(join(sb.logsDir, f)).mtimeMs) / 86_400_000;
    expect(ageDays('app.1.log')).toBeGreaterThan(9);
    expect(ageDays('app.log')).toBeLessThan(1);
    expect(ageDays('archive/app-old.log.gz')).toBeGreaterThan(99);
    expect(readdirSync(sb.stateDir)).toEqual([]);
  });

  it('stop() leaves no process and no files behind, and is idempotent', async () => {
    const pids = [
      ...processTree(readPid(join(sb.root, 'ssh', 'sshd.pid'), sb.root)!),
      ...processTree(readPid(join(sb.postgres.dataDir, 'postmaster.pid'), sb.root)!),
      readPid(join(sb.root, 'app.pid'), sb.root)!,
    ];
    expect(pids.length).toBeGreaterThan(5);
    expect(pids.every(isAlive)).toBe(true);
    const t0 = Date.now();
    await sb.stop();
    console.log(`stop took ${Date.now() - t0} ms`);
    await sb.stop();
    expect(pids.filter(isAlive)).toEqual([]);
    expect(existsSync(sb.root)).toBe(false);
  });
});

describe('sandbox options: no app, no bloat, extra tables, password user', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({
      app: false,
      seedBloat: false,
      extraTables: 25,
      passwordUser: true,
    });
  });
  afterAll(async () => {
    await sb?.stop();
  });

  it('honours the options', async () => {
    expect(sb.app).toBeUndefined();
    expect(await sb.isAppUp()).toBe(false);
    expect(await sb.psql("select count(*) from pg_tables where tablename like 't\\_%'", 'ner11_db')).toBe('25');
    expect(await sb.psql('select count(*) from t_0025', 'ner11_db')).toBe('10');
    expect(await sb.psql('select count(*) from pg_index where not indisvalid', 'ner11_db')).toBe('0');
  });

  it('lets the password user log in with its password', async () => {
    const user = sb.ssh.passwordUser!;
    expect(user.username).toBe('mwpass');
    const out = await new Promise<string>((resolve, reject) => {
      const conn = new Client();
      conn
        .on('ready', () =>
          conn.exec('id -un', (err, stream) => {
            if (err) return reject(err);
            let data = '';
            stream.on('data', (d: Buffer) => (data += d.toString())).on('close', () => (conn.end(), resolve(data)));
          }),
        )
        .on('error', reject)
        .connect({
          host: sb.ssh.host,
          port: sb.ssh.port,
          username: user.username,
          password: user.password,
          tryKeyboard: false,
        });
    });
    expect(out).toBe('mwpass\n');
  });
});
