import { quote } from '../../remote/shell.js';
import type { StepContext } from '../step.js';

export type PackageManagerKind = 'apt' | 'dnf' | 'yum' | 'apk';

export interface PendingUpdate {
  name: string;
  /** Installed version (when the tool says). */
  from?: string;
  /** The version the upgrade would install. */
  to: string;
  /** Where that version comes from (apt: "Debian-Security:12/oldstable-security"; dnf: the advisory). */
  origins: string[];
  security: boolean;
}

export interface PendingUpdates {
  manager: PackageManagerKind;
  updates: PendingUpdate[];
  /** Held back by `upgrade` (they need new packages or removals). */
  keptBack: string[];
  /** False where the package manager has no security metadata (apk): `security` is then always false. */
  securityKnown: boolean;
}

// ---- parsers (pure; unit-tested on captured output) ----

const APT_INST = /^Inst (\S+) (?:\[([^\]]*)\] )?\((\S+) (.*) \[[^\]]+\]\)/;
const SECURITY_ORIGIN = /-security\b|Debian-Security|\bsecurity\b/i;

/** `LC_ALL=C apt-get -s upgrade`: one `Inst` line per package; the kept-back list after its header. */
export function parseAptSimulation(text: string): { updates: PendingUpdate[]; keptBack: string[] } {
  const updates: PendingUpdate[] = [];
  const keptBack: string[] = [];
  let inKeptBack = false;
  for (const line of text.split('\n')) {
    if (/^The following packages have been kept back:/.test(line)) {
      inKeptBack = true;
      continue;
    }
    if (inKeptBack && /^\s+\S/.test(line)) {
      keptBack.push(...line.trim().split(/\s+/));
      continue;
    }
    inKeptBack = false;
    const match = APT_INST.exec(line);
    if (!match) continue;
    const origins = match[4]!.split(', ').map((origin) => origin.trim());
    updates.push({ name: match[1]!, from: match[2], to: match[3]!, origins, security: origins.some((origin) => SECURITY_ORIGIN.test(origin)) });
  }
  return { updates, keptBack };
}

/** "openssl-1:3.1.4-1.fc39.x86_64" → { name: "openssl", version: "1:3.1.4-1.fc39", arch: "x86_64" }. */
export function parseNevra(nevra: string): { name: string; version: string; arch: string } {
  const archAt = nevra.lastIndexOf('.');
  const arch = nevra.slice(archAt + 1);
  const parts = nevra.slice(0, archAt).split('-');
  return { name: parts.slice(0, -2).join('-'), version: parts.slice(-2).join('-'), arch };
}

/**
 * `dnf -q check-update` ("name.arch  version  repo" rows) and `dnf -q updateinfo list --security`
 * ("ADVISORY  severity/Sec.  nevra" rows).
 */
export function parseDnfUpdates(checkUpdate: string, securityList: string): PendingUpdate[] {
  const advisories = new Map<string, string[]>();
  for (const line of securityList.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 3 || !/Sec\.?$|security/i.test(fields[1]!)) continue;
    const { name } = parseNevra(fields[2]!);
    advisories.set(name, [...(advisories.get(name) ?? []), fields[0]!]);
  }
  const updates: PendingUpdate[] = [];
  for (const line of checkUpdate.split('\n')) {
    if (/^(Obsoleting|Security:|Last metadata)/.test(line)) {
      if (line.startsWith('Obsoleting')) break;
      continue;
    }
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 3 || !fields[0]!.includes('.')) continue;
    const name = fields[0]!.slice(0, fields[0]!.lastIndexOf('.'));
    const origins = advisories.get(name) ?? [fields[2]!];
    updates.push({ name, to: fields[1]!, origins, security: advisories.has(name) });
  }
  return updates;
}

/** `apk version -l '<'`: "name-1.2.3-r4   < 1.2.3-r5" rows (apk has no security metadata). */
export function parseApkVersions(text: string): PendingUpdate[] {
  return text.split('\n').flatMap((line) => {
    const match = /^(\S+?)-(\d[^\s-]*-r\d+)\s+<\s+(\S+)/.exec(line.trim());
    return match ? [{ name: match[1]!, from: match[2], to: match[3]!, origins: [], security: false }] : [];
  });
}

// ---- the command that applies updates (pure; the unit test proves what it includes) ----

const APT_OPTIONS = `-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold`;

/**
 * What package-updates runs, from the parsed list. securityOnly on apt installs exactly the pending security
 * packages at the versions the check saw (the runbook's "security updates only" ran a full upgrade);
 * undefined when there is nothing to apply or the manager cannot tell security updates apart (apk).
 */
export function updateCommand(pending: PendingUpdates, securityOnly: boolean): string | undefined {
  const wanted = securityOnly ? pending.updates.filter((update) => update.security) : pending.updates;
  if (wanted.length === 0) return undefined;
  switch (pending.manager) {
    case 'apt':
      return securityOnly
        ? `apt-get install -y -q --only-upgrade --no-install-recommends ${APT_OPTIONS} ${wanted.map((update) => quote(`${update.name}=${update.to}`)).join(' ')}`
        : `apt-get upgrade -y -q --with-new-pkgs ${APT_OPTIONS}`;
    case 'dnf':
    case 'yum':
      return `${pending.manager} -y -q upgrade${securityOnly ? ' --security' : ''}`;
    case 'apk':
      return securityOnly ? undefined : 'apk upgrade -q';
  }
}

// ---- on the host ----

const DETECT = `for m in apt-get dnf yum apk; do command -v "$m" >/dev/null 2>&1 && { echo "$m"; exit 0; }; done; echo unknown`;

export async function detectPackageManager(ctx: StepContext): Promise<PackageManagerKind | undefined> {
  const found = (await ctx.target.exec(DETECT, { signal: ctx.signal })).stdout.trim();
  return found === 'apt-get' ? 'apt' : found === 'dnf' || found === 'yum' || found === 'apk' ? found : undefined;
}

/** Refreshes the package lists (tolerated when it fails: the counts may then be stale, which is said). */
export async function refreshPackageLists(ctx: StepContext, manager: PackageManagerKind): Promise<string | undefined> {
  const command = { apt: 'apt-get update -q', dnf: 'dnf -q makecache', yum: 'yum -q makecache', apk: 'apk update -q' }[manager];
  const result = await ctx.target.exec(command, { env: { LC_ALL: 'C' }, timeoutMs: 10 * 60_000, signal: ctx.signal });
  return result.code === 0 ? undefined : `${command} failed (exit code ${result.code}): ${result.stderr.trim().split('\n').slice(-2).join(' ')}`;
}

function failure(command: string, result: { code: number | null; stderr: string }): Error {
  return new Error(`${command} failed (exit code ${result.code}): ${result.stderr.trim().split('\n').slice(-3).join(' ')}`);
}

export const PENDING_COMMANDS: Record<PackageManagerKind, string[]> = {
  apt: ['apt-get -s upgrade'],
  dnf: ['dnf -q check-update', 'dnf -q updateinfo list --security'],
  yum: ['yum -q check-update', 'yum -q updateinfo list security'],
  apk: [`apk version -l '<'`],
};

export async function pendingUpdates(ctx: StepContext, manager: PackageManagerKind): Promise<PendingUpdates> {
  const exec = (command: string) => ctx.target.exec(command, { env: { LC_ALL: 'C' }, timeoutMs: 10 * 60_000, signal: ctx.signal });
  switch (manager) {
    case 'apt': {
      const result = await exec('apt-get -s upgrade');
      if (result.code !== 0) throw failure('apt-get -s upgrade', result);
      return { manager, ...parseAptSimulation(result.stdout), securityKnown: true };
    }
    case 'dnf':
    case 'yum': {
      const [check, security] = PENDING_COMMANDS[manager] as [string, string];
      const checked = await exec(check);
      // check-update exits 100 when updates are available.
      if (checked.code !== 0 && checked.code !== 100) throw failure(check, checked);
      const listed = await exec(security);
      if (listed.code !== 0) throw failure(security, listed);
      return { manager, updates: parseDnfUpdates(checked.stdout, listed.stdout), keptBack: [], securityKnown: true };
    }
    case 'apk': {
      const result = await exec(`apk version -l '<'`);
      if (result.code !== 0) throw failure(`apk version -l '<'`, result);
      return { manager, updates: parseApkVersions(result.stdout), keptBack: [], securityKnown: false };
    }
  }
}

export interface RebootState {
  required: boolean;
  /** Packages that asked for it (Debian's reboot-required.pkgs), or how it was found. */
  reasons: string[];
}

/** Debian / Ubuntu's /var/run/reboot-required flag (+ .pkgs); `needs-restarting -r` on dnf / yum hosts. */
export const REBOOT_CHECK = `if [ -f /var/run/reboot-required ]; then echo required; cat /var/run/reboot-required.pkgs 2>/dev/null; elif command -v needs-restarting >/dev/null 2>&1; then needs-restarting -r >/dev/null 2>&1; [ $? -eq 1 ] && echo required && echo 'needs-restarting -r'; fi; true`;

export function parseRebootCheck(stdout: string): RebootState {
  const [first, ...rest] = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return { required: first === 'required', reasons: [...new Set(rest)] };
}

export async function rebootState(ctx: StepContext): Promise<RebootState> {
  return parseRebootCheck((await ctx.target.exec(REBOOT_CHECK, { signal: ctx.signal })).stdout);
}
