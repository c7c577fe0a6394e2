import { createHash, createHmac } from 'node:crypto';

export interface KnownHostEntry {
  marker?: '@revoked' | '@cert-authority';
  /** Plain patterns (`host`, `[host]:port`, wildcards) or one hashed `|1|salt|hash` entry. */
  patterns: string[];
  keyType: string;
  /** The raw public key blob. */
  key: Buffer;
  line: number;
}

/** Parses OpenSSH known_hosts text; throws naming the line when one is malformed. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0].startsWith('@')) {
      if (fields[0] !== '@revoked' && fields[0] !== '@cert-authority') throw new Error(`line ${index + 1}: unknown marker ${fields[0]}`);
      marker = fields.shift() as KnownHostEntry['marker'];
    }
    if (fields.length < 3) throw new Error(`line ${index + 1}: expected "host key-type base64-key"`);
    const [hosts, keyType, base64] = fields;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw new Error(`line ${index + 1}: the key is not base64`);
    const key = Buffer.from(base64, 'base64');
    if (keyBlobType(key) !== keyType) throw new Error(`line ${index + 1}: the key blob is not a ${keyType} key`);
    entries.push({ marker, patterns: hosts.split(','), keyType, key, line: index + 1 });
  });
  return entries;
}

/** The key type written at the start of an SSH public key blob. */
export function keyBlobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length > 64 || blob.length < 4 + length) return undefined;
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** `SHA256:…` as ssh-keygen -lf prints it (unpadded base64). */
export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(pattern: string): RegExp {
  // Only * and ? are wildcards; brackets of [host]:port are literal.
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

function matchesPattern(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return globToRegExp(pattern).test(name);
}

function entryMatches(entry: KnownHostEntry, name: string): boolean {
  const negated = entry.patterns.filter((p) => p.startsWith('!')).some((p) => matchesPattern(p.slice(1), name));
  return !negated && entry.patterns.filter((p) => !p.startsWith('!')).some((p) => matchesPattern(p, name));
}

export type HostKeyVerdict = { ok: true; reason: string } | { ok: false; reason: string };

/** Judges a presented host key against pinned known_hosts entries and/or a fingerprint. */
export function verifyHostKey(presented: Buffer, host: string, port: number, pins: { knownHosts?: KnownHostEntry[]; fingerprint?: string }): HostKeyVerdict {
  const name = knownHostName(host, port);
  const presentedPrint = fingerprintOf(presented);
  const type = keyBlobType(presented) ?? 'unknown';
  const entries = (pins.knownHosts ?? []).filter((entry) => entryMatches(entry, name));
  if (entries.some((entry) => entry.marker === '@revoked' && entry.key.equals(presented))) {
    return { ok: false, reason: `the host key of ${name} (${type} ${presentedPrint}) is marked @revoked in known-hosts` };
  }
  if (pins.fingerprint) {
    if (pins.fingerprint === presentedPrint) return { ok: true, reason: `fingerprint ${presentedPrint} matches host-fingerprint` };
    return {
      ok: false,
      reason: `the host key of ${name} is ${type} ${presentedPrint}, but host-fingerprint pins ${pins.fingerprint}: the key changed or this is another host`,
    };
  }
  const plain = entries.filter((entry) => entry.marker === undefined);
  if (plain.some((entry) => entry.key.equals(presented))) return { ok: true, reason: `${type} key ${presentedPrint} is pinned in known-hosts` };
  if (plain.length > 0) {
    return {
      ok: false,
      reason: `the host key of ${name} changed: it presented ${type} ${presentedPrint}, known-hosts pins ${plain.map((e) => `${e.keyType} ${fingerprintOf(e.key)}`).join(', ')}`,
    };
  }
  return {
    ok: false,
    reason: `${name} is not in known-hosts (it presented ${type} ${presentedPrint}); add its key with ssh-keyscan -p ${port} ${host} after checking it`,
  };
}
