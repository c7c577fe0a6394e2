/** SshTarget against the sandbox's real sshd (and a second sshd as a bastion). */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../src/remote/known-hosts.js';
import { HostKeyError } from '../../src/remote/ssh-connect.js';
import { ConnectionLostError, SshTarget, type SshTargetOptions } from '../../src/remote/ssh-target.js';
import { processTree, readPid, signal } from '../sandbox/proc.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { setupSshd, stopSshd, type SshdInfo } from '../sandbox/sshd.js';
import { execContract, pgrep, uniqueSleep, waitUntil } from './exec-contract.js';

let sandbox: Sandbox;
let scratch: string;
const opened: SshTarget[] = [];

function makeTarget(overrides: Partial<SshTargetOptions> = {}, warnings: string[] = []): SshTarget {
  const target = new SshTarget({
    host: sandbox.ssh.host,
    port: sandbox.ssh.port,
    username: sandbox.ssh.username,
    privateKey: sandbox.ssh.privateKey,
    connectTimeoutMs: 10_000,
    hostKeys: { strict: true, knownHosts: sandbox.ssh.knownHosts, warn: (m) => warnings.push(m) },
    ...overrides,
  });
  opened.push(target);
  return target;
}

/** A fresh ed25519 key pair: [private key text, public key line]. */
function keyPair(name: string, passphrase = ''): [string, string] {
  const file = join(scratch, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', name, '-f', file]);
  return [readFileSync(file, 'utf8'), readFileSync(`${file}.pub`, 'utf8')];
}

function sshdListener(): number {
  const pid = readPid(join(sandbox.root, 'ssh', 'sshd.pid'), sandbox.root);
  if (pid === undefined) throw new Error('the sandbox sshd is not running');
  return pid;
}

/** Kills every sshd session process (not the listener): the TCP connections die as in a network cut. */
function cutSessions(): number[] {
  const sessions = processTree(sshdListener()).slice(1);
  signal(sessions, 'SIGKILL');
  return sessions;
}

async function elapsed<T>(work: () => Promise<T>): Promise<{ ms: number; value?: T; error?: Error }> {
  const started = Date.now();
  try {
    const value = await work();
    return { ms: Date.now() - started, value };
  } catch (error) {
    return { ms: Date.now() - started, error: error as Error };
  }
}

beforeAll(async () => {
  sandbox = await startSandbox({ app: false, seedBloat: false, passwordUser: true });
  scratch = mkdtempSync(join(tmpdir(), 'mw-ssh-target-'));
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((target) => target.close()));
});
afterAll(async () => {
  await sandbox?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('SshTarget exec (shared contract)', () => {
  let shared: SshTarget;
  beforeAll(() => {
    shared = new SshTarget({
      host: sandbox.ssh.host,
      port: sandbox.ssh.port,
      username: sandbox.ssh.username,
      privateKey: sandbox.ssh.privateKey,
      connectTimeoutMs: 10_000,
      hostKeys: { strict: true, knownHosts: sandbox.ssh.knownHosts, warn: () => undefined },
    });
  });
  afterAll(async () => shared?.close());

  it('runs under /bin/sh semantics whatever the login shell, as the sandbox user', async () => {
    const result = await shared.exec('readlink /proc/$$/exe; id -u');
    expect(result).toMatchObject({ code: 0, stdout: '/usr/bin/dash\n0\n', stderr: '' });
  });

  execContract(
    () => shared,
    () => scratch,
  );

  it('runs concurrent commands over one connection with separate results', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => shared.exec(`sleep 0.2; echo ${i}; echo e${i} >&2; exit ${i}`)));
    expect(results.map((r) => [r.code, r.stdout, r.stderr])).toEqual(Array.from({ length: 8 }, (_, i) => [i, `${i}\n`, `e${i}\n`]));
  });

  it('a session refused by sshd (MaxSessions 50) fails that command only, the others and the connection go on', async () => {
    const settled = await Promise.allSettled(Array.from({ length: 53 }, () => shared.exec('sleep 1; echo ok')));
    const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(failures.length).toBeGreaterThan(0);
    expect(String(failures[0].reason)).toMatch(/refused a new SSH session.*MaxSessions/);
    expect(settled.filter((s) => s.status === 'fulfilled' && s.value.stdout === 'ok\n')).toHaveLength(53 - failures.length);
    expect((await shared.exec('echo after')).stdout).toBe('after\n');
  });
});

describe('host keys', () => {
  it('refuses a host missing from known-hosts, naming the presented fingerprint, without retrying', async () => {
    const [, otherPublic] = keyPair('other-host');
    const knownHosts = `[127.0.0.1]:${sandbox.ssh.port + 1} ${otherPublic.split(' ').slice(0, 2).join(' ')}`;
    const { ms, error } = await elapsed(() => makeTarget({ hostKeys: { strict: true, knownHosts, warn: () => undefined } }).exec('true'));
    expect(error).toBeInstanceOf(HostKeyError);
    expect(error!.message).toMatch(/not in known-hosts/);
    expect(error!.message).toContain(sandbox.ssh.hostFingerprint);
    expect(ms).toBeLessThan(5000); // connectTimeout is 10 s: no retry happened
  });

  it('refuses a changed host key, naming both fingerprints', async () => {
    const [, otherPublic] = keyPair('changed-host');
    const [type, blob] = otherPublic.split(' ');
    const knownHosts = `[127.0.0.1]:${sandbox.ssh.port} ${type} ${blob}`;
    const { ms, error } = await elapsed(() => makeTarget({ hostKeys: { strict: true, knownHosts, warn: () => undefined } }).exec('true'));
    expect(error).toBeInstanceOf(HostKeyError);
    expect(error!.message).toMatch(/changed/);
    expect(error!.message).toContain(sandbox.ssh.hostFingerprint);
    expect(error!.message).toContain(fingerprintOf(Buffer.from(blob, 'base64')));
    expect(ms).toBeLessThan(5000); // connectTimeout is 10 s: no retry happened
  });

  it('accepts the pinned fingerprint and refuses another one', async () => {
    const pinned = makeTarget({ hostKeys: { strict: true, fingerprint: sandbox.ssh.hostFingerprint, warn: () => undefined } });
    expect((await pinned.exec('echo pinned')).stdout).toBe('pinned\n');
    const wrong = `SHA256:${'A'.repeat(43)}`;
    const { error } = await elapsed(() => makeTarget({ hostKeys: { strict: true, fingerprint: wrong, warn: () => undefined } }).exec('true'));
    expect(error).toBeInstanceOf(HostKeyError);
    expect(error!.message).toContain(wrong);
    expect(error!.message).toContain(sandbox.ssh.hostFingerprint);
  });

  it('with strict checking off, accepts an unpinned key and warns', async () => {
    const warnings: string[] = [];
    const target = makeTarget({ hostKeys: { strict: false, warn: (m) => warnings.push(m) } }, warnings);
    expect((await target.exec('echo loose')).stdout).toBe('loose\n');
    expect(warnings.join('\n')).toMatch(/strict-host-key-checking is off.*not in known-hosts/);
  });
});

describe('authentication', () => {
  it('refuses a private key the host does not know, fast and clearly', async () => {
    const [stranger] = keyPair('stranger');
    const { ms, error } = await elapsed(() => makeTarget({ privateKey: stranger, connectTimeoutMs: 20_000 }).exec('true'));
    expect(error?.message).toMatch(/mwroot@127\.0\.0\.1:\d+ was refused with the private key.*authorized_keys/);
    expect(ms).toBeLessThan(8000); // connectTimeout is 20 s: no retry happened
  });

  it('logs in with a password, and refuses a wrong one fast', async () => {
    const user = sandbox.ssh.passwordUser!;
    const target = makeTarget({ username: user.username, privateKey: undefined, password: user.password });
    expect((await target.exec('id -un')).stdout).toBe(`${user.username}\n`);
    const { ms, error } = await elapsed(() =>
      makeTarget({ username: user.username, privateKey: undefined, password: 'wrong', connectTimeoutMs: 20_000 }).exec('true'),
    );
    expect(error?.message).toMatch(/was refused with the password/);
    expect(ms).toBeLessThan(8000);
  });

  it('uses a passphrase-protected key with its passphrase; without it says so, fast', async () => {
    const [encrypted, publicLine] = keyPair('encrypted', 'pass phrase');
    appendFileSync(join(sandbox.root, 'ssh', 'authorized_keys', sandbox.ssh.username), publicLine);
    expect((await makeTarget({ privateKey: encrypted, passphrase: 'pass phrase' }).exec('echo unlocked')).stdout).toBe('unlocked\n');
    for (const passphrase of [undefined, 'wrong']) {
      const { ms, error } = await elapsed(() => makeTarget({ privateKey: encrypted, passphrase, connectTimeoutMs: 20_000 }).exec('true'));
      expect(error?.message).toMatch(/encrypted and the passphrase is missing or wrong/);
      expect(ms).toBeLessThan(8000);
    }
  });
});

describe('jump host', () => {
  let bastion: SshdInfo;
  beforeAll(async () => {
    bastion = await setupSshd(join(scratch, 'bastion'), false, [sandbox.ssh.username]);
  });
  afterAll(async () => {
    if (bastion) await stopSshd(bastion);
  });

  it('reaches the target through the bastion: the target sees a connection from the bastion sshd', async () => {
    const target = makeTarget({
      jump: { host: '127.0.0.1', port: bastion.port, username: sandbox.ssh.username, privateKey: bastion.privateKey },
      hostKeys: { strict: true, knownHosts: `${sandbox.ssh.knownHosts}\n${bastion.knownHosts}`, warn: () => undefined },
    });
    const client = (await target.exec('echo "$SSH_CLIENT"')).stdout.trim().split(' ');
    const sourcePort = Number(client[1]);
    // The TCP connection arriving at the target belongs to a process of the bastion's sshd.
    const sockets = execFileSync('ss', ['-tnpH', 'state', 'established', `( sport = :${sourcePort} )`], { encoding: 'utf8' });
    const owners = [...sockets.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    const bastionPids = processTree(readPid(bastion.pidFile, bastion.config)!);
    expect(owners.length).toBeGreaterThan(0);
    expect(owners.every((pid) => bastionPids.includes(pid))).toBe(true);
    expect(readFileSync(join(sandbox.root, 'ssh', 'sshd.log'), 'utf8')).toContain(
      `Connection from 127.0.0.1 port ${sourcePort} on 127.0.0.1 port ${sandbox.ssh.port}`,
    );
    expect(readFileSync(bastion.log, 'utf8')).toMatch(/Accepted publickey for mwroot/);
    // Through the bastion a whole reply (data, exit status, close) often arrives in one read: none may be lost.
    for (let i = 0; i < 15; i++) expect((await target.exec(`exit ${i}`)).code).toBe(i);
  });

  it('pins the bastion key too', async () => {
    const target = makeTarget({
      jump: { host: '127.0.0.1', port: bastion.port, username: sandbox.ssh.username, privateKey: bastion.privateKey },
    });
    const { error } = await elapsed(() => target.exec('true'));
    expect(error).toBeInstanceOf(HostKeyError);
    expect(error!.message).toContain(`127.0.0.1:${bastion.port}`);
    expect(error!.message).toContain(bastion.hostFingerprint);
  });
});

describe('reconnect', () => {
  it('runs the next command after the connection was dropped between commands', async () => {
    const target = makeTarget();
    expect((await target.exec('echo one')).stdout).toBe('one\n');
    target.dropConnectionForTest();
    expect((await target.exec('echo two')).stdout).toBe('two\n');
  });

  it('runs the next command after the sshd session serving it was killed', async () => {
    const target = makeTarget();
    expect((await target.exec('echo one')).stdout).toBe('one\n');
    expect(cutSessions().length).toBeGreaterThan(0);
    expect((await target.exec('echo two')).stdout).toBe('two\n');
  });

  it('reports a connection cut during a command as ConnectionLostError, promptly', async () => {
    const target = makeTarget();
    const sleep = uniqueSleep();
    const running = elapsed(() => target.exec(`${sleep.command}`));
    await waitUntil('the sleep to start', () => pgrep(sleep.pattern).length > 0);
    cutSessions();
    const { ms, error } = await running;
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect(ms).toBeLessThan(10_000); // not the 30 s keepalive, not the 300 s sleep
    expect((await target.exec('echo back')).stdout).toBe('back\n');
  });

  it('waits with backoff for an sshd that is down for 2 s', async () => {
    const lines: string[] = [];
    const target = makeTarget({ log: (m) => lines.push(m) });
    expect((await target.exec('echo before')).stdout).toBe('before\n');
    await sandbox.stopSshd();
    const restart = new Promise((resolve) => setTimeout(resolve, 2000)).then(() => sandbox.startSshd());
    const { ms, value, error } = await elapsed(() => target.exec('echo after'));
    await restart;
    expect(error).toBeUndefined();
    expect(value?.stdout).toBe('after\n');
    expect(ms).toBeGreaterThan(1900);
    expect(ms).toBeLessThan(10_000);
    expect(lines.some((l) => /retrying in \d+ ms/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/connected to .* after \d+ attempts/);
  });

  it('gives up with a clear error when sshd stays down past connectTimeout', async () => {
    const target = makeTarget({ connectTimeoutMs: 2000 });
    expect((await target.exec('true')).code).toBe(0);
    await sandbox.stopSshd();
    try {
      const { ms, error } = await elapsed(() => target.exec('true'));
      expect(error?.message).toMatch(
        new RegExp(
          `SSH connection to 127\\.0\\.0\\.1:${sandbox.ssh.port} failed: .*ECONNREFUSED.*gave up after \\d+ attempts within the 2000 ms connect timeout`,
        ),
      );
      expect(ms).toBeGreaterThan(1500);
      expect(ms).toBeLessThan(6000);
      // What follows (the journal, the lock) fails at once instead of waiting out another timeout each.
      const again = await elapsed(() => target.exec('true'));
      expect(again.error?.message).toMatch(/not retried: .* was unreachable moments ago/);
      expect(again.ms).toBeLessThan(500);
    } finally {
      await sandbox.startSshd();
    }
    // After that period it tries again, and the host is back.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await target.exec('true')).code).toBe(0);
  });
});

describe('tunnel', () => {
  it('carries a pg query to the sandbox PostgreSQL with password auth, and stops carrying when closed', async () => {
    const target = makeTarget();
    const tunnel = await target.tunnel('127.0.0.1', sandbox.postgres.port);
    const connect = async () => {
      const client = new pg.Client({
        host: '127.0.0.1',
        port: tunnel.localPort,
        user: sandbox.postgres.user,
        password: sandbox.postgres.password,
        database: sandbox.postgres.database,
        connectionTimeoutMillis: 3000,
      });
      await client.connect();
      try {
        return (await client.query('select current_user as who, inet_server_port() as port, $1::text as echoed', ["it's"])).rows[0];
      } finally {
        await client.end();
      }
    };
    expect(await connect()).toEqual({ who: 'ner11', port: sandbox.postgres.port, echoed: "it's" });
    const wrong = new pg.Client({
      host: '127.0.0.1',
      port: tunnel.localPort,
      user: sandbox.postgres.user,
      password: 'wrong',
      database: sandbox.postgres.database,
    });
    await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);
    await tunnel.close();
    await expect(connect()).rejects.toThrow();
  });

  it('reconnects for a new tunnelled connection after the SSH connection dropped', async () => {
    const target = makeTarget();
    const tunnel = await target.tunnel('127.0.0.1', sandbox.postgres.port);
    target.dropConnectionForTest();
    const client = new pg.Client({
      host: '127.0.0.1',
      port: tunnel.localPort,
      user: sandbox.postgres.user,
      password: sandbox.postgres.password,
      database: sandbox.postgres.database,
    });
    await client.connect();
    expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await client.end();
    await tunnel.close();
  });
});

describe('files', () => {
  it('refuses a file larger than 64 MiB from readFile up front, instead of returning a cut one', async () => {
    const target = makeTarget();
    const file = join(scratch, 'big.bin');
    execFileSync('truncate', ['-s', `${65 * 1024 * 1024}`, file]); // sparse: costs no disk
    const { ms, error } = await elapsed(() => target.readFile(file));
    expect(error?.message).toMatch(/big\.bin on mwroot@127\.0\.0\.1:\d+: the file is larger than 67108864 bytes/);
    expect(ms).toBeLessThan(1500); // the 65 MB were not streamed
    rmSync(file);
  });
});
