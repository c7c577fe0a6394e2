import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, portAccepts, waitFor } from './ports.js';
import { processTree, readPid, run, terminate } from './proc.js';

export const SSHD = '/usr/sbin/sshd';

export interface SshdFiles {
  dir: string;
  port: number;
  config: string;
  pidFile: string;
  log: string;
  hostKey: string;
  clientKey: string;
}

export interface SshdInfo extends SshdFiles {
  privateKey: string;
  knownHosts: string;
  hostFingerprint: string;
}

async function keygen(path: string, comment: string): Promise<void> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
}

function writeConfig(f: SshdFiles, allowPassword: boolean): void {
  const lines = [
    `Port ${f.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${f.hostKey}`,
    `PidFile ${f.pidFile}`,
    `AuthorizedKeysFile ${join(f.dir, 'authorized_keys')}/%u`,
    'StrictModes no',
    'UsePAM no',
    `PasswordAuthentication ${allowPassword ? 'yes' : 'no'}`,
    'KbdInteractiveAuthentication no',
    `PermitRootLogin ${allowPassword ? 'yes' : 'prohibit-password'}`,
    'Subsystem sftp internal-sftp',
    'MaxSessions 50',
    'MaxStartups 100',
    'PrintMotd no',
    'LogLevel VERBOSE',
  ];
  writeFileSync(f.config, lines.join('\n') + '\n');
}

/** Generate keys + config in `dir` and start sshd on a free port (retries if the port got taken). */
export async function setupSshd(dir: string, allowPassword: boolean, keyUsers: string[] = ['root']): Promise<SshdInfo> {
  mkdirSync(join(dir, 'authorized_keys'), { recursive: true });
  const files: SshdFiles = {
    dir,
    port: 0,
    config: join(dir, 'sshd_config'),
    pidFile: join(dir, 'sshd.pid'),
    log: join(dir, 'sshd.log'),
    hostKey: join(dir, 'host_ed25519'),
    clientKey: join(dir, 'id_ed25519'),
  };
  await Promise.all([keygen(files.hostKey, 'mw-sandbox-host'), keygen(files.clientKey, 'mw-sandbox-client')]);
  const clientPub = readFileSync(`${files.clientKey}.pub`, 'utf8');
  for (const user of keyUsers) {
    writeFileSync(join(dir, 'authorized_keys', user), clientPub, {
      mode: 0o600,
    });
  }

  for (let attempt = 1; ; attempt++) {
    files.port = await freePort();
    writeConfig(files, allowPassword);
    try {
      await startSshd(files);
      break;
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
  const [type, blob] = readFileSync(`${files.hostKey}.pub`, 'utf8').trim().split(/\s+/);
  const fp = await run('ssh-keygen', ['-lf', `${files.hostKey}.pub`]);
  return {
    ...files,
    privateKey: readFileSync(files.clientKey, 'utf8'),
    knownHosts: `[127.0.0.1]:${files.port} ${type} ${blob}`,
    hostFingerprint: fp.split(/\s+/)[1] ?? '',
  };
}

export async function startSshd(f: SshdFiles): Promise<void> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  // sshd binds, then daemonizes and writes the pid file; exits non-zero if the bind fails.
  await run(SSHD, ['-f', f.config, '-E', f.log]);
  await waitFor(`sshd on port ${f.port}`, async () => {
    return readPid(f.pidFile, f.config) !== undefined && (await portAccepts(f.port));
  });
}

/** Stop the listener; by default also every session it forked (like the host going down). */
export async function stopSshd(f: SshdFiles, keepSessions = false): Promise<void> {
  const pid = readPid(f.pidFile, f.config);
  if (pid === undefined) return;
  await terminate(keepSessions ? [pid] : processTree(pid));
  await waitFor('sshd port to close', async () => !(await portAccepts(f.port)), 5000);
}
