import { readFileSync } from 'node:fs';

/** Parses a GITHUB_OUTPUT / GITHUB_STATE file (name<<delimiter … delimiter blocks). */
export function readCommandFile(file: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let index = 0; index < lines.length; index++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[index]);
    if (!match) continue;
    const body: string[] = [];
    while (++index < lines.length && lines[index] !== match[2]) body.push(lines[index]);
    values[match[1]] = body.join('\n');
  }
  return values;
}
