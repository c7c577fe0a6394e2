import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { commandLine, quote } from '../../src/remote/shell.js';

const HOSTILE = ['; rm -rf /', '$(touch /tmp/pwned)', '`id`', "it's", 'a"b', 'line1\nline2', '$HOME', '*', '-rf', '', ' spaced ', '\\', "'; echo '"];

describe('quote', () => {
  it.each(HOSTILE)('passes %j to a real shell as one unchanged word', (value) => {
    const echoed = execFileSync('/bin/sh', ['-c', `printf '%s' ${quote(value)}`]).toString();
    expect(echoed).toBe(value);
  });

  it('builds a command line whose words arrive unchanged', () => {
    const out = execFileSync('/bin/sh', ['-c', commandLine('printf', ['%s|', ...HOSTILE])]).toString();
    expect(out).toBe(HOSTILE.map((v) => `${v}|`).join(''));
  });

  it('refuses NUL, which no shell word can carry', () => {
    expect(() => quote('a\0b')).toThrow(/NUL/);
  });
});
