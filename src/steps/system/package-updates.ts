import { MINUTES, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { detectPackageManager, pendingUpdates, rebootState, refreshPackageLists, updateCommand } from './package-manager.js';
import { describePending, updateFindings, updateMetrics } from './security-check.js';

async function run(ctx: StepContext): Promise<StepOutcome> {
  const { applyOn, securityOnly } = ctx.config.updates;
  const manager = await detectPackageManager(ctx);
  if (!manager) return { status: 'skipped', summary: `no known package manager (apt-get, dnf, yum, apk) on ${ctx.target.description}` };
  const refreshError = await refreshPackageLists(ctx, manager);
  const pending = await pendingUpdates(ctx, manager);

  if (!applyOn.includes(ctx.tier)) {
    const reboot = await rebootState(ctx);
    return {
      status: 'skipped',
      summary: `report only: the ${ctx.tier} tier is not in updates.apply-on (${applyOn.join(', ') || 'none'}); ${describePending(pending)}`,
      metrics: { ...updateMetrics(pending, reboot), applied: 0 },
      details: { manager, updates: pending.updates, reboot },
      findings: updateFindings(pending, reboot, refreshError),
    };
  }

  const command = updateCommand(pending, securityOnly);
  if (!command) {
    const reboot = await rebootState(ctx);
    const why =
      securityOnly && !pending.securityKnown && pending.updates.length > 0
        ? `${manager} cannot tell security updates apart and updates.security-only is set: nothing applied`
        : `nothing to apply (${describePending(pending)})`;
    return {
      status: securityOnly && !pending.securityKnown && pending.updates.length > 0 ? 'warning' : 'succeeded',
      summary: why,
      metrics: { ...updateMetrics(pending, reboot), applied: 0 },
      details: { manager, updates: pending.updates, reboot },
      findings: updateFindings(pending, reboot, refreshError),
    };
  }

  const planned = securityOnly ? pending.updates.filter((update) => update.security) : pending.updates;
  ctx.log.info(`applying ${planned.length} update(s): ${command}`);
  const applied = await ctx.target.exec(command, {
    env: { DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
    timeoutMs: 60 * MINUTES,
    signal: ctx.signal,
    onLine: (_stream, line) => ctx.log.debug(line),
  });
  const [after, reboot] = await Promise.all([pendingUpdates(ctx, manager), rebootState(ctx)]);
  const details = {
    manager,
    command,
    planned: planned.map((update) => `${update.name} ${update.from ?? '?'} → ${update.to}`),
    remaining: after.updates,
    reboot,
    output: applied.stdout.split('\n').slice(-40).join('\n'),
  };
  if (applied.code !== 0) {
    return {
      status: 'failed',
      summary: `${command.slice(0, 120)}${command.length > 120 ? '…' : ''} failed (exit code ${applied.code ?? applied.signal}): ${applied.stderr.trim().split('\n').slice(-3).join(' ')}`,
      metrics: { ...updateMetrics(after, reboot), applied: 0 },
      details,
      findings: updateFindings(after, reboot),
    };
  }
  const findings = updateFindings(after, reboot);
  const remainingSecurity = after.updates.filter((update) => update.security).length;
  return {
    status: findings.some((finding) => finding.severity !== 'info') ? 'warning' : 'succeeded',
    summary: `applied ${planned.length} ${securityOnly ? 'security ' : ''}update(s) with ${manager}; ${describePending(after)} left${remainingSecurity ? ` (${remainingSecurity} security still pending)` : ''}${reboot.required ? '; reboot required' : ''}`,
    metrics: { ...updateMetrics(after, reboot), applied: planned.length },
    details,
    findings,
  };
}

export const systemPackageUpdates: StepFactory = (config) => ({
  id: 'system.package-updates',
  title: 'System package updates',
  description: `Applies ${config.updates.securityOnly ? 'only the pending security updates' : 'all pending updates'} on the ${config.updates.applyOn.join(', ') || 'no'} tier(s), else reports them; reports a needed reboot (never reboots).`,
  commands: [
    'apt-get update -q',
    'apt-get -s upgrade',
    config.updates.securityOnly
      ? 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --only-upgrade --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold <security package>=<version> …   # dnf/yum: upgrade --security'
      : 'DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -q --with-new-pkgs -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold   # dnf/yum: upgrade; apk upgrade',
    '[ -f /var/run/reboot-required ] && cat /var/run/reboot-required.pkgs',
  ],
  impact: 'degraded',
  destructive: true,
  idempotent: true,
  timeoutMs: 90 * MINUTES,
  retries: 0,
  run,
});
