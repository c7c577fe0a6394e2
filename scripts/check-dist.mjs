// Rebuilds dist/ and fails when it differs from what is committed: users run dist/, not src/.
import { execFileSync } from 'node:child_process';

execFileSync('npm', ['run', 'package'], { stdio: 'inherit' });
try {
  execFileSync('git', ['diff', '--exit-code', '--stat', '--', 'dist/'], { stdio: 'inherit' });
  const untracked = execFileSync('git', ['ls-files', '--others', '--exclude-standard', '--', 'dist/']).toString().trim();
  if (untracked) throw new Error(`untracked files in dist/:\n${untracked}`);
  console.log('dist/ matches the source');
} catch (error) {
  console.error(`dist/ does not match the source: run \`npm run package\` and commit dist/. ${error.message ?? ''}`);
  process.exit(1);
}
