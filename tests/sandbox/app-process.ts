import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, portAccepts } from './ports.js';
import { readPid, run, terminate } from './proc.js';

export const APP_SCRIPT = fileURLToPath(new URL('./app.mjs', import.meta.url));

export interface AppFiles {
  root: string;
  port: number;
  url: string;
  accessLog: string;
  pidFile: string;
  startCommand: string;
  stopCommand: string;
  statusCommand: string;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

// Shared top of the three scripts: `running` is true iff the pid file names a live app of this sandbox
// (its command line carries the sandbox root, so a recycled pid never counts).
const prelude = (root: string) => `#!/bin/sh
set -u
ROOT=${shq(root)}
PIDFILE="$ROOT/app.pid"
running() {
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  tr '\\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$ROOT"
}
`;

const START = `
running && exit 0
set -a; . "$ROOT/app.env"; set +a
cd "$ROOT"
setsid nohup ${shq(process.execPath)} ${shq(APP_SCRIPT)} "$ROOT" >>"$ROOT/app.out" 2>&1 </dev/null &
echo $! >"$PIDFILE"
i=0
until curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/health" 2>/dev/null; do
  running || { echo "app exited during start; see $ROOT/app.out" >&2; exit 1; }
  i=$((i + 1)); [ $i -lt 200 ] || { echo "app did not answer /health within 10 s" >&2; exit 1; }
  sleep 0.05
done
`;

const STOP = `
running || { rm -f "$PIDFILE"; exit 0; }
kill "$pid"
i=0
while running; do
  i=$((i + 1)); [ $i -eq 100 ] && kill -9 "$pid"
  sleep 0.05
done
rm -f "$PIDFILE"
`;

const STATUS = `
running
`;

/** Write root/app.env (holds the DB password, mode 0600) and root/bin/app-{start,stop,status}.sh. */
export async function setupApp(root: string, databaseUrl: string): Promise<AppFiles> {
  const port = await freePort();
  const bin = join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  const accessLog = join(root, 'logs', 'access.log');
  writeFileSync(join(root, 'app.env'), `PORT=${port}\nACCESS_LOG=${shq(accessLog)}\nDATABASE_URL=${shq(databaseUrl)}\n`, { mode: 0o600 });
  const scripts = { start: START, stop: STOP, status: STATUS };
  for (const [name, body] of Object.entries(scripts)) {
    const file = join(bin, `app-${name}.sh`);
    writeFileSync(file, prelude(root) + body);
    chmodSync(file, 0o755);
  }
  return {
    root,
    port,
    url: `http://127.0.0.1:${port}`,
    accessLog,
    pidFile: join(root, 'app.pid'),
    startCommand: join(bin, 'app-start.sh'),
    stopCommand: join(bin, 'app-stop.sh'),
    statusCommand: join(bin, 'app-status.sh'),
  };
}

export async function startApp(a: AppFiles): Promise<void> {
  await run('/bin/sh', [a.startCommand]);
}

export async function stopApp(a: AppFiles): Promise<void> {
  await run('/bin/sh', [a.stopCommand]);
}

export async function isAppUp(a: AppFiles): Promise<boolean> {
  if (!(await portAccepts(a.port))) return false;
  try {
    const res = await fetch(`${a.url}/health`, {
      signal: AbortSignal.timeout(2000),
    });
    return res.ok;
  } catch {
    return false;
  }
}

/** Last-resort kill (no script), used by stop() after failures. */
export async function killApp(root: string): Promise<void> {
  const pid = readPid(join(root, 'app.pid'), root);
  if (pid !== undefined) await terminate([pid]);
}
