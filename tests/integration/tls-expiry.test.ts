import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { daysBetween, parseCertificateDate, parseEndpoint } from '../../src/steps/tls/certificates.js';
import { tlsExpiry } from '../../src/steps/tls/tls-expiry.js';
import { freePort } from '../sandbox/ports.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { stepHarness } from '../support/step-harness.js';

type Cert = { key: string; cert: string; file: string };

/** Self-signed certificates made with the real openssl: by days of validity, or with explicit dates (expired). */
function makeCertificates(dir: string): Record<'valid' | 'soon' | 'expired', Cert> {
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const selfSigned = (name: string, days: number): Cert => {
    openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      String(days),
      '-subj',
      `/CN=${name}.test`,
      '-addext',
      `subjectAltName=DNS:${name}.test`,
    ]);
    return { key: readFileSync(join(dir, `${name}.key`), 'utf8'), cert: readFileSync(join(dir, `${name}.pem`), 'utf8'), file: join(dir, `${name}.pem`) };
  };
  // OpenSSL 3.0's `req` cannot set a past notAfter; `ca -selfsign` takes explicit dates.
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '01\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    '[ca]\ndefault_ca = mw\n[mw]\ndir = .\ndatabase = index.txt\nserial = serial\nnew_certs_dir = .\ndefault_md = sha256\npolicy = any\ncopy_extensions = copy\nunique_subject = no\n[any]\ncommonName = supplied\n',
  );
  openssl([
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'expired.key',
    '-out',
    'expired.csr',
    '-subj',
    '/CN=expired.test',
    '-addext',
    'subjectAltName=DNS:expired.test',
  ]);
  openssl([
    'ca',
    '-batch',
    '-notext',
    '-config',
    'ca.cnf',
    '-selfsign',
    '-keyfile',
    'expired.key',
    '-in',
    'expired.csr',
    '-out',
    'expired.pem',
    '-startdate',
    '20190101000000Z',
    '-enddate',
    '20200101000000Z',
  ]);
  return {
    valid: selfSigned('valid', 90),
    soon: selfSigned('soon', 3),
    expired: { key: readFileSync(join(dir, 'expired.key'), 'utf8'), cert: readFileSync(join(dir, 'expired.pem'), 'utf8'), file: join(dir, 'expired.pem') },
  };
}

test.each([
  ['Jan  1 00:00:00 2020 GMT', '2020-01-01T00:00:00.000Z'],
  ['Dec 19 23:59:59 2026 GMT', '2026-12-19T23:59:59.000Z'],
  ['not a date', undefined],
])('parseCertificateDate(%j)', (text, iso) => {
  expect(parseCertificateDate(text)?.toISOString()).toBe(iso);
});

test('parseEndpoint and daysBetween', () => {
  expect(parseEndpoint('api.example.com:443')).toEqual({ serverName: 'api.example.com', host: 'api.example.com', port: 443 });
  expect(parseEndpoint('api.example.com@10.0.0.5:8443')).toEqual({ serverName: 'api.example.com', host: '10.0.0.5', port: 8443 });
  expect(daysBetween(new Date('2026-01-01T00:00:00Z'), new Date('2026-01-04T12:00:00Z'))).toBe(3.5);
  expect(daysBetween(new Date('2026-01-04T00:00:00Z'), new Date('2026-01-01T00:00:00Z'))).toBe(-3);
});

describe('tls.expiry against real certificates served over TLS', () => {
  let sandbox: Sandbox;
  let server: tls.Server;
  let port: number;
  let dir: string;
  let certs: ReturnType<typeof makeCertificates>;
  const check = async (tlsConfig: Record<string, unknown>) => {
    const harness = stepHarness(sandbox, { config: { tls: tlsConfig } });
    try {
      return await harness.run(tlsExpiry(harness.config));
    } finally {
      await harness.close();
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mw-tls-'));
    certs = makeCertificates(dir);
    const contexts = Object.fromEntries(Object.entries(certs).map(([name, { key, cert }]) => [`${name}.test`, tls.createSecureContext({ key, cert })]));
    // One server, a certificate per SNI name (the valid one for unknown names).
    server = tls.createServer(
      { key: certs.valid.key, cert: certs.valid.cert, SNICallback: (name, callback) => callback(null, contexts[name] ?? contexts['valid.test']) },
      (socket) => socket.end(),
    );
    sandbox = await startSandbox({ app: false, seedBloat: false });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server?.close();
    await sandbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes with certificates far from expiry, days left from the endpoint and the file', async () => {
    const outcome = await check({ endpoints: [`valid.test@127.0.0.1:${port}`], files: [certs.valid.file] });
    expect(outcome.status, outcome.summary).toBe('succeeded');
    expect(outcome.findings).toEqual([]);
    expect(outcome.metrics!.certificatesChecked).toBe(2);
    for (const source of [`valid.test@127.0.0.1:${port}`, certs.valid.file]) {
      expect(outcome.metrics![`daysLeft:${source}`]).toBeGreaterThan(89);
      expect(outcome.metrics![`daysLeft:${source}`]).toBeLessThanOrEqual(90);
    }
    expect(outcome.summary).toMatch(/; certbot is not installed$/);
    const endpoint = (outcome.details as { certificates: { subject: string; untrustedReason?: string }[] }).certificates[0]!;
    expect(endpoint.subject).toBe('valid.test');
    expect(endpoint.untrustedReason).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('fails under fail-days and warns under warn-days (a certificate 3 days from expiry)', async () => {
    const failing = await check({ endpoints: [`soon.test@127.0.0.1:${port}`], 'warn-days': 30, 'fail-days': 7 });
    expect(failing.status).toBe('failed');
    expect(failing.findings).toEqual([
      expect.objectContaining({
        severity: 'critical',
        title: expect.stringMatching(new RegExp(`^the certificate of soon.test@127.0.0.1:${port} expires in 2\\.\\d day\\(s\\)$`)),
      }),
    ]);
    const warning = await check({ files: [certs.soon.file], 'warn-days': 30, 'fail-days': 2 });
    expect(warning.status).toBe('warning');
    expect(warning.findings![0]).toMatchObject({ severity: 'warning', action: 'Renew it before 2 days are left.' });
    expect(warning.metrics!.certificatesExpiringSoon).toBe(1);
  });

  it('fails on an expired certificate, served or on disk', async () => {
    const outcome = await check({ endpoints: [`expired.test@127.0.0.1:${port}`], files: [certs.expired.file] });
    expect(outcome.status).toBe('failed');
    expect(outcome.findings!.map((finding) => [finding.severity, finding.title])).toEqual([
      ['critical', `the certificate of expired.test@127.0.0.1:${port} has expired`],
      ['critical', `the certificate in ${certs.expired.file} has expired`],
    ]);
    expect(outcome.findings![0]!.evidence).toBe('expired.test valid until 2020-01-01T00:00:00.000Z');
    expect(outcome.metrics!.minDaysLeft).toBeLessThan(-2000);
  });

  it('warns when a name is not covered, a file is unreadable, or an endpoint does not answer', async () => {
    const closed = await freePort();
    const outcome = await check({ endpoints: [`other.test@127.0.0.1:${port}`, `127.0.0.1:${closed}`], files: [join(dir, 'missing.pem')] });
    expect(outcome.status).toBe('warning');
    const titles = outcome.findings!.map((finding) => finding.title);
    expect(titles).toEqual([
      `the certificate of other.test@127.0.0.1:${port} does not cover other.test`,
      `cannot check the certificate of 127.0.0.1:${closed}`,
      `cannot check the certificate in ${join(dir, 'missing.pem')}`,
    ]);
    expect(outcome.findings![2]!.evidence).toMatch(/^openssl x509 could not read a certificate: /);
  });

  it('is skipped with nothing configured and no certbot', async () => {
    const outcome = await check({});
    expect(outcome).toEqual({
      status: 'skipped',
      summary: 'no TLS endpoints or certificate files configured (tls.endpoints, tls.files) and certbot is not installed',
    });
  });
});
