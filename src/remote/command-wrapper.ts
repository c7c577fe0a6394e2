import { quote, requireEnvName } from './shell.js';
import type { ExecOptions } from './target.js';

/** First stderr line of every wrapped command: the pid of the session shell, which leads its process group. */
export const PID_MARKER = '__mw_pgid=';

/**
 * Wraps a script so that: its process group can be killed on timeout, secrets arrive on stdin (never argv),
 * the cwd and env are quoted, and the script runs under /bin/sh whatever the login shell is.
 */
export function wrapCommand(script: string, options: ExecOptions = {}): { command: string; stdin: string } {
  const parts: string[] = [`printf '%s\\n' "${PID_MARKER}$$" >&2`];
  let stdin = '';
  for (const [name, value] of Object.entries(options.secretEnv ?? {})) {
    if (/[\0\r\n]/.test(value)) throw new Error(`secret environment ${name} must be a single line`);
    parts.push(`IFS= read -r ${requireEnvName(name)} && export ${name}`);
    stdin += value + '\n';
  }
  for (const [name, value] of Object.entries(options.env ?? {})) {
    parts.push(`export ${requireEnvName(name)}=${quote(value)}`);
  }
  if (options.cwd) parts.push(`cd -- ${quote(options.cwd)}`);
  // exec: the script's shell keeps the leader's pid, and its death by a signal reaches sshd as exit-signal.
  parts.push(`exec /bin/sh -c ${quote(script)}`);
  stdin += options.stdin ?? '';
  return { command: parts.join(' && '), stdin };
}

const HEAD_LIMIT = 4096;
const MARKER_LINE = new RegExp(`(?:^|\n)${PID_MARKER}([0-9]+)\n`);

/**
 * Takes the pid marker line out of stderr and passes everything else on. Lines before it (a login banner, sshd's
 * "Could not chdir to home directory") are kept; if no marker shows up within the first 4 KiB it is not coming.
 */
export class PidMarkerFilter {
  pgid?: number;
  private head: Buffer[] | undefined = [];
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly forward: (chunk: Buffer) => void) {}

  push(chunk: Buffer): void {
    if (!this.head) return this.forward(chunk);
    this.head.push(chunk);
    const text = Buffer.concat(this.head).toString('latin1');
    const match = MARKER_LINE.exec(text);
    if (match) {
      this.pgid = Number(match[1]);
      const before = text.slice(0, match.index + (match[0].startsWith('\n') ? 1 : 0));
      this.release(Buffer.from(before + text.slice(match.index + match[0].length), 'latin1'));
    } else if (text.length > HEAD_LIMIT) {
      this.release(Buffer.from(text, 'latin1'));
    }
  }

  /** The stream ended: whatever was held back is output. */
  end(): void {
    if (this.head) this.release(Buffer.concat(this.head));
  }

  /** Resolves when the marker was seen or will not come. */
  settled(): Promise<void> {
    return this.head ? new Promise((resolve) => this.waiters.push(resolve)) : Promise.resolve();
  }

  private release(rest: Buffer): void {
    this.head = undefined;
    if (rest.length > 0) this.forward(rest);
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}

/**
 * TERM to the group, then KILL after 5 s (a timer, not a count of polls: polls are slow on a loaded host). Waits
 * until no live member is left; zombies do not count, since a slow init may reap them late.
 */
export function killGroupScript(pgid: number): string {
  const alive = `ps -A -o pgid= -o stat= | awk -v g=${pgid} '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'`;
  return [
    `kill -TERM -${pgid} 2>/dev/null`,
    // The timer's output goes nowhere, or this session would stay open until it ends.
    `(sleep 5; kill -KILL -${pgid} 2>/dev/null) </dev/null >/dev/null 2>&1 & timer=$!`,
    `i=0; while ${alive} && [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done`,
    `kill $timer 2>/dev/null; kill -KILL -${pgid} 2>/dev/null; true`,
  ].join('; ');
}
