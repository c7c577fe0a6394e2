// `npm run docs`: regenerates the inputs / outputs tables in README.md from action.yml, so they cannot drift.
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';

interface ActionYaml {
  inputs: Record<string, { description: string; default?: string; required?: boolean }>;
  outputs: Record<string, { description: string }>;
}

export function renderTables(actionYaml: string): string {
  const action = parse(actionYaml) as ActionYaml;
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ').trim();
  const inputs = Object.entries(action.inputs).map(
    ([name, input]) => `| \`${name}\` | ${cell(input.description)} | ${input.default !== undefined ? `\`${cell(String(input.default))}\`` : ''} |`,
  );
  const outputs = Object.entries(action.outputs).map(([name, output]) => `| \`${name}\` | ${cell(output.description)} |`);
  return [
    '### Inputs',
    '',
    '| input | description | default |',
    '| --- | --- | --- |',
    ...inputs,
    '',
    '### Outputs',
    '',
    '| output | description |',
    '| --- | --- |',
    ...outputs,
  ].join('\n');
}

const BEGIN = '<!-- action-tables:begin -->';
const END = '<!-- action-tables:end -->';

export function updateReadme(readme: string, actionYaml: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < 0) throw new Error(`README.md needs ${BEGIN} and ${END} markers`);
  return `${readme.slice(0, start + BEGIN.length)}\n${renderTables(actionYaml)}\n${readme.slice(end)}`;
}

if (process.argv[1]?.endsWith('readme-tables.ts')) {
  writeFileSync('README.md', updateReadme(readFileSync('README.md', 'utf8'), readFileSync('action.yml', 'utf8')));
}
