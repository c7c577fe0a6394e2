import { InputError, ValidationError } from '../errors.js';
import type { HostEndpoint } from '../settings/settings.js';
import { parseEndpoint } from '../settings/validators.js';
import type { FleetHost } from './fleet-settings.js';

/** Labels become part of window ids, directory names and artifact paths: keep them to safe characters. */
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** `db1.example.com` on port 22, `db1.example.com-2222` elsewhere (the port tells hosts apart). */
export function defaultLabel(endpoint: HostEndpoint): string {
  const name = endpoint.port === 22 ? endpoint.host : `${endpoint.host}-${endpoint.port}`;
  return name
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63);
}

/** "Input 'x' has an invalid value "v": why." → ""v": why" (the line number says where instead). */
function reason(error: unknown): string {
  return error instanceof InputError ? error.message.replace(/^Input '[^']*' has an invalid value /, '') : String(error);
}

/**
 * Parses inventory text: one host a line as `[user@]host[:port] [label]`, `#` comments and blank lines
 * ignored. Every problem is reported at once, each with its line; labels and host:port pairs must be unique.
 */
export function parseInventory(text: string, source: string, defaults: { username: string; port: number }): FleetHost[] {
  const hosts: FleetHost[] = [];
  const problems: string[] = [];
  const byLabel = new Map<string, number>();
  const byAddress = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/#.*$/, '').trim();
    if (content === '') return;
    const fields = content.split(/\s+/);
    if (fields.length > 2) {
      problems.push(`line ${line}: ${JSON.stringify(content)}: expected user@host:port and an optional label, separated by spaces`);
      return;
    }
    let endpoint: HostEndpoint;
    try {
      endpoint = parseEndpoint('inventory', fields[0], defaults);
    } catch (error) {
      problems.push(`line ${line}: ${reason(error)}`);
      return;
    }
    const label = fields[1] ?? defaultLabel(endpoint);
    if (!LABEL.test(label)) {
      problems.push(`line ${line}: label ${JSON.stringify(label)}: expected letters, digits, ".", "_" or "-" (at most 63), starting with a letter or digit`);
      return;
    }
    const address = `${endpoint.host}:${endpoint.port}`;
    const sameLabel = byLabel.get(label);
    const sameAddress = byAddress.get(address);
    if (sameAddress !== undefined) problems.push(`line ${line}: ${address} is already on line ${sameAddress}; one window per host`);
    else if (sameLabel !== undefined) problems.push(`line ${line}: label ${label} is already used on line ${sameLabel}; give one of them another label`);
    if (sameAddress !== undefined || sameLabel !== undefined) return;
    byLabel.set(label, line);
    byAddress.set(address, line);
    hosts.push({ endpoint, label, line });
  });
  if (problems.length > 0) throw new ValidationError(source, problems);
  if (hosts.length === 0) throw new ValidationError(source, ['no hosts: expected one user@host:port a line']);
  return hosts;
}
