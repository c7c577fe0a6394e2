import { readFileSync } from 'node:fs';
import { Inputs } from '../constants.js';
import { InputError } from '../errors.js';

/** Secret inputs never come from flags (they would sit in the shell history and `ps`): only from env or files. */
const SECRET_SOURCES: Record<string, { env: string; fileFlag: string }> = {
  [Inputs.privateKey]: { env: 'MW_PRIVATE_KEY', fileFlag: 'private-key-file' },
  [Inputs.passphrase]: { env: 'MW_PASSPHRASE', fileFlag: 'passphrase-file' },
  [Inputs.password]: { env: 'MW_PASSWORD', fileFlag: 'password-file' },
  [Inputs.jumpPrivateKey]: { env: 'MW_JUMP_PRIVATE_KEY', fileFlag: 'jump-private-key-file' },
  [Inputs.databasePassword]: { env: 'PGPASSWORD', fileFlag: 'database-password-file' },
  [Inputs.githubToken]: { env: 'GITHUB_TOKEN', fileFlag: 'github-token-file' },
};
const FILE_FLAGS: Record<string, string> = { 'known-hosts-file': Inputs.knownHosts };
const SECRET_NAMES = new Set(Object.keys(SECRET_SOURCES));
const PLAIN_NAMES = new Set<string>(Object.values(Inputs).filter((name) => !SECRET_NAMES.has(name)));
const BOOLEAN_FLAGS = new Set<string>([Inputs.dryRun, Inputs.strictHostKeyChecking, Inputs.openIssueOnFailure]);

export interface ParsedCli {
  command: string;
  values: Record<string, string>;
  /** Flags that are not inputs (plan-diff's --base / --head, --format, --summary-file). */
  extra: Record<string, string>;
}

/** `run --host db --tier weekly --private-key-file ~/.ssh/id` → input values named like the action's inputs. */
export function parseCliArgs(argv: string[], env: NodeJS.ProcessEnv, extraFlags: readonly string[]): ParsedCli {
  const [command = 'help', ...rest] = argv;
  const values: Record<string, string> = {};
  const extra: Record<string, string> = {};
  for (let index = 0; index < rest.length; index++) {
    const arg = rest[index];
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new InputError('arguments', arg, 'expected --flag value (see maintenance-window help)');
    const name = match[1];
    const takeValue = () => {
      if (match[2] !== undefined) return match[2];
      if (BOOLEAN_FLAGS.has(name) && (rest[index + 1] === undefined || rest[index + 1].startsWith('--'))) return 'true';
      const value = rest[++index];
      if (value === undefined) throw new InputError(`--${name}`, '', 'a value is needed');
      return value;
    };
    if (SECRET_NAMES.has(name)) {
      throw new InputError(
        `--${name}`,
        '(not shown)',
        `secrets are not taken as flags; use --${SECRET_SOURCES[name].fileFlag} or the ${SECRET_SOURCES[name].env} environment variable`,
        {
          secret: true,
        },
      );
    }
    const secretFile = Object.entries(SECRET_SOURCES).find(([, source]) => source.fileFlag === name);
    if (secretFile) values[secretFile[0]] = readFlagFile(name, takeValue());
    else if (FILE_FLAGS[name]) values[FILE_FLAGS[name]] = readFlagFile(name, takeValue());
    else if (PLAIN_NAMES.has(name)) values[name] = takeValue();
    else if (extraFlags.includes(name)) extra[name] = takeValue();
    else throw new InputError(`--${name}`, arg, `unknown flag; accepted: ${[...PLAIN_NAMES, ...extraFlags, ...Object.keys(FILE_FLAGS)].sort().join(', ')}`);
  }
  for (const [name, source] of Object.entries(SECRET_SOURCES)) {
    if (values[name] === undefined && env[source.env]) values[name] = env[source.env]!;
  }
  return { command, values, extra };
}

function readFlagFile(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(`--${flag}`, file, `a readable file is needed (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}
