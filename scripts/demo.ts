// `npm run demo`: a throwaway target host on loopback, the action's bundled main job run against it, the report kept.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ensureSystemPackages, startSandbox } from '../tests/sandbox/sandbox.js';
import { actionEnv } from '../tests/support/action-env.js';

const tier = process.argv[2] ?? 'weekly';
const entry = path.resolve('dist/main/index.js');
if (!existsSync(entry)) throw new Error('dist/main/index.js is missing: run `npm run package` first');
ensureSystemPackages();
console.log('starting a throwaway host: OpenSSH server, PostgreSQL 15 with a bloated ner11_db, backups, logs, a small app…');
const sandbox = await startSandbox();
try {
  // Package updates would upgrade this very machine, which is also the demo's "host": never in a demo.
  const { env, dir } = actionEnv(sandbox, { tier, 'skip-steps': 'system.package-updates' });
  console.log(`running the ${tier} window through ${path.relative(process.cwd(), entry)} against ${sandbox.ssh.username}@127.0.0.1:${sandbox.ssh.port}\n`);
  const run = spawnSync(process.execPath, [entry], { env, stdio: 'inherit' });
  const kept = path.resolve('maintenance-report');
  rmSync(kept, { recursive: true, force: true });
  if (existsSync(path.join(dir, 'report'))) cpSync(path.join(dir, 'report'), kept, { recursive: true });
  const outputs = readFileSync(path.join(dir, 'output'), 'utf8')
    .split('\n')
    .filter((line) => /^[a-z-]+<</.test(line))
    .map((line) => line.split('<<')[0]);
  console.log(`\nthe action exited with ${run.status}; outputs set: ${outputs.join(', ')}`);
  console.log(`report: ${kept}/report.md, ${kept}/report.html, ${kept}/window.json`);
  process.exitCode = run.status ?? 1;
} finally {
  await sandbox.stop();
  console.log('the throwaway host is gone');
}
