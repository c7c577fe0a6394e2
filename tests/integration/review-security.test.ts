import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hbaFindings, parseHbaFile, prefixOfMask, reachOf } from '../../src/steps/review/hba-rules.js';
import { parseProcNetTcp, parseSs } from '../../src/steps/review/listeners.js';
import { hostProbeScript, securityAudit, sslFinding } from '../../src/steps/review/security-audit.js';
import { splitSections } from '../../src/steps/review/probe-sections.js';
import { parseSshdProbe, sshdFindings, sshdScript, type SshdSettings } from '../../src/steps/review/sshd-config.js';
import { summariseTrivy, trivyFinding } from '../../src/steps/review/trivy-report.js';
import type { Finding, StepOutcome } from '../../src/steps/step.js';
import { containerEngineAvailable, startContainerEngine, type ContainerEngine } from '../sandbox/container-engine.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { stepHarness } from '../support/step-harness.js';

const available = containerEngineAvailable();
const superuserPassword = randomBytes(12).toString('hex');

let sandbox: Sandbox;
let engine: ContainerEngine | undefined;
/** Before anything was seeded. */
let clean: StepOutcome;
/** As ner11, which may not read pg_hba_file_rules, with password expiry required. */
let limited: StepOutcome;
/** As the postgres superuser over TCP. */
let superuser: StepOutcome;

async function audit(config: Record<string, unknown> = {}, databasePassword?: string): Promise<StepOutcome> {
  const harness = stepHarness(sandbox, {
    config: { services: { manager: 'none', environment: engine?.env ?? {} }, ...config },
    settings: databasePassword ? { databasePassword } : {},
  });
  try {
    return await harness.run(securityAudit(harness.config));
  } finally {
    await harness.close();
  }
}

beforeAll(async () => {
  [sandbox, engine] = await Promise.all([startSandbox({ app: false, seedBloat: false }), available.ok ? startContainerEngine() : Promise.resolve(undefined)]);
  if (engine) {
    for (const args of [
      ['run', '-d', '--name', 'mw-privileged', '--privileged', engine.busyboxImage, 'sleep', '600'],
      ['run', '-d', '--name', 'mw-unprivileged', '--user', '1000:1000', engine.busyboxImage, 'sleep', '600'],
    ]) {
      const started = await engine.docker(args);
      expect(started.code, started.stderr).toBe(0);
    }
  }
  clean = await audit();

  await sandbox.psql(
    `CREATE ROLE mw_admin SUPERUSER LOGIN; CREATE ROLE app_reader LOGIN PASSWORD 'reader'; ALTER ROLE postgres PASSWORD '${superuserPassword}';`,
  );
  // Both lines come after the sandbox's own 127.0.0.1 scram rule and it listens on 127.0.0.1 only: nothing reaches them.
  appendFileSync(join(sandbox.postgres.dataDir, 'pg_hba.conf'), 'host all all 0.0.0.0/0 trust\nhost all all ::1/128 trust\n');
  await sandbox.psql('SELECT pg_reload_conf();');
  [limited, superuser] = await Promise.all([
    audit({ security: { 'password-expiry-required': true } }),
    audit({ database: { user: 'postgres' } }, superuserPassword),
  ]);
}, 180_000);
afterAll(async () => {
  await Promise.all([engine?.stop(), sandbox?.stop()]);
});

const find = (outcome: StepOutcome, title: string | RegExp): Finding | undefined =>
  outcome.findings?.find((finding) => (typeof title === 'string' ? finding.title.startsWith(title) : title.test(finding.title)));
const hbaFile = () => join(sandbox.postgres.dataDir, 'pg_hba.conf');

describe('security.audit', () => {
  it('finds no database or container-independent problem before anything is seeded', () => {
    const titles = (clean.findings ?? []).map((finding) => finding.title);
    expect(titles.filter((title) => /pg_hba\.conf line \d+ trusts (connections|TCP)|superuser|password expiry/.test(title))).toEqual([]);
    expect(find(clean, 'pg_hba.conf line 1 trusts the Unix socket')?.severity).toBe('info');
    expect(find(clean, 'PostgreSQL ssl is off (it listens on loopback only)')?.severity).toBe('info');
  });

  it('reads pg_hba.conf over SSH when the role may not read pg_hba_file_rules, and finds the trust rules', () => {
    expect(find(limited, 'pg_hba_file_rules is not readable as ner11')?.severity).toBe('info');
    expect((limited.details as { hba: { source: string } }).hba.source).toBe(hbaFile());
    const remote = find(limited, 'pg_hba.conf line 3 trusts connections from 0.0.0.0/0 without a password');
    expect(remote).toMatchObject({
      severity: 'critical',
      evidence: `${hbaFile()}:3: host all all 0.0.0.0/0 trust — anyone who reaches the port logs in as all on all`,
    });
    expect(remote!.action).toBe(
      `Change line 3 of ${hbaFile()} to "host all all 0.0.0.0/0 scram-sha-256" once those roles have passwords (\\password in psql), then SELECT pg_reload_conf();`,
    );
    expect(find(limited, 'pg_hba.conf line 4 trusts TCP connections from this host')?.severity).toBe('warning');
    expect(limited.metrics?.critical).toBeGreaterThanOrEqual(1);
    expect(limited.status).toBe('warning');
  });

  it('reads pg_hba_file_rules as a superuser, to the same verdict', () => {
    expect(find(superuser, 'pg_hba_file_rules is not readable')).toBeUndefined();
    expect(JSON.stringify(superuser)).not.toContain(superuserPassword);
    expect((superuser.details as { hba: { source: string; rules: number } }).hba).toEqual({ source: `pg_hba_file_rules (${hbaFile()})`, rules: 4 });
    // The view gives the netmask apart from the address: shown as the same CIDR.
    expect(find(superuser, 'pg_hba.conf line 3 trusts connections from 0.0.0.0/0 without a password')?.action).toContain(
      '"host all all 0.0.0.0/0 scram-sha-256"',
    );
    expect(find(superuser, 'pg_hba.conf line 4 trusts TCP connections from this host')?.severity).toBe('warning');
  });

  it('flags superusers other than postgres, and login roles without expiry when the config requires one', () => {
    expect(find(limited, 'role mw_admin is a superuser')).toMatchObject({
      severity: 'warning',
      action: expect.stringMatching(/^ALTER ROLE "mw_admin" NOSUPERUSER;/),
    });
    expect(find(limited, 'role postgres')).toBeUndefined();
    const expiry = find(limited, '3 login role(s) have no password expiry')!;
    expect(expiry.evidence).toMatch(/^app_reader, mw_admin, ner11;/);
    expect(expiry.action).toMatch(/^ALTER ROLE "app_reader" VALID UNTIL '\d{4}-\d\d-\d\d'; ALTER ROLE "mw_admin" VALID UNTIL/);
    // Not required by default.
    expect(find(superuser, /password expiry/)).toBeUndefined();
  });

  it('lists backup files readable by others, with a command that fixes them', async () => {
    const files = readdirSync(sandbox.backupsDir).map((name) => join(sandbox.backupsDir, name));
    const finding = find(limited, `${files.length} backup file(s) in ${sandbox.backupsDir} are readable by every local user`)!;
    expect(finding.severity).toBe('warning');
    for (const file of files) expect(finding.evidence).toContain(file);
    const command = finding.action!.split(', and create backups')[0]!;
    execFileSync('sh', ['-c', command]);
    expect(execFileSync('find', [sandbox.backupsDir, '-perm', '-o=r'], { encoding: 'utf8' })).toBe('');
  });

  it('reports the real sshd settings, the listeners with their programs and the missing trivy', () => {
    const details = limited.details as { sshd: SshdSettings; listeners: { address: string; port: number; process?: string }[]; trivy: string | null };
    expect(details.sshd.source).toBe('sshd -T');
    expect(sshdFindings(details.sshd).map((finding) => finding.title)).toEqual(
      (limited.findings ?? []).filter((finding) => /^(root can|sshd )/.test(finding.title)).map((finding) => finding.title),
    );
    expect(details.listeners).toContainEqual({ address: '127.0.0.1', port: sandbox.ssh.port, process: 'sshd' });
    expect(details.listeners).toContainEqual({ address: '127.0.0.1', port: sandbox.postgres.port, process: 'postgres' });
    const trivyInstalled = spawnSync('sh', ['-c', 'command -v trivy']).status === 0;
    expect(details.trivy === null).toBe(!trivyInstalled);
    expect(find(limited, 'container images were not scanned: trivy is not installed')?.severity).toBe(trivyInstalled ? undefined : 'info');
  });

  it('reports pending security updates as the package manager lists them', () => {
    const count = limited.metrics!.securityUpdates!;
    expect(find(limited, /security update\(s\) pending$/)?.title).toBe(count ? `${count} security update(s) pending` : undefined);
  });

  it.skipIf(!available.ok)('flags privileged and root containers, not one running as a user', () => {
    expect(find(limited, '1 container(s) run privileged')).toMatchObject({ severity: 'warning', evidence: `mw-privileged (${engine!.busyboxImage})` });
    const root = find(limited, '1 container(s) run as root')!;
    expect(root.evidence).toMatch(/^mw-privileged \(.*, user not set\)/);
    expect(root.evidence).not.toContain('mw-unprivileged');
  });

  it('says why pg_hba.conf was not reviewed when neither the view nor the file can be read', async () => {
    const [unknownPath, missingFile] = await Promise.all([
      audit({ database: { 'data-directory': undefined } }),
      audit({ database: { 'data-directory': join(sandbox.root, 'elsewhere') } }),
    ]);
    expect(find(unknownPath, 'pg_hba.conf was not reviewed: its path is unknown')).toMatchObject({
      severity: 'info',
      evidence: 'ner11 may not read pg_hba_file_rules (it needs a superuser, or EXECUTE on pg_hba_file_rules()), nor hba_file',
    });
    expect(find(missingFile, `pg_hba.conf was not reviewed: ${join(sandbox.root, 'elsewhere', 'pg_hba.conf')} does not exist`)?.severity).toBe('info');
    for (const outcome of [unknownPath, missingFile]) expect(find(outcome, /^pg_hba\.conf line/)).toBeUndefined();
  });

  it.skipIf(!available.ok)('says so when docker is installed but its engine does not answer', async () => {
    const harness = stepHarness(sandbox);
    try {
      const result = await harness.target.exec(`export DOCKER_HOST=unix://${sandbox.root}/no-engine.sock; ${hostProbeScript(sandbox.backupsDir)}`);
      const headers = splitSections(result.stdout).map((entry) => entry.header);
      expect(headers).toContain('docker-unavailable');
      expect(headers).not.toContain('containers');
    } finally {
      await harness.close();
    }
  });

  it('fails naming the database when PostgreSQL cannot be reached', async () => {
    await expect(audit({ database: { port: 1 } })).rejects.toThrow(/cannot connect to database ner11_db as ner11 at 127\.0\.0\.1:1/);
  });
});

describe('sshd settings', () => {
  const probePath = async (path: string) => {
    const harness = stepHarness(sandbox);
    try {
      return parseSshdProbe((await harness.target.exec(sshdScript(path))).stdout);
    } finally {
      await harness.close();
    }
  };
  const probe = async (config: string, dropIn?: string) => {
    const dir = join(sandbox.root, `sshd-${randomBytes(4).toString('hex')}`);
    mkdirSync(join(dir, 'conf.d'), { recursive: true });
    writeFileSync(join(dir, 'sshd_config'), config.replace('DIR', dir));
    if (dropIn) writeFileSync(join(dir, 'conf.d', '50-local.conf'), dropIn);
    return probePath(join(dir, 'sshd_config'));
  };

  it('is critical when root may log in with a password (read by sshd -T)', async () => {
    const sshd = (await probe('PermitRootLogin yes\nPasswordAuthentication yes\n')) as SshdSettings;
    expect(sshd.source).toBe('sshd -T');
    expect(sshdFindings(sshd)).toEqual([expect.objectContaining({ severity: 'critical', title: 'root can log in over SSH with a password' })]);
  });

  it('falls back to the file when sshd -T refuses it, with Include files read first-wins', async () => {
    const sshd = (await probe(
      'Include DIR/conf.d/*.conf\nNotAnOption yes\nPermitRootLogin yes\nPasswordAuthentication yes\nMatch User backup\n  PasswordAuthentication yes\n',
      'PasswordAuthentication no\nKbdInteractiveAuthentication no\n',
    )) as SshdSettings;
    expect(sshd.note).toMatch(/^sshd -T not used: .*NotAnOption/s);
    expect(sshd.settings).toMatchObject({ permitrootlogin: 'yes', passwordauthentication: 'no', kbdinteractiveauthentication: 'no' });
    expect(sshdFindings(sshd)).toEqual([expect.objectContaining({ severity: 'warning', title: 'root can log in over SSH' })]);
  });

  it('takes the defaults for what the file leaves out: password logins are on', async () => {
    const sshd = (await probe('BadKeyword 1\n')) as SshdSettings;
    expect(sshdFindings(sshd)).toEqual([expect.objectContaining({ severity: 'warning', title: 'sshd accepts password logins' })]);
  });

  it('says so when the file cannot be read', async () => {
    const missing = join(sandbox.root, 'no-such', 'sshd_config');
    expect(await probePath(missing)).toMatchObject({ unreadable: missing, note: expect.stringMatching(/^sshd -T not used: /) });
  });
});

describe('listeners', () => {
  it('reads /proc/net/tcp to the same listeners as ss', () => {
    const key = (listener: { address: string; port: number }) => `${listener.address === '*' ? '::' : listener.address} ${listener.port}`;
    const ss = () => new Set(parseSs(execFileSync('ss', ['-ltnH'], { encoding: 'utf8' })).map(key));
    // Other processes open and close sockets meanwhile: ss before and after brackets the kernel tables' read.
    const before = ss();
    const proc = new Set(parseProcNetTcp(`${readFileSync('/proc/net/tcp', 'utf8')}\n${readFileSync('/proc/net/tcp6', 'utf8')}`).map(key));
    const after = ss();
    expect(proc.size).toBeGreaterThan(0);
    for (const listener of proc) expect(before.has(listener) || after.has(listener), listener).toBe(true);
    for (const listener of before) if (after.has(listener)) expect(proc.has(listener), listener).toBe(true);
  });

  it.each([
    ['LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=1,fd=3))', { address: '0.0.0.0', port: 22, process: 'sshd' }],
    ['LISTEN 0 244 [::1]:5432 [::]:*', { address: '::1', port: 5432 }],
    ['LISTEN 0 4096 127.0.0.53%lo:53 0.0.0.0:*', { address: '127.0.0.53', port: 53 }],
  ])('parses %s', (line, listener) => {
    expect(parseSs(line)).toEqual([listener]);
  });
});

describe('pg_hba.conf rules', () => {
  const file = `# comment
local   all  postgres                 peer
host    all  all   127.0.0.1/32       trust
host    "my db",other  all  10.0.0.0 255.0.0.0  trust   # inline comment
hostssl all  all   samenet            trust
host    all  all   samehost           trust
host    all  all   ::1/128            trust
host    all  all   ::/0               scram-sha-256
include_dir conf.d
`;

  it('parses addresses with masks, quoted names and include directives', () => {
    const { rules, includes } = parseHbaFile(file);
    expect(includes).toEqual(['conf.d']);
    expect(rules.map((rule) => [rule.line, rule.type, rule.databases.join('|'), rule.address, rule.netmask, rule.method, reachOf(rule)])).toEqual([
      [2, 'local', 'all', undefined, undefined, 'peer', 'socket'],
      [3, 'host', 'all', '127.0.0.1/32', undefined, 'trust', 'loopback'],
      [4, 'host', 'my db|other', '10.0.0.0', '255.0.0.0', 'trust', 'remote'],
      [5, 'hostssl', 'all', 'samenet', undefined, 'trust', 'remote'],
      [6, 'host', 'all', 'samehost', undefined, 'trust', 'loopback'],
      [7, 'host', 'all', '::1/128', undefined, 'trust', 'loopback'],
      [8, 'host', 'all', '::/0', undefined, 'scram-sha-256', 'remote'],
    ]);
    expect(hbaFindings(rules, '/etc/pg_hba.conf').map((finding) => [finding.title.match(/line (\d+)/)![1], finding.severity])).toEqual([
      ['3', 'warning'],
      ['4', 'critical'],
      ['5', 'critical'],
      ['6', 'warning'],
      ['7', 'warning'],
    ]);
  });
});

describe('netmasks', () => {
  it.each([
    ['255.0.0.0', 8],
    ['255.255.255.255', 32],
    ['0.0.0.0', 0],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 128],
    ['ffff:ffff:ffff:ffff::', 64],
    ['::', 0],
  ])('%s is /%d', (mask, bits) => {
    expect(prefixOfMask(mask)).toBe(bits);
  });
});

describe('ssl and trivy', () => {
  it('warns about ssl off only when the server listens beyond loopback', () => {
    expect(sslFinding('off', '*')?.severity).toBe('warning');
    expect(sslFinding('off', 'localhost, 127.0.0.1')?.severity).toBe('info');
    expect(sslFinding('on', '*')).toBeUndefined();
  });

  it('summarises a trivy JSON report by severity with the fixable serious ones', () => {
    const report = JSON.stringify({
      SchemaVersion: 2,
      ArtifactName: 'app:1',
      Results: [
        {
          Target: 'app:1 (debian 12.5)',
          Vulnerabilities: [
            { VulnerabilityID: 'CVE-2024-0001', PkgName: 'openssl', InstalledVersion: '3.0.11-1', FixedVersion: '3.0.13-1', Severity: 'CRITICAL' },
            { VulnerabilityID: 'CVE-2024-0002', PkgName: 'zlib1g', InstalledVersion: '1:1.2.13', Severity: 'HIGH' },
            { VulnerabilityID: 'CVE-2024-0003', PkgName: 'bash', InstalledVersion: '5.2', FixedVersion: '5.2.1', Severity: 'LOW' },
          ],
        },
        { Target: 'Python', Vulnerabilities: null },
      ],
    });
    const scan = summariseTrivy('app:1', report);
    expect(scan.counts).toEqual({ CRITICAL: 1, HIGH: 1, MEDIUM: 0, LOW: 1, UNKNOWN: 0 });
    expect(scan.fixable).toEqual(['CVE-2024-0001 openssl 3.0.11-1 → 3.0.13-1']);
    expect(trivyFinding(scan)).toMatchObject({ severity: 'warning', title: 'image app:1: 1 critical and 1 high vulnerabilities' });
    expect(trivyFinding(summariseTrivy('clean:1', JSON.stringify({ Results: [] })))).toBeUndefined();
  });
});
