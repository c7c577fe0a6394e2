import { RemoteCommandError } from '../../remote/target.js';
import { MINUTES, type Finding, type StepContext, type StepFactory, type StepOutcome } from '../step.js';
import { NOT_DISK_TYPES } from '../../remote/filesystem-types.js';

export interface FilesystemUsage {
  filesystem: string;
  type: string;
  mount: string;
  sizeBytes: number;
  usedBytes: number;
  availBytes: number;
  /** used / (used + available), as df computes it (the blocks reserved for root count as full). */
  usedPercent: number;
  inodesUsedPercent?: number;
  /** Other mount points of the same filesystem (bind mounts). */
  alsoMountedOn: string[];
}

const DF = 'df -P -T -B1; echo __mw_inodes__; df -P -i';

const round1 = (value: number) => Math.round(value * 10) / 10;

/** `df -P -T -B1` then `df -P -i` (separated by a marker line) → real filesystems, one per device. */
export function parseDf(text: string): FilesystemUsage[] {
  const [space = '', inodes = ''] = text.split('__mw_inodes__');
  const inodePercent = new Map<string, number>();
  for (const line of inodes.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 6) continue;
    const [, total, used, free] = fields.map(Number);
    if (total! > 0) inodePercent.set(fields.slice(5).join(' '), round1((used! / (used! + free!)) * 100));
  }
  const byDevice = new Map<string, FilesystemUsage>();
  for (const line of space.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 7) continue;
    const [filesystem = '', type = '', size, used, avail] = fields;
    const mount = fields.slice(6).join(' ');
    const [sizeBytes, usedBytes, availBytes] = [size, used, avail].map(Number) as [number, number, number];
    if (NOT_DISK_TYPES.has(type) || !(sizeBytes > 0)) continue;
    const known = byDevice.get(`${filesystem} ${type}`);
    if (known) {
      known.alsoMountedOn.push(mount);
      continue;
    }
    byDevice.set(`${filesystem} ${type}`, {
      filesystem,
      type,
      mount,
      sizeBytes,
      usedBytes,
      availBytes,
      usedPercent: usedBytes + availBytes > 0 ? round1((usedBytes / (usedBytes + availBytes)) * 100) : 0,
      inodesUsedPercent: inodePercent.get(mount),
      alsoMountedOn: [],
    });
  }
  return [...byDevice.values()];
}

export function diskFindings(filesystems: FilesystemUsage[], warnPercent: number, failPercent: number): Finding[] {
  const findings: Finding[] = [];
  for (const fs of filesystems) {
    for (const [what, percent] of [
      ['space', fs.usedPercent],
      ['inodes', fs.inodesUsedPercent],
    ] as const) {
      if (percent === undefined || percent < warnPercent) continue;
      const critical = percent >= failPercent;
      findings.push({
        severity: critical ? 'critical' : 'warning',
        title: `${fs.mount} is ${percent}% full (${what})`,
        evidence: `${fs.filesystem} (${fs.type}): ${fs.usedBytes} of ${fs.usedBytes + fs.availBytes} usable bytes used, ${fs.availBytes} available`,
        action: critical ? `Free space on ${fs.mount} now (fail threshold ${failPercent}%).` : `Plan space for ${fs.mount} (warn threshold ${warnPercent}%).`,
      });
    }
  }
  return findings;
}

async function run(ctx: StepContext): Promise<StepOutcome> {
  const { warnPercent, failPercent } = ctx.config.disk;
  const result = await ctx.target.exec(DF, { env: { LC_ALL: 'C' }, timeoutMs: 2 * MINUTES, signal: ctx.signal });
  // df exits 1 when one mount is unreadable (a stale NFS handle) but still reports the others.
  const filesystems = parseDf(result.stdout);
  if (filesystems.length === 0) throw new RemoteCommandError(ctx.target.description, 'df -P -T -B1 (no real filesystem in its output)', result);
  const findings = diskFindings(filesystems, warnPercent, failPercent);
  const metrics: Record<string, number> = { filesystems: filesystems.length, maxUsedPercent: Math.max(...filesystems.map((fs) => fs.usedPercent)) };
  for (const fs of filesystems) {
    metrics[`usedPercent:${fs.mount}`] = fs.usedPercent;
    metrics[`availBytes:${fs.mount}`] = fs.availBytes;
    if (fs.inodesUsedPercent !== undefined) metrics[`inodesUsedPercent:${fs.mount}`] = fs.inodesUsedPercent;
  }
  const fullest = filesystems.reduce((max, fs) => (fs.usedPercent > max.usedPercent ? fs : max));
  return {
    status: findings.some((finding) => finding.severity === 'critical') ? 'failed' : findings.length ? 'warning' : 'succeeded',
    summary: `${filesystems.length} filesystem(s); the fullest is ${fullest.mount} at ${fullest.usedPercent}% (warn ${warnPercent}%, fail ${failPercent}%)`,
    metrics,
    details: { filesystems },
    findings,
  };
}

export const diskCheck: StepFactory = (config) => ({
  id: 'disk.check',
  title: 'Disk space check',
  description: `Space and inodes of every mounted disk filesystem; warns from ${config.disk.warnPercent}% used, fails from ${config.disk.failPercent}%.`,
  commands: [DF],
  impact: 'none',
  destructive: false,
  idempotent: true,
  timeoutMs: 5 * MINUTES,
  retries: 1,
  run,
});
