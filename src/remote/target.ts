export type OutputStream = 'stdout' | 'stderr';

export interface ExecOptions {
  /** Working directory on the target. */
  cwd?: string;
  /** Environment for the command (not secret: it is part of the command line). */
  env?: Record<string, string>;
  /** Secret environment: sent over stdin, never in the command line. Values are single lines. */
  secretEnv?: Record<string, string>;
  /** Data written to the command's stdin (after the secrets). */
  stdin?: string;
  /** Kills the remote process group when it runs longer. */
  timeoutMs?: number;
  /** Each output line as it arrives (for the log). */
  onLine?: (stream: OutputStream, line: string) => void;
  /** Bytes of each stream kept for the result (the rest streams past). Default 64 KiB. */
  tailBytes?: number;
  /** Aborting kills the remote process group, like a timeout. */
  signal?: AbortSignal;
}

export interface ExecResult {
  /** Exit code; null when the command died by a signal or was killed. */
  code: number | null;
  signal: string | null;
  /** The last tailBytes of stdout. */
  stdout: string;
  stderr: string;
  /** True when more output came than was kept. */
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
}

export interface Tunnel {
  /** Local port on 127.0.0.1 forwarding to the remote host:port as seen from the target. */
  localPort: number;
  close(): Promise<void>;
}

/** A host that commands run on. The only door to side effects on the target. */
export interface Target {
  /** `user@host:port` or `local`, for logs and reports. */
  readonly description: string;
  /** Runs a POSIX shell script. Never throws for a non-zero exit; throws when the host cannot be reached. */
  exec(script: string, options?: ExecOptions): Promise<ExecResult>;
  tunnel(remoteHost: string, remotePort: number): Promise<Tunnel>;
  /** File contents, or undefined when the file does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** Writes a temp file next to path, syncs, then renames it over path. */
  writeFileAtomic(path: string, content: string, mode?: number): Promise<void>;
  close(): Promise<void>;
}

export class RemoteCommandError extends Error {
  constructor(
    readonly target: string,
    readonly what: string,
    readonly result: ExecResult,
  ) {
    const detail = result.timedOut ? 'timed out' : result.code === null ? `killed by ${result.signal ?? 'a signal'}` : `exit code ${result.code}`;
    const stderr = result.stderr.trim().split('\n').slice(-5).join('\n');
    super(`${what} on ${target} failed (${detail})${stderr ? `: ${stderr}` : ''}`);
    this.name = 'RemoteCommandError';
  }
}

/** Runs and throws RemoteCommandError on a non-zero exit. */
export async function execOrThrow(target: Target, what: string, script: string, options?: ExecOptions): Promise<ExecResult> {
  const result = await target.exec(script, options);
  if (result.code !== 0) throw new RemoteCommandError(target.description, what, result);
  return result;
}
