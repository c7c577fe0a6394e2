import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import {
  detectPackageManager,
  pendingUpdates,
  PENDING_COMMANDS,
  rebootState,
  refreshPackageLists,
  REBOOT_CHECK,
  type PendingUpdates,
  type RebootState,
} from './package-manager.js';

const LISTED = 20;

function names(updates: { name: string }[]): string {
  const shown = updates
    .slice(0, LISTED)
    .map((update) => update.name)
    .join(', ');
  return updates.length > LISTED ? `${shown} and ${updates.length - LISTED} more` : shown;
}

/** Findings an operator acts on: pending security updates, a reboot the host waits for, stale package lists. */
export function updateFindings(pending: PendingUpdates, reboot: RebootState, refreshError?: string): Finding[] {
  const findings: Finding[] = [];
  const security = pending.updates.filter((update) => update.security);
  if (security.length > 0) {
    findings.push({
      severity: 'warning',
      title: `${security.length} security update(s) pending`,
      evidence: names(security),
      action: 'Applied by system.package-updates on the tiers in updates.apply-on.',
    });
  }
  if (!pending.securityKnown && pending.updates.length > 0) {
    findings.push({
      severity: 'info',
      title: `${pending.updates.length} update(s) pending; ${pending.manager} cannot tell security updates apart`,
      evidence: names(pending.updates),
    });
  }
  if (pending.keptBack.length > 0) {
    findings.push({
      severity: 'info',
      title: `${pending.keptBack.length} package(s) kept back`,
      evidence: pending.keptBack.join(', '),
      action: 'They need new packages or removals: review and upgrade them by hand (apt-get dist-upgrade / full-upgrade).',
    });
  }
  if (reboot.required) {
    findings.push({
      severity: 'warning',
      title: 'the host needs a reboot',
      evidence: reboot.reasons.length ? `requested by ${reboot.reasons.join(', ')}` : undefined,
      action: 'Schedule a reboot; maintenance windows never reboot the host.',
    });
  }
  if (refreshError) findings.push({ severity: 'warning', title: 'the package lists could not be refreshed: the counts may be stale', evidence: refreshError });
  return findings;
}

export function updateMetrics(pending: PendingUpdates, reboot: RebootState): Record<string, number> {
  return {
    pendingUpdates: pending.updates.length,
    securityUpdates: pending.updates.filter((update) => update.security).length,
    keptBack: pending.keptBack.length,
    rebootRequired: reboot.required ? 1 : 0,
  };
}

export function describePending(pending: PendingUpdates): string {
  const security = pending.securityKnown ? `${pending.updates.filter((update) => update.security).length} security` : 'security unknown';
  return `${pending.updates.length} pending update(s) (${security})`;
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const manager = await detectPackageManager(ctx);
  if (!manager) return { status: 'skipped', summary: `no known package manager (apt-get, dnf, yum, apk) on ${ctx.target.description}` };
  const refreshError = await refreshPackageLists(ctx, manager);
  const [pending, reboot] = await Promise.all([pendingUpdates(ctx, manager), rebootState(ctx)]);
  const findings = updateFindings(pending, reboot, refreshError);
  return {
    status: findings.some((finding) => finding.severity !== 'info') ? 'warning' : 'succeeded',
    summary: `${manager}: ${describePending(pending)}${reboot.required ? '; reboot required' : ''}`,
    metrics: updateMetrics(pending, reboot),
    details: { manager, updates: pending.updates, keptBack: pending.keptBack, reboot, refreshError },
    findings,
  };
}

export const systemSecurityCheck: StepFactory = () => ({
  id: 'system.security-check',
  title: 'Security patch check',
  description: 'Refreshes the package lists and counts pending updates, security ones apart; reports whether the host waits for a reboot (never reboots).',
  commands: ['apt-get update -q   # or dnf / yum makecache, apk update', ...PENDING_COMMANDS.apt, ...PENDING_COMMANDS.dnf, REBOOT_CHECK],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 20 * MINUTES,
  retries: 1,
  run,
});
