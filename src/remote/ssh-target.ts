import net from 'node:net';
import type { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import { killGroupScript, PidMarkerFilter, wrapCommand } from './command-wrapper.js';
import { OutputTail } from './output-tail.js';
import { atomicWriteScript, readFileScript, READ_MISSING_EXIT, READ_TOO_LARGE_EXIT } from './file-scripts.js';
import { connectSsh, HostKeyError, type HostKeyPolicy, type SshCredentials } from './ssh-connect.js';
import { RemoteCommandError, type ExecOptions, type ExecResult, type Target, type Tunnel } from './target.js';

export interface SshTargetOptions extends SshCredentials {
  host: string;
  port: number;
  connectTimeoutMs: number;
  hostKeys: HostKeyPolicy;
  jump?: SshCredentials & { host: string; port: number };
  log?: (message: string) => void;
}

/** Thrown when the connection dropped while a command ran: the command's fate on the host is unknown. */
export class ConnectionLostError extends Error {
  constructor(target: string) {
    super(`the SSH connection to ${target} was lost while a command ran`);
    this.name = 'ConnectionLostError';
  }
}

const DEFAULT_TAIL = 64 * 1024;
const KILL_MARKER_WAIT_MS = 5000;
const READ_LIMIT = 64 * 1024 * 1024;

/** ssh2 marks a refused channel open with the server's reason code. */
function isChannelOpenFailure(error: unknown): boolean {
  return typeof (error as { reason?: unknown } | undefined)?.reason === 'number';
}

/** A host over SSH: one connection for the whole window, reconnected (with backoff) when it drops between commands. */
export class SshTarget implements Target {
  readonly description: string;
  private ssh?: NodeSSH;
  private jumpSsh?: NodeSSH;
  private alive = false;
  private connecting?: Promise<void>;
  private unreachable?: { until: number; error: Error };
  private readonly tunnels = new Set<Tunnel>();

  constructor(private readonly options: SshTargetOptions) {
    this.description = `${options.username}@${options.host}:${options.port}`;
  }

  /** Connects (or reconnects) with backoff until the connect timeout; a refused host key is never retried. */
  async connect(): Promise<void> {
    if (this.alive) return;
    // Once a whole connect timeout passed without reaching the host, the writes that follow (journal, lock) must
    // not each wait that long again: they fail at once for the next connect timeout, then try again.
    if (this.unreachable && Date.now() < this.unreachable.until) {
      throw new Error(`${this.unreachable.error.message} (not retried: ${this.description} was unreachable moments ago)`, { cause: this.unreachable.error });
    }
    this.connecting ??= this.connectWithBackoff()
      .then(() => {
        this.unreachable = undefined;
      })
      .catch((error: unknown) => {
        if (!(error instanceof HostKeyError)) this.unreachable = { until: Date.now() + this.options.connectTimeoutMs, error: error as Error };
        throw error;
      })
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  private async connectWithBackoff(): Promise<void> {
    const deadline = Date.now() + this.options.connectTimeoutMs;
    let delay = 250;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.connectOnce(Math.max(1000, deadline - Date.now()));
        if (attempt > 1) this.options.log?.(`connected to ${this.description} after ${attempt} attempts`);
        return;
      } catch (error) {
        if (error instanceof HostKeyError || /refused with|passphrase/.test((error as Error).message)) throw error;
        if (Date.now() + delay >= deadline) {
          if (attempt === 1) throw error;
          throw new Error(`${(error as Error).message} (gave up after ${attempt} attempts within the ${this.options.connectTimeoutMs} ms connect timeout)`, {
            cause: error,
          });
        }
        this.options.log?.(`connection to ${this.description} failed (${(error as Error).message}); retrying in ${delay} ms`);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  private async connectOnce(timeoutMs: number): Promise<void> {
    this.dispose();
    const { jump, hostKeys } = this.options;
    if (jump) {
      this.jumpSsh = await connectSsh({ ...jump, connectTimeoutMs: timeoutMs }, hostKeys);
    }
    let ssh: NodeSSH;
    try {
      ssh = await connectSsh({ ...this.options, connectTimeoutMs: timeoutMs }, hostKeys, this.jumpSsh);
    } catch (error) {
      this.dispose(); // the jump connection would otherwise stay open
      throw error;
    }
    this.ssh = ssh;
    this.alive = true;
    const markDead = () => {
      if (this.ssh === ssh) this.alive = false;
    };
    ssh.connection?.on('close', markDead);
    ssh.connection?.on('end', markDead);
    ssh.connection?.on('error', markDead);
  }

  private dispose(): void {
    this.alive = false;
    this.ssh?.dispose();
    this.jumpSsh?.dispose();
    this.ssh = undefined;
    this.jumpSsh = undefined;
  }

  private async channel(command: string): Promise<ClientChannel> {
    await this.connect();
    const connection = this.ssh!.connection!;
    return new Promise((resolve, reject) => {
      try {
        connection.exec(command, (error, channel) => (error ? reject(error) : resolve(channel)));
      } catch (error) {
        reject(error);
      }
    });
  }

  async exec(script: string, options: ExecOptions = {}): Promise<ExecResult> {
    const { command, stdin } = wrapCommand(script, options);
    const started = Date.now();
    let channel: ClientChannel;
    try {
      channel = await this.channel(command);
    } catch (error) {
      // A refused channel (e.g. sshd's MaxSessions) is not a dead connection: reconnecting would cut the others.
      if (error instanceof HostKeyError) throw error;
      if (isChannelOpenFailure(error)) {
        throw new Error(
          `${this.description} refused a new SSH session (${(error as Error).message}): sshd's MaxSessions bounds concurrent commands per connection`,
        );
      }
      // The connection may have died silently between commands: reconnect once and retry.
      this.alive = false;
      channel = await this.channel(command);
    }
    const limit = options.tailBytes ?? DEFAULT_TAIL;
    const stdout = new OutputTail('stdout', limit, options.onLine);
    const stderr = new OutputTail('stderr', limit, options.onLine);
    const marker = new PidMarkerFilter((chunk) => stderr.push(chunk));
    let timedOut = false;
    let killing: Promise<void> | undefined;

    const kill = () => {
      timedOut = true;
      killing ??= (async () => {
        // A kill right after the start waits (briefly) for the pid of the group to arrive.
        await Promise.race([marker.settled(), new Promise((resolve) => setTimeout(resolve, KILL_MARKER_WAIT_MS))]);
        if (marker.pgid !== undefined) {
          try {
            const killer = await this.channel(killGroupScript(marker.pgid));
            await new Promise<void>((resolve) => killer.on('close', () => resolve()).resume());
          } catch {
            // The connection is gone; nothing more can be done from here.
          }
        }
        channel.close();
      })();
    };
    const timer = options.timeoutMs ? setTimeout(kill, options.timeoutMs) : undefined;
    options.signal?.addEventListener('abort', kill, { once: true });
    if (options.signal?.aborted) kill();

    channel.on('data', (chunk: Buffer) => stdout.push(chunk));
    channel.stderr.on('data', (chunk: Buffer) => marker.push(chunk));
    channel.stderr.on('end', () => marker.end());
    channel.end(stdin);

    return new Promise((resolve, reject) => {
      // The exit status comes with 'close' (ssh2 keeps it): an 'exit' listener added after the channel opened
      // misses it when the whole reply arrives in one TCP read, as it often does through a jump host.
      channel.on('close', async (code?: number | null, signal?: string) => {
        const exit = code === undefined ? undefined : { code, signal: signal ?? null };
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', kill);
        marker.end();
        if (killing) await killing;
        // No exit status and nobody killed it: the connection went away under the command.
        if (!exit && !timedOut) {
          reject(new ConnectionLostError(this.description));
          return;
        }
        resolve({
          code: timedOut ? null : (exit?.code ?? null),
          signal: timedOut ? 'TIMEOUT' : (exit?.signal ?? null),
          stdout: stdout.finish(),
          stderr: stderr.finish(),
          truncated: stdout.truncated || stderr.truncated,
          timedOut,
          durationMs: Date.now() - started,
        });
      });
    });
  }

  async tunnel(remoteHost: string, remotePort: number): Promise<Tunnel> {
    await this.connect();
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.setNoDelay(true);
      const forward = async () => {
        await this.connect();
        return this.ssh!.forwardOut('127.0.0.1', 0, remoteHost, remotePort);
      };
      forward()
        .catch((error) => {
          // As in exec: a connection that died unnoticed is reconnected once; a refused forward is final.
          if (error instanceof HostKeyError || isChannelOpenFailure(error)) throw error;
          this.alive = false;
          return forward();
        })
        .then((remote) => {
          socket.pipe(remote).pipe(socket);
          remote.on('error', () => socket.destroy());
          socket.on('error', () => remote.destroy());
          socket.on('close', () => remote.destroy());
        })
        .catch(() => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const tunnel: Tunnel = {
      localPort: (server.address() as net.AddressInfo).port,
      close: () =>
        new Promise<void>((resolve) => {
          this.tunnels.delete(tunnel);
          for (const socket of sockets) socket.destroy();
          server.close(() => resolve());
        }),
    };
    this.tunnels.add(tunnel);
    return tunnel;
  }

  async readFile(path: string): Promise<string | undefined> {
    const result = await this.exec(readFileScript(path, READ_LIMIT), { tailBytes: READ_LIMIT });
    if (result.code === READ_MISSING_EXIT) return undefined;
    if (result.code === READ_TOO_LARGE_EXIT || result.truncated) {
      throw new Error(`reading ${path} on ${this.description}: the file is larger than ${READ_LIMIT} bytes`);
    }
    if (result.code !== 0) throw new RemoteCommandError(this.description, `reading ${path}`, result);
    return result.stdout;
  }

  async writeFileAtomic(path: string, content: string, mode = 0o600): Promise<void> {
    const result = await this.exec(atomicWriteScript(path, mode), { stdin: content });
    if (result.code !== 0) throw new RemoteCommandError(this.description, `writing ${path}`, result);
  }

  async close(): Promise<void> {
    await Promise.all([...this.tunnels].map((tunnel) => tunnel.close()));
    this.dispose();
  }

  /** Test hook: cut the connection as a network failure would. */
  dropConnectionForTest(): void {
    this.ssh?.connection?.end();
  }
}
