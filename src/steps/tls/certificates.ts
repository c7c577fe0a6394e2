import { isIP } from 'node:net';
import tls from 'node:tls';
import { quote } from '../../remote/shell.js';
import type { Target } from '../../remote/target.js';

export interface CertificateReport {
  /** The endpoint as configured, or the file path. */
  source: string;
  kind: 'endpoint' | 'file';
  subject?: string;
  issuer?: string;
  validTo?: string;
  daysLeft?: number;
  /** Endpoint only: the name the certificate does not cover (checked against the SNI name). */
  hostnameMismatch?: string;
  /** Endpoint only: why the runner's CA store does not trust the chain (informational: private CAs are fine). */
  untrustedReason?: string;
  error?: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** OpenSSL's date form, used by `openssl x509 -enddate` and Node's valid_to: "Jan  1 00:00:00 2020 GMT". */
export function parseCertificateDate(text: string): Date | undefined {
  const match = /^([A-Z][a-z]{2})\s+(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) GMT$/.exec(text.trim());
  const month = match ? MONTHS.indexOf(match[1]!) : -1;
  if (!match || month < 0) return undefined;
  return new Date(Date.UTC(Number(match[6]), month, Number(match[2]), Number(match[3]), Number(match[4]), Number(match[5])));
}

export function daysBetween(now: Date, then: Date): number {
  return Math.floor(((then.getTime() - now.getTime()) / 86_400_000) * 10) / 10;
}

/** "name@host:port" (SNI name, then the address as seen from the target) or "host:port". */
export function parseEndpoint(endpoint: string): { serverName: string; host: string; port: number } {
  const at = endpoint.indexOf('@');
  const address = at >= 0 ? endpoint.slice(at + 1) : endpoint;
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  return { serverName: at >= 0 ? endpoint.slice(0, at) : host, host, port: Number(address.slice(colon + 1)) };
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** TLS handshake through an SSH tunnel from the target, so the address is the one the host itself uses. */
export async function endpointCertificate(target: Target, endpoint: string, now: Date, timeoutMs = 15_000): Promise<CertificateReport> {
  const { serverName, host, port } = parseEndpoint(endpoint);
  const base: CertificateReport = { source: endpoint, kind: 'endpoint' };
  let tunnel;
  try {
    tunnel = await target.tunnel(host === 'localhost' ? '127.0.0.1' : host, port);
  } catch (error) {
    return { ...base, error: `cannot reach ${host}:${port} from ${target.description}: ${(error as Error).message}` };
  }
  try {
    const localPort = tunnel.localPort;
    return await new Promise<CertificateReport>((resolve) => {
      // SNI must be a name (RFC 6066): none for an IP address.
      const socket = tls.connect({ host: '127.0.0.1', port: localPort, servername: isIP(serverName) ? undefined : serverName, rejectUnauthorized: false });
      socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)));
      socket.once('error', (error) => resolve({ ...base, error: `TLS handshake with ${endpoint} failed: ${error.message}` }));
      socket.once('secureConnect', () => {
        const certificate = socket.getPeerCertificate();
        socket.end();
        if (!certificate || !certificate.valid_to) return resolve({ ...base, error: `${endpoint} presented no certificate` });
        const validTo = parseCertificateDate(certificate.valid_to);
        const mismatch = isIP(serverName) ? undefined : tls.checkServerIdentity(serverName, certificate);
        resolve({
          ...base,
          subject: firstValue(certificate.subject?.CN) ?? JSON.stringify(certificate.subject),
          issuer: firstValue(certificate.issuer?.CN ?? certificate.issuer?.O),
          validTo: validTo?.toISOString() ?? certificate.valid_to,
          daysLeft: validTo ? daysBetween(now, validTo) : undefined,
          hostnameMismatch: mismatch ? serverName : undefined,
          untrustedReason: socket.authorized ? undefined : String(socket.authorizationError ?? 'not trusted'),
        });
      });
    });
  } finally {
    await tunnel.close();
  }
}

/** One line per file: path, then openssl's "notAfter=…" and "subject=…" lines, tab-separated. */
export function fileCertificatesScript(files: string[]): string {
  return `command -v openssl >/dev/null 2>&1 || { echo __mw_no_openssl__; exit 0; }
for f in ${files.map(quote).join(' ')}; do printf '%s\\t' "$f"; openssl x509 -noout -enddate -subject -in "$f" 2>&1 | tr '\\n' '\\t'; echo; done`;
}

export function parseFileCertificates(stdout: string, now: Date): CertificateReport[] | 'no-openssl' {
  if (stdout.includes('__mw_no_openssl__')) return 'no-openssl';
  return stdout
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [source = '', ...fields] = line.split('\t').filter(Boolean);
      const notAfter = fields.find((field) => field.startsWith('notAfter='))?.slice('notAfter='.length);
      const subject = fields
        .find((field) => field.startsWith('subject='))
        ?.slice('subject='.length)
        .trim();
      const validTo = notAfter ? parseCertificateDate(notAfter) : undefined;
      if (!validTo) return { source, kind: 'file' as const, error: `openssl x509 could not read a certificate: ${fields.join(' ').slice(0, 300)}` };
      return { source, kind: 'file' as const, subject, validTo: validTo.toISOString(), daysLeft: daysBetween(now, validTo) };
    });
}
