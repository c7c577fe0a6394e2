import { execFile, type ExecFileOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface RunOptions extends ExecFileOptions {
  input?: string;
}

/** execFile as a promise; rejects with the command, exit code and stderr. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const { input, ...execOpts } = opts;
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 64 << 20, ...execOpts, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as { code?: unknown }).code;
        reject(new Error(`${cmd} ${args.join(' ')} failed (${String(code)}): ${String(stderr).trim() || err.message}`));
      } else resolve(String(stdout));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** True while the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * The live pid recorded in a pid file, but only if its command line contains `marker`
 * (a path unique to the sandbox), so a stale file never makes us kill a recycled pid.
 */
export function readPid(file: string, marker: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
    if (!(pid > 0) || !isAlive(pid)) return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** pid plus all its descendants (from /proc), parents first. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

export function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM, wait up to graceMs, then SIGKILL whatever is left. */
export async function terminate(all: number[], graceMs = 3000): Promise<void> {
  const pids = all.filter(isAlive);
  signal(pids, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  signal(pids.filter(isAlive), 'SIGKILL');
  const hard = Date.now() + 2000;
  while (pids.some(isAlive) && Date.now() < hard) await new Promise((r) => setTimeout(r, 10));
}
