// Bundles src (compiled by tsc into lib/) into one file, dist/bundle/index.js, with ncc; the action's main and post
// steps and the CLI are small doors in dist/<door>/index.js that name themselves and load it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

rmSync('dist', { recursive: true, force: true });
execFileSync('npx', ['ncc', 'build', 'lib/entry.js', '-o', 'dist/bundle', '--source-map', '--license', 'licenses.txt', '--quiet', '--target', 'es2022'], {
  stdio: 'inherit',
});

// ssh2's optional native addons (and its Windows pageant helper) are built for this machine's Node ABI; dist/ must
// run on node24 without them (ssh2 falls back to pure JS).
function prune(dir) {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) {
      prune(file);
      if (readdirSync(file).length === 0) rmSync(file, { recursive: true });
    } else if (name.endsWith('.node') || name.endsWith('.exe')) rmSync(file);
  }
}
prune('dist/bundle');

for (const door of ['main', 'post', 'cli']) {
  mkdirSync(`dist/${door}`, { recursive: true });
  const shebang = door === 'cli' ? '#!/usr/bin/env node\n' : '';
  // ssh2 reads __dirname, which an ESM bundle lacks: define it (as the bundle's folder) before the bundle loads.
  const door_ = [
    `${shebang}import { fileURLToPath } from 'node:url';`,
    `import path from 'node:path';`,
    `globalThis.__dirname = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bundle');`,
    `globalThis.__filename = path.join(globalThis.__dirname, 'index.js');`,
    `globalThis.maintenanceWindowEntry = '${door}';`,
    `await import('../bundle/index.js');`,
    '',
  ].join('\n');
  writeFileSync(`dist/${door}/index.js`, door_, { mode: 0o755 });
}
writeFileSync('dist/package.json', JSON.stringify({ type: 'module' }, null, 2) + '\n');
