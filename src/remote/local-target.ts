import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile, open } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { PidMarkerFilter, wrapCommand } from './command-wrapper.js';
import { OutputTail } from './output-tail.js';
import type { ExecOptions, ExecResult, Target, Tunnel } from './target.js';

/** The runner's own machine as the target (a self-hosted runner on the host, and tests). */
export class LocalTarget implements Target {
  readonly description = 'local';

  exec(script: string, options: ExecOptions = {}): Promise<ExecResult> {
    const { command, stdin } = wrapCommand(script, options);
    const started = Date.now();
    // detached: the shell leads a new session and process group, so a kill reaches its children too.
    const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const limit = options.tailBytes ?? 64 * 1024;
    const stdout = new OutputTail('stdout', limit, options.onLine);
    const stderr = new OutputTail('stderr', limit, options.onLine);
    const marker = new PidMarkerFilter((chunk) => stderr.push(chunk));
    let timedOut = false;
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    };
    const kill = () => {
      timedOut = true;
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), 5000).unref();
    };
    const timer = options.timeoutMs ? setTimeout(kill, options.timeoutMs) : undefined;
    options.signal?.addEventListener('abort', kill, { once: true });
    if (options.signal?.aborted) kill();
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => marker.push(chunk));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', kill);
        marker.end();
        resolve({
          code: timedOut ? null : code,
          signal: timedOut ? 'TIMEOUT' : signal,
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
    const server = net.createServer((socket) => {
      const upstream = net.connect({ host: remoteHost, port: remotePort });
      socket.pipe(upstream).pipe(socket);
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      localPort: (server.address() as net.AddressInfo).port,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  async readFile(file: string): Promise<string | undefined> {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async writeFileAtomic(file: string, content: string, mode = 0o600): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true });
    const temp = `${file}.tmp.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(temp, content, { mode });
    // The create mode is filtered by the umask: set it exactly.
    await chmod(temp, mode);
    const handle = await open(temp, 'r');
    await handle.sync();
    await handle.close();
    await rename(temp, file);
  }

  async close(): Promise<void> {}
}
