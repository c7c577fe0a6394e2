import type { Settings } from '../settings/settings.js';
import { SshTarget } from './ssh-target.js';

/** The SSH target described by the settings (host keys pinned unless explicitly turned off). */
export function createSshTarget(settings: Settings, log: { info(m: string): void; warn(m: string): void }): SshTarget {
  const target = settings.target;
  if (!target) throw new Error('no target host was given');
  if (!settings.strictHostKeyChecking) {
    log.warn(`strict-host-key-checking is false: the host key of ${target.host} is not verified, so a machine in the middle could impersonate it`);
  }
  const jump = settings.jumpHost
    ? {
        ...settings.jumpHost,
        privateKey: settings.jumpPrivateKey ?? settings.privateKey,
        passphrase: settings.jumpPrivateKey ? undefined : settings.passphrase,
        password: settings.jumpPrivateKey ? undefined : settings.password,
      }
    : undefined;
  return new SshTarget({
    host: target.host,
    port: target.port,
    username: target.username,
    privateKey: settings.privateKey,
    passphrase: settings.passphrase,
    password: settings.password,
    connectTimeoutMs: settings.connectTimeoutMs,
    hostKeys: { strict: settings.strictHostKeyChecking, knownHosts: settings.knownHosts, fingerprint: settings.hostFingerprint, warn: (m) => log.warn(m) },
    jump,
    log: (m) => log.info(m),
  });
}
