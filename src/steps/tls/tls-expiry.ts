import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { endpointCertificate, fileCertificatesScript, parseFileCertificates, type CertificateReport } from './certificates.js';

const CERTBOT = `command -v certbot >/dev/null 2>&1 || { echo __mw_no_certbot__; exit 0; }; certbot renew --dry-run --non-interactive`;

interface CertbotResult {
  installed: boolean;
  ok?: boolean;
  output?: string;
}

async function certbotDryRun(ctx: StepContext): Promise<CertbotResult> {
  const result = await ctx.target.exec(CERTBOT, { timeoutMs: 15 * MINUTES, signal: ctx.signal });
  if (result.code === 0 && result.stdout.includes('__mw_no_certbot__')) return { installed: false };
  const output = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-8).join('\n');
  return { installed: true, ok: result.code === 0, output };
}

/** Severity by days left: expired or under failDays is critical, under warnDays a warning. */
export function certificateFindings(reports: CertificateReport[], warnDays: number, failDays: number): Finding[] {
  const findings: Finding[] = [];
  for (const report of reports) {
    const what = report.kind === 'endpoint' ? `the certificate of ${report.source}` : `the certificate in ${report.source}`;
    if (report.error) {
      findings.push({ severity: 'warning', title: `cannot check ${what}`, evidence: report.error });
      continue;
    }
    const days = report.daysLeft ?? 0;
    const evidence = `${report.subject ?? '?'} valid until ${report.validTo}`;
    if (days < 0) findings.push({ severity: 'critical', title: `${what} has expired`, evidence, action: 'Renew and deploy it now.' });
    else if (days < failDays)
      findings.push({ severity: 'critical', title: `${what} expires in ${days} day(s)`, evidence, action: `Renew it now (fail threshold: ${failDays} days).` });
    else if (days < warnDays)
      findings.push({ severity: 'warning', title: `${what} expires in ${days} day(s)`, evidence, action: `Renew it before ${failDays} days are left.` });
    if (report.hostnameMismatch) {
      findings.push({
        severity: 'warning',
        title: `${what} does not cover ${report.hostnameMismatch}`,
        evidence,
        action: 'Clients checking the name will refuse it.',
      });
    }
  }
  return findings;
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const { endpoints, files, warnDays, failDays } = ctx.config.tls;
  const now = ctx.now();
  const reports: CertificateReport[] = [];
  for (const endpoint of endpoints) reports.push(await endpointCertificate(ctx.target, endpoint, now));
  let opensslMissing = false;
  if (files.length > 0) {
    const result = await ctx.target.exec(fileCertificatesScript(files), { signal: ctx.signal });
    const parsed = parseFileCertificates(result.stdout, now);
    if (parsed === 'no-openssl') opensslMissing = true;
    else reports.push(...parsed);
  }
  const certbot = await certbotDryRun(ctx);
  if (endpoints.length === 0 && files.length === 0 && !certbot.installed) {
    return { status: 'skipped', summary: 'no TLS endpoints or certificate files configured (tls.endpoints, tls.files) and certbot is not installed' };
  }

  const findings = certificateFindings(reports, warnDays, failDays);
  if (opensslMissing)
    findings.push({
      severity: 'warning',
      title: `openssl is not installed on ${ctx.target.description}: the certificate files were not checked`,
      evidence: files.join(', '),
    });
  if (certbot.installed && !certbot.ok)
    findings.push({
      severity: 'warning',
      title: 'certbot renew --dry-run failed',
      evidence: certbot.output,
      action: 'Renewals will fail the same way: fix it before the certificates expire.',
    });

  const checked = reports.filter((report) => report.daysLeft !== undefined);
  const soonest = checked.reduce<CertificateReport | undefined>(
    (min, report) => (min === undefined || report.daysLeft! < min.daysLeft! ? report : min),
    undefined,
  );
  const metrics: Record<string, number> = {
    certificatesChecked: checked.length,
    certificatesExpiringSoon: checked.filter((report) => report.daysLeft! < warnDays).length,
  };
  if (soonest) metrics.minDaysLeft = soonest.daysLeft!;
  for (const report of checked) metrics[`daysLeft:${report.source}`] = report.daysLeft!;

  const certbotNote = certbot.installed ? `certbot renew --dry-run ${certbot.ok ? 'passed' : 'failed'}` : 'certbot is not installed';
  const summary = `${checked.length} certificate(s) checked${soonest ? `, the soonest expiry ${soonest.source} in ${soonest.daysLeft} day(s)` : ''}; ${certbotNote}`;
  const status = findings.some((finding) => finding.severity === 'critical')
    ? 'failed'
    : findings.some((finding) => finding.severity === 'warning')
      ? 'warning'
      : 'succeeded';
  return { status, summary, metrics, details: { certificates: reports, certbot, warnDays, failDays }, findings };
}

export const tlsExpiry: StepFactory = (config) => ({
  id: 'tls.expiry',
  title: 'TLS certificate expiry and renewal check',
  description: `Reads the certificates of the configured endpoints (TLS handshake from the host) and files, warns under ${config.tls.warnDays} days left and fails under ${config.tls.failDays}; runs certbot renew --dry-run when certbot is installed.`,
  commands: [
    ...config.tls.endpoints.map((endpoint) => `TLS handshake with ${endpoint} through the SSH tunnel (SNI = the name before @, else the host)`),
    ...(config.tls.files.length ? [fileCertificatesScript(config.tls.files)] : []),
    CERTBOT,
  ],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 20 * MINUTES,
  retries: 1,
  run,
});
