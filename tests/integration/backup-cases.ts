/** Shared by the backup / preflight / verify / rollback tests: per-case backup directories on a sandbox. */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Sandbox } from '../sandbox/sandbox.js';

let cases = 0;

/** A new backup directory holding copies of the given files (and their sidecars, when present). */
export function caseDir(sandbox: Sandbox, files: string[] = []): string {
  const dir = join(sandbox.root, 'cases', `case-${++cases}`);
  mkdirSync(dir, { recursive: true });
  for (const file of files) {
    copyFileSync(file, join(dir, basename(file)));
    try {
      copyFileSync(`${file}.sha256`, join(dir, `${basename(file)}.sha256`));
    } catch {
      // no sidecar to copy
    }
  }
  return dir;
}

/** The sandbox's own backups of a kind, found by extension. */
export function sandboxBackups(sandbox: Sandbox, extension: '.sql.gz' | '.dump'): string[] {
  return readdirSync(sandbox.backupsDir)
    .filter((name) => name.endsWith(extension))
    .map((name) => join(sandbox.backupsDir, name));
}

/** Rewrites file's sha256sum sidecar to match its current content (a backup job that checksummed a bad file). */
export function resign(file: string): void {
  const sum = createHash('sha256').update(readFileSync(file)).digest('hex');
  writeFileSync(`${file}.sha256`, `${sum}  ${basename(file)}\n`);
}

export async function rowCount(sandbox: Sandbox, table: string, database = sandbox.postgres.database): Promise<number> {
  return Number(await sandbox.psql(`select count(*) from ${table}`, database));
}
