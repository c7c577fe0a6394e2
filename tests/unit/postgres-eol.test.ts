import { describe, expect, it } from 'vitest';
import { compareVersions, lifecycle, postgresMajor, POSTGRES_EOL, type EolTable } from '../../src/steps/review/postgres-eol.js';
import { NODE_EOL, parseRuntimeVersions, PYTHON_EOL } from '../../src/steps/review/runtime-eol.js';
import { parseVersionsProbe, pgUpgradeFindings, type ClusterFacts } from '../../src/steps/review/versions-review.js';

const at = (day: string) => new Date(`${day}T02:00:00Z`);

describe('the PostgreSQL end-of-life table', () => {
  it('is dated and names its source', () => {
    expect(POSTGRES_EOL.writtenOn).toMatch(/^\d{4}-\d\d-\d\d$/);
    expect(POSTGRES_EOL.source).toContain('versioning policy');
  });

  it('follows the policy: each final release is a November Thursday five years after the major came out', () => {
    for (const line of POSTGRES_EOL.lines) {
      const eol = new Date(`${line.eol}T00:00:00Z`);
      expect(eol.getUTCMonth(), line.version).toBe(10);
      expect(eol.getUTCDay(), line.version).toBe(4);
    }
    expect(Object.fromEntries(POSTGRES_EOL.lines.map((line) => [line.version, line.eol]))).toMatchObject({
      '13': '2025-11-13',
      '14': '2026-11-12',
      '15': '2027-11-11',
      '16': '2028-11-09',
      '17': '2029-11-08',
      '18': '2030-11-14',
    });
  });

  it.each([POSTGRES_EOL, PYTHON_EOL, NODE_EOL])('$product lists its lines oldest version first, with valid dates', (table: EolTable) => {
    const versions = table.lines.map((line) => line.version);
    expect([...versions].sort(compareVersions)).toEqual(versions);
    for (const line of table.lines) expect(Number.isNaN(Date.parse(line.eol)), line.version).toBe(false);
  });
});

describe('lifecycle', () => {
  it.each([
    ['15', '2026-06-01', 'supported', 528],
    ['15', '2026-11-12', 'ending', 364],
    ['15', '2027-11-11', 'ending', 0],
    ['15', '2027-11-12', 'ended', -1],
    ['13', '2026-12-06', 'ended', -388],
    ['18', '2026-12-06', 'supported', 1439],
  ])('PostgreSQL %s on %s is %s (%d days left)', (version, day, state, daysLeft) => {
    expect(lifecycle(POSTGRES_EOL, version, at(day))).toMatchObject({ state, daysLeft });
  });

  it('names the newest line supported beyond a year as the upgrade target', () => {
    expect(lifecycle(POSTGRES_EOL, '13', at('2026-12-06')).upgradeTo).toEqual({ version: '18', eol: '2030-11-14' });
    // Within a year of 18's end, nothing in the table is a good target any more.
    expect(lifecycle(POSTGRES_EOL, '17', at('2030-01-01')).upgradeTo).toBeUndefined();
    expect(lifecycle(POSTGRES_EOL, '18', at('2026-12-06')).upgradeTo).toBeUndefined();
  });

  it('counts versions older than the table as ended, newer ones as unknown', () => {
    const old = lifecycle(POSTGRES_EOL, '9.5', at('2026-12-06'));
    expect(old.state).toBe('ended');
    expect(old.eol).toBeUndefined();
    const future = lifecycle(POSTGRES_EOL, '19', at('2026-12-06'));
    expect(future.state).toBe('unknown');
    expect(future.upgradeTo).toBeUndefined();
  });

  it('knows the runtimes', () => {
    expect(lifecycle(PYTHON_EOL, '3.9', at('2026-12-06'))).toMatchObject({ state: 'ended', eol: '2025-10-31', upgradeTo: { version: '3.14' } });
    expect(lifecycle(NODE_EOL, '20', at('2026-12-06'))).toMatchObject({ state: 'ended', eol: '2026-04-30', upgradeTo: { version: '26' } });
    expect(lifecycle(NODE_EOL, '22', at('2026-12-06'))).toMatchObject({ state: 'ending', eol: '2027-04-30' });
  });
});

describe('version strings', () => {
  it.each([
    [150018, '15'],
    [180001, '18'],
    [100023, '10'],
    [90624, '9.6'],
  ])('server_version_num %d is major %s', (num, major) => {
    expect(postgresMajor(num)).toBe(major);
  });

  it('reads python3 / node --version output and ignores the rest', () => {
    expect(parseRuntimeVersions('Python 3.11.2\nv20.20.2\nsh: node: not found\nPython 3.13.0rc1\n')).toEqual([
      { runtime: 'python', full: '3.11.2', line: '3.11' },
      { runtime: 'node', full: '20.20.2', line: '20' },
      { runtime: 'python', full: '3.13.0rc1', line: '3.13' },
    ]);
  });

  it('reads the versions probe: host, containers and pg_upgrade binaries', () => {
    const probe = parseVersionsProbe(
      '@@host\nPython 3.11.2\nsh: node: not found\n@@pg_upgrade\n/usr/lib/postgresql/15/bin/pg_upgrade\n/usr/pgsql-17/bin/pg_upgrade\n@@container api\nv22.1.0\nOCI runtime exec failed\n@@container worker\n',
    );
    expect(probe.containers).toEqual(['api', 'worker']);
    expect(probe.runtimes).toEqual([
      { runtime: 'python', full: '3.11.2', line: '3.11', where: 'host' },
      { runtime: 'node', full: '22.1.0', line: '22', where: 'container api' },
    ]);
    expect(probe.pgUpgrade.map((binary) => [binary.major, binary.bindir])).toEqual([
      ['15', '/usr/lib/postgresql/15/bin'],
      ['17', '/usr/pgsql-17/bin'],
    ]);
  });
});

describe('pg_upgrade planning', () => {
  const cluster: ClusterFacts = {
    major: '15',
    port: 5432,
    dataDirectory: '/var/lib/postgresql/15/main',
    encoding: 'UTF8',
    collate: 'en_US.UTF-8',
    ctype: 'en_US.UTF-8',
  };
  const binary = (major: string) => ({ major, path: `/usr/lib/postgresql/${major}/bin/pg_upgrade`, bindir: `/usr/lib/postgresql/${major}/bin` });

  it('plans a check against the newest installed major, with the exact commands', () => {
    const [finding, ...rest] = pgUpgradeFindings(cluster, [binary('15'), binary('16'), binary('17')]);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ severity: 'info', title: "PostgreSQL 17's pg_upgrade is installed: the upgrade from 15 can be checked" });
    expect(finding!.evidence).toContain('(also: 16)');
    expect(finding!.action).toContain(
      '/usr/lib/postgresql/17/bin/initdb -D /var/tmp/pg17-upgrade-check --no-sync -E UTF8 --lc-collate=en_US.UTF-8 --lc-ctype=en_US.UTF-8 && cd /var/tmp && /usr/lib/postgresql/17/bin/pg_upgrade --check -b /usr/lib/postgresql/15/bin -B /usr/lib/postgresql/17/bin -d /var/lib/postgresql/15/main -D /var/tmp/pg17-upgrade-check -p 5432 -P 50432; rm -rf /var/tmp/pg17-upgrade-check',
    );
  });

  it('plans nothing when only the running major or older ones are installed', () => {
    expect(pgUpgradeFindings(cluster, [binary('14'), binary('15')])).toEqual([]);
  });

  it('leaves visible placeholders for what it could not learn', () => {
    const [finding] = pgUpgradeFindings({ ...cluster, dataDirectory: undefined }, [binary('18')]);
    expect(finding!.action).toContain("-b '<old bindir>'");
    expect(finding!.action).toContain("-d '<data directory>'");
    expect(finding!.evidence).toContain('set database.data-directory');
  });
});
