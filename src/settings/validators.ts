import { InputError } from '../errors.js';
import { parseDuration } from './durations.js';
import type { HostEndpoint } from './settings.js';

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const USERNAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
export const STEP_ID = /^[a-z][a-z0-9-]*(?:\.[a-z0-9][a-z0-9-]*)*$/;
const WINDOW_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;
const BOOLEAN_TRUE = ['true', 'True', 'TRUE'];
const BOOLEAN_FALSE = ['false', 'False', 'FALSE'];

export function isHostName(value: string): boolean {
  return HOSTNAME.test(value) || (value.includes(':') && IPV6.test(value));
}

export function requireHost(input: string, value: string): string {
  if (!isHostName(value)) throw new InputError(input, value, 'expected a host name or an IP address (letters, digits, dots, hyphens)');
  return value;
}

export function requirePort(input: string, value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw new InputError(input, value, 'expected a TCP port from 1 to 65535');
  return port;
}

export function requireUsername(input: string, value: string): string {
  if (!USERNAME.test(value)) throw new InputError(input, value, 'expected a user name of letters, digits, ".", "_" or "-" (at most 32)');
  return value;
}

export function requireBoolean(input: string, value: string, fallback: boolean): boolean {
  if (value === '') return fallback;
  if (BOOLEAN_TRUE.includes(value)) return true;
  if (BOOLEAN_FALSE.includes(value)) return false;
  throw new InputError(input, value, 'expected true or false');
}

export function requireDuration(input: string, value: string, minMs: number, maxMs: number): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < minMs || ms > maxMs) {
    throw new InputError(input, value, `expected a duration such as 30s, 15m or 2h, from ${minMs / 1000} s to ${maxMs / 1000} s`);
  }
  return ms;
}

export function requireChoice<T extends string>(input: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) throw new InputError(input, value, `expected one of ${choices.join(', ')}`);
  return value as T;
}

export function requireStepIds(input: string, value: string): string[] {
  const ids = value
    .split(/[,\n]/)
    .map((id) => id.trim())
    .filter((id) => id.length > 0);
  for (const id of ids) {
    if (!STEP_ID.test(id)) throw new InputError(input, id, 'expected step ids such as db.vacuum-analyze, separated by commas');
  }
  return ids;
}

export function requireWindowId(input: string, value: string): string {
  if (!WINDOW_ID.test(value)) throw new InputError(input, value, 'expected letters, digits, ".", "_" or "-" (at most 128), starting with a letter or digit');
  return value;
}

export function requireFingerprint(input: string, value: string): string {
  if (!FINGERPRINT.test(value)) throw new InputError(input, value, "expected 'SHA256:' and 43 base64 characters, as printed by ssh-keygen -lf");
  return value.replace(/=$/, '');
}

/** A path: no NUL or line breaks (it reaches files and shells). */
export function requirePath(input: string, value: string): string {
  if (value === '' || /[\0\r\n]/.test(value)) throw new InputError(input, value, 'expected a path without NUL or line breaks');
  return value;
}

export function requirePrivateKey(input: string, value: string): string {
  if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(value) || !/-----END [A-Z0-9 ]*PRIVATE KEY-----/.test(value)) {
    throw new InputError(input, value, 'expected a private key in OpenSSH or PEM format (-----BEGIN ... PRIVATE KEY-----)', { secret: true });
  }
  return value.replace(/\r\n/g, '\n').trim() + '\n';
}

/** A secret that travels as one line (stdin of a remote command). */
export function requireSecretLine(input: string, value: string): string {
  if (/[\0\r\n]/.test(value)) throw new InputError(input, value, 'expected a single line without NUL', { secret: true });
  return value;
}

/** `user@host:port`, `host:port`, `host`; IPv6 as `[addr]:port`. */
export function parseEndpoint(input: string, value: string, defaults: { username: string; port: number }): HostEndpoint {
  const match = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s]+)(?::([^:@\s]*))?$/.exec(value);
  if (!match) throw new InputError(input, value, 'expected user@host:port (user and port optional)');
  const host = match[2].replace(/^\[|\]$/g, '');
  return {
    username: match[1] === undefined ? defaults.username : requireUsername(input, match[1]),
    host: requireHost(input, host),
    port: match[3] === undefined ? defaults.port : requirePort(input, match[3]),
  };
}
