import type { Finding } from '../step.js';
import { isLoopbackAddress } from './listeners.js';

/** One pg_hba.conf rule, from pg_hba_file_rules or from the file itself. */
export interface HbaRule {
  line: number;
  type: string;
  databases: string[];
  users: string[];
  /** Address, CIDR or keyword (all, samehost, samenet) or host name; absent for local. */
  address?: string;
  netmask?: string;
  method: string;
}

/** Who can reach a rule: the Unix socket, this host only over TCP, or other hosts. */
export type Reach = 'socket' | 'loopback' | 'remote';

/** Bits set in a netmask: 255.255.255.0 → 24, ffff:ffff:ffff:ffff:: → 64. */
export function prefixOfMask(mask: string): number {
  const bits = (value: number) => value.toString(2).replace(/0/g, '').length;
  if (!mask.includes(':')) return mask.split('.').reduce((sum, octet) => sum + bits(Number(octet)), 0);
  const [head, tail] = mask.split('::') as [string, string | undefined];
  const groups = head.split(':').filter(Boolean);
  if (tail !== undefined)
    groups.push(...Array<string>(8 - groups.length - tail.split(':').filter(Boolean).length).fill('0'), ...tail.split(':').filter(Boolean));
  return groups.reduce((sum, group) => sum + bits(parseInt(group, 16)), 0);
}

/** An address with a separate netmask (pg_hba_file_rules, or "addr mask" in the file) as CIDR. */
export function withPrefix(rule: HbaRule): HbaRule {
  if (!rule.address || !rule.netmask) return rule;
  return { ...rule, address: `${rule.address}/${prefixOfMask(rule.netmask)}`, netmask: undefined };
}

export function reachOf(rule: HbaRule): Reach {
  if (rule.type === 'local') return 'socket';
  const address = rule.address ?? 'all';
  if (address === 'samehost') return 'loopback';
  if (address === 'all' || address === 'samenet') return 'remote';
  const [ip, cidrBits] = (withPrefix(rule).address ?? address).split('/') as [string, string | undefined];
  const prefix = cidrBits !== undefined ? Number(cidrBits) : undefined;
  if (ip.includes(':')) return ip === '::1' && (prefix === undefined || prefix === 128) ? 'loopback' : 'remote';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return isLoopbackAddress(ip) && (prefix === undefined || prefix >= 8) ? 'loopback' : 'remote';
  return isLoopbackAddress(ip) ? 'loopback' : 'remote';
}

/** Splits a pg_hba.conf line into tokens: quotes keep spaces and commas, # starts a comment outside quotes. */
function tokens(line: string): string[] {
  const found: string[] = [];
  let current = '';
  let quoted = false;
  let inToken = false;
  for (const char of line) {
    if (char === '"') {
      quoted = !quoted;
      inToken = true;
    } else if (!quoted && char === '#') {
      break;
    } else if (!quoted && /\s/.test(char)) {
      if (inToken) found.push(current);
      current = '';
      inToken = false;
    } else {
      current += char;
      inToken = true;
    }
  }
  if (inToken) found.push(current);
  return found;
}

const looksLikeMask = (token: string | undefined) => token !== undefined && (/^\d+\.\d+\.\d+\.\d+$/.test(token) || /^[0-9a-f:]+:[0-9a-f:]*$/i.test(token));

/** The rules of a pg_hba.conf text; include directives are listed apart (not followed). */
export function parseHbaFile(text: string): { rules: HbaRule[]; includes: string[] } {
  const rules: HbaRule[] = [];
  const includes: string[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const number = index + 1;
    let line = lines[index]!;
    // A backslash at the end continues the line (PostgreSQL 16+).
    while (line.endsWith('\\') && index + 1 < lines.length) line = line.slice(0, -1) + lines[++index];
    const fields = tokens(line);
    if (fields.length === 0) continue;
    const type = fields[0]!;
    if (type.startsWith('include')) {
      includes.push(fields.slice(1).join(' '));
      continue;
    }
    const split = (field: string | undefined) => (field ?? '').split(',').filter(Boolean);
    if (type === 'local') {
      rules.push({ line: number, type, databases: split(fields[1]), users: split(fields[2]), method: fields[3] ?? '' });
      continue;
    }
    const address = fields[3];
    const withMask = address !== undefined && !address.includes('/') && /^[\d.:a-f]+$/i.test(address) && /[.:]/.test(address) && looksLikeMask(fields[4]);
    rules.push({
      line: number,
      type,
      databases: split(fields[1]),
      users: split(fields[2]),
      address,
      netmask: withMask ? fields[4] : undefined,
      method: fields[withMask ? 5 : 4] ?? '',
    });
  }
  return { rules, includes };
}

const shown = (rule: HbaRule) =>
  [rule.type, rule.databases.join(','), rule.users.join(','), rule.address ?? '', rule.netmask ?? '', rule.method].filter(Boolean).join(' ');

/**
 * trust lets anyone who reaches the rule in as any role it names without a password: critical from other hosts,
 * a warning over loopback TCP (any local user or container process), info on the Unix socket (file permissions gate it).
 */
export function hbaFindings(rules: HbaRule[], file: string): Finding[] {
  const findings: Finding[] = [];
  for (const rule of rules.filter((entry) => entry.method === 'trust')) {
    const reach = reachOf(rule);
    const replacement = shown({ ...rule, method: 'scram-sha-256' });
    const fix = `Change line ${rule.line} of ${file} to "${replacement}"${reach === 'socket' ? ' (or peer)' : ''} once those roles have passwords (\\password in psql), then SELECT pg_reload_conf();`;
    const who = `${rule.users.join(', ')} on ${rule.databases.join(', ')}`;
    if (reach === 'remote') {
      findings.push({
        severity: 'critical',
        title: `pg_hba.conf line ${rule.line} trusts connections from ${withPrefix(rule).address} without a password`,
        evidence: `${file}:${rule.line}: ${shown(rule)} — anyone who reaches the port logs in as ${who}`,
        action: fix,
      });
    } else if (reach === 'loopback') {
      findings.push({
        severity: 'warning',
        title: `pg_hba.conf line ${rule.line} trusts TCP connections from this host without a password`,
        evidence: `${file}:${rule.line}: ${shown(rule)} — any local user or process logs in as ${who}`,
        action: fix,
      });
    } else {
      findings.push({
        severity: 'info',
        title: `pg_hba.conf line ${rule.line} trusts the Unix socket`,
        evidence: `${file}:${rule.line}: ${shown(rule)} — local OS users who may open the socket log in as ${who}`,
        action: fix,
      });
    }
  }
  return findings;
}
