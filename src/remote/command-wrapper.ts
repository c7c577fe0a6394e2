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
  if (options.cwd) parts.push(`cd ${quote(options.cwd)}`);
  parts.push(`/bin/sh -c ${quote(script)}`);
  stdin += options.stdin ?? '';
  return { command: parts.join(' && '), stdin };
}

/** Splits the pid marker off the start of stderr. */
export function takePidMarker(text: string): { pgid?: number; rest: string } {
  if (!text.startsWith(PID_MARKER)) return { rest: text };
  const end = text.indexOf('\n');
  if (end < 0) return { rest: text };
  const pgid = Number(text.slice(PID_MARKER.length, end));
  return { pgid: Number.isInteger(pgid) ? pgid : undefined, rest: text.slice(end + 1) };
}

export function killGroupScript(pgid: number): string {
  return `kill -TERM -${pgid} 2>/dev/null; i=0; while kill -0 -${pgid} 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL -${pgid} 2>/dev/null; true`;
}
