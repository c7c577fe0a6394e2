import net from 'node:net';
import { NodeSSH, type Config } from 'node-ssh';
import type { Duplex } from 'node:stream';
import { parseKnownHosts, verifyHostKey, type KnownHostEntry } from './known-hosts.js';

export interface SshCredentials {
  username: string;
  privateKey?: string;
  passphrase?: string;
  password?: string;
}

export interface HostKeyPolicy {
  strict: boolean;
  knownHosts?: string;
  fingerprint?: string;
  /** Told when a key is accepted without being pinned (strict: false). */
  warn: (message: string) => void;
}

export interface SshEndpointOptions extends SshCredentials {
  host: string;
  port: number;
  connectTimeoutMs: number;
}

/** Thrown when the host key is refused: never retried. */
export class HostKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostKeyError';
  }
}

function tcpSocket(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out connecting to ${host}:${port} after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Connects one SSH hop with the host key pinned, over a socket or a forwarded channel (jump host). */
export async function connectSsh(endpoint: SshEndpointOptions, policy: HostKeyPolicy, via?: NodeSSH): Promise<NodeSSH> {
  const pins: { knownHosts?: KnownHostEntry[]; fingerprint?: string } = {
    knownHosts: policy.knownHosts ? parseKnownHosts(policy.knownHosts) : undefined,
    fingerprint: policy.fingerprint,
  };
  let refusal: string | undefined;
  let sock: Duplex;
  try {
    sock = via ? await via.forwardOut('127.0.0.1', 0, endpoint.host, endpoint.port) : await tcpSocket(endpoint.host, endpoint.port, endpoint.connectTimeoutMs);
  } catch (error) {
    throw describeConnectError(error, endpoint);
  }
  const config: Config = {
    host: endpoint.host,
    port: endpoint.port,
    sock,
    username: endpoint.username,
    privateKey: endpoint.privateKey,
    passphrase: endpoint.passphrase,
    password: endpoint.password,
    readyTimeout: endpoint.connectTimeoutMs,
    keepaliveInterval: 10_000,
    keepaliveCountMax: 3,
    tryKeyboard: false,
    hostVerifier: (key: Buffer) => {
      const verdict = verifyHostKey(key, endpoint.host, endpoint.port, pins);
      if (verdict.ok) return true;
      if (!policy.strict) {
        policy.warn(`strict-host-key-checking is off: accepting an unpinned host key (${verdict.reason})`);
        return true;
      }
      refusal = verdict.reason;
      return false;
    },
  };
  const ssh = new NodeSSH();
  try {
    await ssh.connect(config);
  } catch (error) {
    sock.destroy();
    if (refusal) throw new HostKeyError(`Refused to connect to ${endpoint.host}:${endpoint.port}: ${refusal}`);
    throw describeConnectError(error, endpoint);
  }
  return ssh;
}

function describeConnectError(error: unknown, endpoint: SshEndpointOptions): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (/authentication methods failed/i.test(message)) {
    const method = endpoint.privateKey ? 'the private key' : 'the password';
    return new Error(
      `SSH login to ${endpoint.username}@${endpoint.host}:${endpoint.port} was refused with ${method} (check that its public key is in the user's authorized_keys)`,
    );
  }
  if (/passphrase/i.test(message) || /Encrypted private/i.test(message)) {
    return new Error(`the private key for ${endpoint.username}@${endpoint.host} is encrypted and the passphrase is missing or wrong`);
  }
  return new Error(`SSH connection to ${endpoint.host}:${endpoint.port} failed: ${message}`);
}
