// Bundles each entry (compiled by tsc into lib/) into dist/<entry>/index.js with ncc.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';

const entries = ['main', 'post', 'cli'];
rmSync('dist', { recursive: true, force: true });
for (const entry of entries) {
  const out = path.join('dist', entry);
  execFileSync('npx', ['ncc', 'build', `lib/${entry}.js`, '-o', out, '--source-map', '--license', 'licenses.txt', '--quiet', '--target', 'es2022'], {
    stdio: 'inherit',
  });
  // ssh2's optional native addons are built for the local Node ABI; dist must run on node24 without them.
  for (const file of readdirSync(out)) if (file.endsWith('.node')) rmSync(path.join(out, file));
  const index = path.join(out, 'index.js');
  if (entry === 'cli' && existsSync(index)) {
    const text = readFileSync(index, 'utf8');
    if (!text.startsWith('#!')) writeFileSync(index, '#!/usr/bin/env node\n' + text, { mode: 0o755 });
  }
}
writeFileSync('dist/package.json', JSON.stringify({ type: 'module' }, null, 2) + '\n');
