/** POSIX single-quoting: the value reaches the remote shell as one word, byte for byte, never executed. */
export function quote(value: string | number): string {
  const text = String(value);
  if (text.includes('\0')) throw new Error('a shell argument cannot contain NUL');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A command line from a program and its arguments, each quoted. */
export function commandLine(program: string, args: readonly (string | number)[] = []): string {
  return [program, ...args].map(quote).join(' ');
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function requireEnvName(name: string): string {
  if (!ENV_NAME.test(name)) throw new Error(`not an environment variable name: ${JSON.stringify(name)}`);
  return name;
}
