import { createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fingerprintOf, parseKnownHosts, verifyHostKey } from '../../src/remote/known-hosts.js';

function ed25519Blob(): Buffer {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const type = Buffer.from('ssh-ed25519');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(type.length);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(raw.length);
  return Buffer.concat([header, type, len, raw]);
}

const key = ed25519Blob();
const other = ed25519Blob();
const line = (host: string, blob = key) => `${host} ssh-ed25519 ${blob.toString('base64')}`;

describe('verifyHostKey', () => {
  it('accepts a key pinned for [host]:port', () => {
    expect(verifyHostKey(key, 'db', 2222, { knownHosts: parseKnownHosts(line('[db]:2222')) }).ok).toBe(true);
  });
  it('refuses a changed key, naming both fingerprints', () => {
    const verdict = verifyHostKey(other, 'db', 22, { knownHosts: parseKnownHosts(line('db')) });
    expect(verdict).toMatchObject({ ok: false });
    expect(verdict.reason).toContain('changed');
    expect(verdict.reason).toContain(fingerprintOf(other));
    expect(verdict.reason).toContain(fingerprintOf(key));
  });
  it('refuses an unknown host', () => {
    expect(verifyHostKey(key, 'db', 22, { knownHosts: parseKnownHosts(line('other')) }).reason).toMatch(/not in known-hosts/);
  });
  it('does not take a port-22 entry for another port', () => {
    expect(verifyHostKey(key, 'db', 2222, { knownHosts: parseKnownHosts(line('db')) }).ok).toBe(false);
  });
  it('matches hashed entries', () => {
    const salt = Buffer.from('0123456789abcdefghij');
    const hash = createHmac('sha1', salt).update('[db]:2222').digest('base64');
    expect(verifyHostKey(key, 'db', 2222, { knownHosts: parseKnownHosts(line(`|1|${salt.toString('base64')}|${hash}`)) }).ok).toBe(true);
  });
  it('refuses a @revoked key even when also pinned', () => {
    const text = `${line('db')}\n@revoked ${line('db')}`;
    expect(verifyHostKey(key, 'db', 22, { knownHosts: parseKnownHosts(text) }).reason).toMatch(/revoked/);
  });
  it('pins by fingerprint', () => {
    expect(verifyHostKey(key, 'db', 22, { fingerprint: fingerprintOf(key) }).ok).toBe(true);
    expect(verifyHostKey(other, 'db', 22, { fingerprint: fingerprintOf(key) }).ok).toBe(false);
  });
  it('names the line of a malformed entry', () => {
    expect(() => parseKnownHosts(`# c\n${line('db')}\nbroken`)).toThrow(/line 3/);
  });
});
