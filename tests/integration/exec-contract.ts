/**
 * The Target.exec contract, run against any Target whose processes live on this machine (LocalTarget, or
 * SshTarget to the loopback sandbox), so that the tests can look at /proc and pgrep directly.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { quote } from '../../src/remote/shell.js';
import type { Target } from '../../src/remote/target.js';

/** Values that break naive quoting; each must reach the remote program byte for byte and never run. */
export function hostileValues(pwnedFile: string): string[] {
  return [
    `$(touch ${pwnedFile})`,
    `\`touch ${pwnedFile}\``,
    `; touch ${pwnedFile}`,
    `it's "quoted" 'twice'`,
    `$HOME \${HOME} *`,
    `a\\b\\\\c`,
    `-n`,
    ` spaced  out `,
    `| touch ${pwnedFile} &`,
  ];
}

/** A sleep whose argument is unique, so pgrep -f finds exactly the one this test started. */
export function uniqueSleep(): { command: string; pattern: string } {
  const seconds = `300.${randomBytes(3).readUIntBE(0, 3)}`;
  return { command: `sleep ${seconds}`, pattern: `sleep ${seconds}` };
}

export function pgrep(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    return []; // exit 1: no match
  }
}

export async function waitUntil(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Every process's argv on this machine, joined with spaces. */
export function allCommandLines(): string[] {
  const lines: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      lines.push(readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      // exited meanwhile
    }
  }
  return lines;
}

/** Registers the exec cases shared by every Target. `scratch` is a directory on this machine the target can use. */
export function execContract(target: () => Target, scratch: () => string): void {
  it('reports exit codes, and a death by signal as the signal', async () => {
    expect(await target().exec('exit 0')).toMatchObject({ code: 0, signal: null, timedOut: false });
    expect(await target().exec('exit 3')).toMatchObject({ code: 3, signal: null });
    expect(await target().exec('kill -KILL $$')).toMatchObject({ code: null, signal: 'SIGKILL', timedOut: false });
    expect(await target().exec('sleep 0.1; kill -TERM $$')).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('keeps stdout and stderr apart, and the pid marker out of both', async () => {
    const lines: string[] = [];
    const result = await target().exec('echo out1; echo err1 >&2; echo out2; echo err2 >&2', { onLine: (stream, line) => lines.push(`${stream}:${line}`) });
    expect(result.stdout).toBe('out1\nout2\n');
    expect(result.stderr).toBe('err1\nerr2\n');
    expect(lines.filter((l) => l.startsWith('stderr:'))).toEqual(['stderr:err1', 'stderr:err2']);
    expect(lines.join('\n')).not.toContain('__mw_pgid');
    // A command with no stderr at all still gets an empty stderr (the marker is not left behind).
    expect((await target().exec('true')).stderr).toBe('');
  });

  it('streams lines in order while the command runs, and keeps a final line without newline', async () => {
    const lines: string[] = [];
    let firstAt = 0;
    const started = Date.now();
    const result = await target().exec('seq 1 3000; sleep 0.5; printf tail', {
      onLine: (stream, line) => {
        if (lines.length === 0) firstAt = Date.now();
        if (stream === 'stdout') lines.push(line);
      },
    });
    expect(lines).toEqual([...Array.from({ length: 3000 }, (_, i) => String(i + 1)), 'tail']);
    expect(firstAt - started).toBeLessThan(result.durationMs - 300);
  });

  it('keeps exactly the last tailBytes bytes and says it truncated', async () => {
    const expected = Array.from({ length: 200_000 }, (_, i) => `${i + 1}\n`).join('');
    const result = await target().exec('seq 1 200000', { tailBytes: 1000 });
    expect(result).toMatchObject({ code: 0, truncated: true });
    expect(result.stdout).toBe(expected.slice(-1000));
    const small = await target().exec('seq 1 10', { tailBytes: 1000 });
    expect(small).toMatchObject({ stdout: '1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n', truncated: false });
  });

  it('bounds 50 MB of output to the tail', async () => {
    const before = process.memoryUsage().rss;
    const result = await target().exec(`head -c ${50 * 1024 * 1024} /dev/zero | tr '\\0' x; printf END`, { tailBytes: 4096 });
    expect(result).toMatchObject({ code: 0, truncated: true });
    expect(result.stdout).toHaveLength(4096);
    expect(result.stdout).toBe('x'.repeat(4093) + 'END');
    // Loose: the 50 MB went past, not into memory.
    expect(process.memoryUsage().rss - before).toBeLessThan(40 * 1024 * 1024);
  });

  it('kills the whole process group on timeout: the command and its background child', async () => {
    const sleep = uniqueSleep();
    const started = Date.now();
    const running = target().exec(`${sleep.command} & wait`, { timeoutMs: 1000 });
    await waitUntil('the sleep to start', () => pgrep(sleep.pattern).length > 0);
    const result = await running;
    expect(result).toMatchObject({ code: null, signal: 'TIMEOUT', timedOut: true });
    expect(Date.now() - started).toBeLessThan(6000); // the sleep was for 300 s
    expect(pgrep(sleep.pattern)).toEqual([]);
  });

  it('kills a command that ignores TERM with KILL after the grace period', async () => {
    const sleep = uniqueSleep();
    const started = Date.now();
    const result = await target().exec(`trap '' TERM; ${sleep.command} & wait; ${sleep.command}`, { timeoutMs: 300 });
    expect(result.timedOut).toBe(true);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThan(4000);
    expect(elapsed).toBeLessThan(15_000); // KILL came: the sleeps were for 300 s
    await waitUntil('the ignoring sleep to die', () => pgrep(sleep.pattern).length === 0, 1000);
  });

  it('aborting kills the process group like a timeout; an already aborted signal starts nothing that stays', async () => {
    const sleep = uniqueSleep();
    const controller = new AbortController();
    const running = target().exec(`${sleep.command} & wait`, { signal: controller.signal });
    await waitUntil('the sleep to start', () => pgrep(sleep.pattern).length > 0);
    controller.abort();
    expect(await running).toMatchObject({ code: null, timedOut: true });
    expect(pgrep(sleep.pattern)).toEqual([]);

    const early = uniqueSleep();
    const started = Date.now();
    const result = await target().exec(`${early.command} & wait`, { signal: AbortSignal.abort() });
    expect(result.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(6000);
    expect(pgrep(early.pattern)).toEqual([]);
  });

  it('passes stdin data through unchanged', async () => {
    const data = 'line one\n\ttabbed $(not run) `nor this`\n\u00e9\u00e8 no final newline';
    expect((await target().exec('cat', { stdin: data })).stdout).toBe(data);
    expect((await target().exec('wc -c', { stdin: '' })).stdout.trim()).toBe('0');
  });

  it('delivers secretEnv to the process but never into any argv, and keeps it out of stdin', async () => {
    const secret = `s3cr3t-${randomBytes(8).toString('hex')}-'"$(x)`;
    const running = target().exec('sleep 1; printf %s "$MW_SECRET"; cat', { secretEnv: { MW_SECRET: secret }, stdin: 'only-stdin' });
    await new Promise((resolve) => setTimeout(resolve, 400));
    const leaking = allCommandLines().filter((line) => line.includes(secret) || line.includes('s3cr3t-'));
    const result = await running;
    expect(leaking).toEqual([]);
    expect(result.stdout).toBe(`${secret}only-stdin`);
    const multiLine = Promise.resolve().then(() => target().exec('true', { secretEnv: { MW_SECRET: 'two\nlines' } }));
    await expect(multiLine).rejects.toThrow(/single line/);
  });

  it('quotes env values and cwd: metacharacters arrive unchanged and never run', async () => {
    const pwned = `/tmp/pwned-${randomBytes(6).toString('hex')}`;
    const values = hostileValues(pwned).concat(['new\nline']);
    const env = Object.fromEntries(values.map((value, i) => [`MW_V${i}`, value]));
    const printed = await target().exec(`printf '%s\\0' ${values.map((_, i) => `"$MW_V${i}"`).join(' ')}`, { env });
    expect(printed.stdout.split('\0').slice(0, -1)).toEqual(values);

    const dir = join(scratch(), `cwd $(touch ${pwned}); \`id\` 'q' "d"\nx`);
    mkdirSync(dir, { recursive: true });
    const here = await target().exec('pwd', { cwd: dir });
    expect(here).toMatchObject({ code: 0, stdout: `${dir}\n` });
    const missing = await target().exec('pwd', { cwd: join(scratch(), 'no such dir') });
    expect(missing.code).not.toBe(0);
    expect(existsSync(pwned)).toBe(false);
  });

  it('quotes arguments built with quote(): metacharacters arrive unchanged and never run', async () => {
    const pwned = `/tmp/pwned-${randomBytes(6).toString('hex')}`;
    const values = hostileValues(pwned).concat(['new\nline', '']);
    const result = await target().exec(`printf '%s\\0' ${values.map(quote).join(' ')}`);
    expect(result.stdout.split('\0').slice(0, -1)).toEqual(values);
    expect(existsSync(pwned)).toBe(false);
  });

  it('readFile gives undefined for a missing file and the exact bytes of a present one', async () => {
    expect(await target().readFile(join(scratch(), 'missing', 'file'))).toBeUndefined();
    const file = join(scratch(), 'present.txt');
    await target().writeFileAtomic(file, 'two\nlines \u00e9 $(x)');
    expect(await target().readFile(file)).toBe('two\nlines \u00e9 $(x)');
  });

  it('writeFileAtomic applies the mode, creates the directory and leaves no temp file', async () => {
    const dir = join(scratch(), 'modes', 'deeper');
    await target().writeFileAtomic(join(dir, 'secret.json'), '{}');
    await target().writeFileAtomic(join(dir, 'shared.json'), '{}', 0o644);
    expect(statSync(join(dir, 'secret.json')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'shared.json')).mode & 0o777).toBe(0o644);
    await target().writeFileAtomic(join(dir, 'secret.json'), '{"again":1}', 0o640);
    expect(statSync(join(dir, 'secret.json')).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir).sort()).toEqual(['secret.json', 'shared.json']);
  });

  it('writeFileAtomic to a path full of metacharacters writes exactly that path and runs nothing', async () => {
    const name = `pwned-${randomBytes(6).toString('hex')}`;
    const pwned = `/tmp/${name}`;
    // A file name cannot hold '/': the command builds /tmp/pwned-… from octal escapes instead.
    const touch = `touch "$(printf '\\057tmp\\057${name}')"`;
    // The payload is live: run by a shell, it does create the file.
    execFileSync('sh', ['-c', touch.replace(name, `${name}-probe`)]);
    expect(existsSync(`${pwned}-probe`)).toBe(true);
    rmSync(`${pwned}-probe`);
    const dir = join(scratch(), `dir $(${touch}) ;x`);
    const file = join(dir, `f'ile \`${touch}\` "q"\n.json`);
    await target().writeFileAtomic(file, 'content');
    expect(readFileSync(file, 'utf8')).toBe('content');
    expect(await target().readFile(file)).toBe('content');
    expect(readdirSync(dir)).toEqual([file.slice(dir.length + 1)]);
    expect(existsSync(pwned)).toBe(false);
  });

  it('writeFileAtomic: a reader never sees a half-written file (while a plain overwrite does show one)', async () => {
    const file = join(scratch(), 'atomic.txt');
    const size = 512 * 1024;
    const versions = ['A', 'B'].map((letter) => letter.repeat(size));
    await target().writeFileAtomic(file, versions[0]);
    const watch = async (write: (content: string) => Promise<unknown>, rounds: number) => {
      let writing = true;
      let torn = 0;
      let reads = 0;
      const reader = (async () => {
        while (writing) {
          const text = await readFile(file, 'utf8').catch(() => '');
          reads++;
          if (!versions.includes(text)) torn++;
        }
      })();
      for (let i = 1; i <= rounds; i++) await write(versions[i % 2]);
      writing = false;
      await reader;
      return { torn, reads };
    };
    const atomic = await watch((content) => target().writeFileAtomic(file, content), 10);
    expect(atomic.reads).toBeGreaterThan(8);
    expect(atomic.torn).toBe(0);
    // The control: the same reader catches a non-atomic write, so the zero above means something.
    const plain = await watch((content) => target().exec(`cat > ${quote(file)}`, { stdin: content }), 8);
    expect(plain.torn).toBeGreaterThan(0);
  });
}
