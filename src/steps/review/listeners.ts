/** A TCP socket in LISTEN state on the host. */
export interface Listener {
  address: string;
  port: number;
  /** The owning program when ss could tell (needs root for other users' sockets). */
  process?: string;
}

/** `ss -ltnpH` when ss exists, else the kernel's own tables. */
export const LISTENERS_SCRIPT = `if command -v ss >/dev/null 2>&1; then echo '@@ss'; ss -ltnpH 2>/dev/null || ss -ltnH; else echo '@@proc'; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; fi`;

/** "LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=1,fd=3))" lines. */
export function parseSs(text: string): Listener[] {
  const listeners: Listener[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5) continue;
    const local = fields[3]!;
    const at = local.lastIndexOf(':');
    const port = Number(local.slice(at + 1));
    if (at < 0 || !Number.isInteger(port)) continue;
    const address = local
      .slice(0, at)
      .replace(/^\[(.*)\]$/, '$1')
      .replace(/%.*$/, '');
    const process = /users:\(\("([^"]+)"/.exec(line)?.[1];
    listeners.push({ address, port, ...(process ? { process } : {}) });
  }
  return listeners;
}

function hexToIpv4(hex: string): string {
  // /proc/net/tcp stores the address as a little-endian 32-bit word.
  return [6, 4, 2, 0].map((offset) => parseInt(hex.slice(offset, offset + 2), 16)).join('.');
}

/** RFC 5952 text of eight 16-bit groups: the longest run of two or more zero groups becomes "::". */
function ipv6Text(groups: number[]): string {
  let best = { at: -1, length: 1 };
  for (let at = 0; at < groups.length;) {
    let end = at;
    while (end < groups.length && groups[end] === 0) end++;
    if (end - at > best.length) best = { at, length: end - at };
    at = end === at ? at + 1 : end;
  }
  const text = (part: number[]) => part.map((group) => group.toString(16)).join(':');
  return best.at < 0 ? text(groups) : `${text(groups.slice(0, best.at))}::${text(groups.slice(best.at + best.length))}`;
}

function hexToIpv6(hex: string): string {
  // Four 32-bit words, each little-endian.
  const bytes: number[] = [];
  for (let word = 0; word < 4; word++) {
    const chunk = hex.slice(word * 8, word * 8 + 8);
    bytes.push(...[6, 4, 2, 0].map((offset) => parseInt(chunk.slice(offset, offset + 2), 16)));
  }
  if (bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 255 && bytes[11] === 255) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups = Array.from({ length: 8 }, (_, index) => bytes[index * 2]! * 256 + bytes[index * 2 + 1]!);
  return ipv6Text(groups);
}

/** /proc/net/tcp and tcp6 rows in state 0A (LISTEN). */
export function parseProcNetTcp(text: string): Listener[] {
  const listeners: Listener[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[3] !== '0A') continue;
    const [hexAddress, hexPort] = fields[1]!.split(':') as [string, string];
    const address = hexAddress.length === 8 ? hexToIpv4(hexAddress) : hexToIpv6(hexAddress);
    listeners.push({ address, port: parseInt(hexPort, 16) });
  }
  return listeners;
}

/** 127.0.0.0/8, ::1, and IPv4-mapped loopback: reachable from this host only. */
export function isLoopbackAddress(address: string): boolean {
  const plain = address.replace(/^::ffff:/i, '');
  return /^127\./.test(plain) || address === '::1' || address.toLowerCase() === 'localhost';
}
