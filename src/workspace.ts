import path from 'node:path';

/** Paths in inputs are relative to the workspace on a runner, to the current directory elsewhere. */
export function resolveWorkspacePath(file: string): string {
  return path.resolve(process.env.GITHUB_WORKSPACE ?? process.cwd(), file);
}
