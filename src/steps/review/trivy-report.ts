import type { Finding } from '../step.js';

const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as const;
type TrivySeverity = (typeof SEVERITIES)[number];
/** Vulnerabilities named in a finding's evidence. */
const LISTED = 10;

interface TrivyVulnerability {
  VulnerabilityID?: string;
  PkgName?: string;
  InstalledVersion?: string;
  FixedVersion?: string;
  Severity?: string;
}

export interface ImageScan {
  image: string;
  counts: Record<TrivySeverity, number>;
  /** CRITICAL / HIGH ones with a fixed version: what an image rebuild fixes. */
  fixable: string[];
}

/** `trivy image --quiet --format json` output → counts by severity and the fixable serious ones. */
export function summariseTrivy(image: string, json: string): ImageScan {
  const report = JSON.parse(json) as { Results?: { Target?: string; Vulnerabilities?: TrivyVulnerability[] | null }[] };
  const counts = Object.fromEntries(SEVERITIES.map((severity) => [severity, 0])) as Record<TrivySeverity, number>;
  const fixable = new Set<string>();
  for (const result of report.Results ?? []) {
    for (const vulnerability of result.Vulnerabilities ?? []) {
      const severity = (SEVERITIES as readonly string[]).includes(vulnerability.Severity ?? '') ? (vulnerability.Severity as TrivySeverity) : 'UNKNOWN';
      counts[severity]++;
      if ((severity === 'CRITICAL' || severity === 'HIGH') && vulnerability.FixedVersion) {
        fixable.add(`${vulnerability.VulnerabilityID} ${vulnerability.PkgName} ${vulnerability.InstalledVersion} → ${vulnerability.FixedVersion}`);
      }
    }
  }
  return { image, counts, fixable: [...fixable] };
}

export function trivyFinding(scan: ImageScan): Finding | undefined {
  const serious = scan.counts.CRITICAL + scan.counts.HIGH;
  if (serious === 0) return undefined;
  const listed = scan.fixable.slice(0, LISTED).join('; ');
  return {
    severity: 'warning',
    title: `image ${scan.image}: ${scan.counts.CRITICAL} critical and ${scan.counts.HIGH} high vulnerabilities`,
    evidence: `trivy: ${SEVERITIES.map((severity) => `${scan.counts[severity]} ${severity.toLowerCase()}`).join(', ')}${listed ? `; fixable: ${listed}${scan.fixable.length > LISTED ? ` and ${scan.fixable.length - LISTED} more` : ''}` : ''}`,
    action: scan.fixable.length
      ? 'Rebuild the image on an updated base (docker.update-images pulls new tags), then re-scan.'
      : 'No fixed versions yet: watch the advisories, and check whether the vulnerable packages are reachable in this app.',
  };
}
