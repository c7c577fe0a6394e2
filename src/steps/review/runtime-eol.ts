import type { EolTable } from './postgres-eol.js';

/** Python: 5 years per minor version; end of life at the end of October of its fifth year (3.8 ended early). */
export const PYTHON_EOL: EolTable = {
  product: 'Python',
  writtenOn: '2026-12-06',
  source: 'Python developer guide, status of Python versions, https://devguide.python.org/versions/',
  lines: [
    { version: '3.7', eol: '2023-06-27' },
    { version: '3.8', eol: '2024-10-07' },
    { version: '3.9', eol: '2025-10-31' },
    { version: '3.10', eol: '2026-10-31' },
    { version: '3.11', eol: '2027-10-31' },
    { version: '3.12', eol: '2028-10-31' },
    { version: '3.13', eol: '2029-10-31' },
    { version: '3.14', eol: '2030-10-31' },
  ],
};

/** Node.js: even majors get LTS until the end of April three years on; odd majors end the June after. */
export const NODE_EOL: EolTable = {
  product: 'Node.js',
  writtenOn: '2026-12-06',
  source: 'Node.js release schedule, https://github.com/nodejs/Release',
  lines: [
    { version: '16', eol: '2023-09-11' },
    { version: '17', eol: '2022-06-01' },
    { version: '18', eol: '2025-04-30' },
    { version: '19', eol: '2023-06-01' },
    { version: '20', eol: '2026-04-30' },
    { version: '21', eol: '2024-06-01' },
    { version: '22', eol: '2027-04-30' },
    { version: '23', eol: '2025-06-01' },
    { version: '24', eol: '2028-04-30' },
    { version: '25', eol: '2026-06-01' },
    { version: '26', eol: '2029-04-30' },
  ],
};

export interface RuntimeVersion {
  runtime: 'python' | 'node';
  /** Full version as printed, e.g. 3.11.2 / 20.20.2. */
  full: string;
  /** The line the EOL table knows it by: 3.11 / 20. */
  line: string;
}

/** `python3 --version` / `node --version` output lines; anything else (not found, errors) is ignored. */
export function parseRuntimeVersions(text: string): RuntimeVersion[] {
  const found: RuntimeVersion[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const python = /^Python (\d+)\.(\d+)\.(\d+\S*)$/.exec(line);
    if (python) found.push({ runtime: 'python', full: `${python[1]}.${python[2]}.${python[3]}`, line: `${python[1]}.${python[2]}` });
    const node = /^v(\d+)\.(\d+)\.(\d+\S*)$/.exec(line);
    if (node) found.push({ runtime: 'node', full: `${node[1]}.${node[2]}.${node[3]}`, line: node[1]! });
  }
  return found;
}
