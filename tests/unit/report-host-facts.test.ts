import { describe, expect, test } from 'vitest';
import { parseHostFacts } from '../../src/report/host-facts-parse.js';
import { hostFactsScript } from '../../src/report/host-facts-script.js';
import { formatBytes, formatDuration, parseHumanSize } from '../../src/report/human-size.js';
import { parseConfig } from '../../src/settings/load-config.js';

const config = (yaml = '') => parseConfig(yaml, 'test.yml');

/** What the script printed on a compose host (docker 24, Podman-style stats names, a bind mount, tmpfs). */
const COMPOSE_HOST = [
  'hostname\tdb1',
  'kernel\tLinux 6.1.0-27-amd64',
  'cpus\t4',
  'now\t1796539101',
  'uptime\t3801600.55',
  'load\t0.42\t0.37\t0.31',
  'mem\tMemTotal\t16384000',
  'mem\tMemAvailable\t9000000',
  'disk\t/dev/sda1\text4\t107374182400\t69793218560\t32212254720\t/',
  'disk\t/dev/sda1\text4\t107374182400\t69793218560\t32212254720\t/var/lib/docker/overlay2/x/merged',
  'disk\t/dev/sda1\text4\t107374182400\t69793218560\t32212254720\t/srv/bind mount',
  'disk\ttmpfs\ttmpfs\t1000\t0\t1000\t/run',
  'disk\toverlay\toverlay\t5000\t100\t4900\t/var/lib/docker/overlay2/y/merged',
  'disk\t/dev/sdb1\txfs\t536870912000\t226492416000\t310378496000\t/backups',
  'backup\t1796500000.5\t1406000000\t/backups/ner11/database/ner11_db_20261129_020020.dump',
  'backup-count\t14',
  'docker-present',
  'docker-df\tImages\t19\t4\t5.8GB\t3.9GB (67%)',
  'docker-df\tContainers\t4\t4\t48MB\t0B (0%)',
  'docker-df\tLocal Volumes\t3\t3\t18.4GB\t0B (0%)',
  'docker-df\tBuild Cache\t41\t0\t1.2GB\t1.2GB',
  'docker-df-exit\t0',
  'docker-ps\t68c8fd5dacf6\tner11_api_1\tghcr.io/example/api:1\trunning\tUp 3 days',
  'docker-ps\t67305062980b\tner11_worker_1\tghcr.io/example/api:1\texited\tExited (0) 2 hours ago',
  'docker-ps-exit\t0',
  'docker-stats\t68c8fd5dacf6e0a1\t2.41%\t412MiB / 2GiB',
  'docker-stats-exit\t0',
  'service\t    Name          Command    State   Ports',
  'service\t------------------------------------------',
  'service\tner11_api_1      run.sh     Up',
  'service\tner11_worker_1   work.sh    Exit 0',
  'service-exit\t0',
  'activity\t7\t1\t1796539090\t120443\t2',
  'host-facts-end',
].join('\n');

describe('parseHostFacts', () => {
  const facts = parseHostFacts(COMPOSE_HOST, config('activity:\n  access-log: /var/log/nginx/access.log\nbackups:\n  dir: /backups/ner11/database\n'), false);

  test('system facts, memory in bytes', () => {
    expect(facts.system).toEqual({
      hostname: 'db1',
      kernel: 'Linux 6.1.0-27-amd64',
      cpus: 4,
      uptimeSeconds: 3801601,
      load: [0.42, 0.37, 0.31],
      memory: { totalBytes: 16384000 * 1024, availableBytes: 9000000 * 1024 },
    });
  });

  test('real mounts only, one per file system under its shortest path, used percent as df computes it', () => {
    expect(facts.disks.map((disk) => disk.mount)).toEqual(['/', '/backups']);
    expect(facts.disks[0]).toMatchObject({ filesystem: '/dev/sda1', type: 'ext4', usedPercent: 68.5 });
  });

  test('the newest backup with its age from the host clock', () => {
    expect(facts.backup).toEqual({
      dir: '/backups/ner11/database',
      pattern: 'ner11_db_*',
      count: 14,
      newest: {
        path: '/backups/ner11/database/ner11_db_20261129_020020.dump',
        sizeBytes: 1406000000,
        modifiedAt: new Date(1796500000500).toISOString(),
        ageSeconds: 39101,
      },
    });
  });

  test('docker space in bytes, containers joined to their stats by id', () => {
    expect(facts.docker!.space[0]).toEqual({ type: 'Images', count: 19, active: 4, sizeBytes: 5_800_000_000, reclaimableBytes: 3_900_000_000 });
    expect(facts.docker!.totalBytes).toBe(5_800_000_000 + 48_000_000 + 18_400_000_000 + 1_200_000_000);
    expect(facts.docker!.containers).toEqual([
      {
        name: 'ner11_api_1',
        image: 'ghcr.io/example/api:1',
        state: 'running',
        status: 'Up 3 days',
        cpuPercent: 2.41,
        memoryBytes: 412 * 1024 ** 2,
        memoryLimitBytes: 2 * 1024 ** 3,
      },
      { name: 'ner11_worker_1', image: 'ghcr.io/example/api:1', state: 'exited', status: 'Exited (0) 2 hours ago' },
    ]);
  });

  test('compose status: one service not up means not running', () => {
    expect(facts.services).toMatchObject({ manager: 'compose', running: false });
    expect(facts.services!.detail).toContain('ner11_worker_1   work.sh    Exit 0');
  });

  test('activity and no errors', () => {
    expect(facts.activity).toEqual({
      accessLog: '/var/log/nginx/access.log',
      windowSeconds: 600,
      requests: 7,
      serverErrors: 1,
      lastRequestAt: new Date(1796539090000).toISOString(),
      linesScanned: 120443,
    });
    expect(facts.errors).toEqual([]);
  });

  test('output cut short is said so; a docker client without a daemon is not an error unless compose runs the app', () => {
    const cut = parseHostFacts(COMPOSE_HOST.split('\n').slice(0, 5).join('\n'), config(), false);
    expect(cut.errors).toContain('the host facts script output was cut short; some host facts are missing');
    const noDaemon = [
      'hostname\th',
      'docker-present',
      'docker-df\tCannot connect to the Docker daemon',
      'docker-df-exit\t1',
      'docker-ps\tCannot connect to the Docker daemon',
      'docker-ps-exit\t1',
      'host-facts-end',
    ].join('\n');
    expect(parseHostFacts(noDaemon, config('services:\n  manager: none\n'), false)).toMatchObject({ errors: [] });
    expect(parseHostFacts(noDaemon, config('services:\n  manager: none\n'), false).docker).toBeUndefined();
    expect(parseHostFacts(noDaemon, config(), false).errors).toEqual([
      'docker system df failed (exit 1): Cannot connect to the Docker daemon',
      'docker ps failed (exit 1): Cannot connect to the Docker daemon',
    ]);
  });
});

describe('hostFactsScript', () => {
  test('every configured path reaches the shell quoted (the config schema is not the only guard)', () => {
    const hostile = config();
    hostile.backups.dir = "/b/it's here; rm -rf /";
    hostile.backups.pattern = '*$(reboot)*';
    hostile.activity.accessLog = '/var/log/a b`id`.log';
    const script = hostFactsScript(hostile);
    expect(script).toContain(`[ -d '/b/it'\\''s here; rm -rf /' ]`);
    expect(script).toContain(`-name '*$(reboot)*'`);
    expect(script).toContain(`tail -n 200000 '/var/log/a b\`id\`.log'`);
  });

  test('the service status follows the manager', () => {
    const systemd = config('services:\n  manager: systemd\n  app: [api, worker@2]\n');
    systemd.services.app.push('we ird');
    expect(hostFactsScript(systemd)).toContain(`systemctl is-active api worker@2 'we ird'`);
    expect(hostFactsScript(config('services:\n  manager: none\n'))).not.toContain('service_status');
    expect(hostFactsScript(config('services:\n  manager: compose\n  project-dir: /srv/app\n'))).toMatch(/cd \/srv\/app && .*compose ps api/);
  });
});

test.each([
  ['0B', 0],
  ['27B', 27],
  ['12.3kB', 12_300],
  ['5.8GB', 5_800_000_000],
  ['500MB (40%)', 500_000_000],
  ['616KiB', 616 * 1024],
  ['1.944GiB', Math.round(1.944 * 1024 ** 3)],
  ['-2.131e+06B', undefined],
  ['n/a', undefined],
])('parseHumanSize(%j)', (input, expected) => {
  expect(parseHumanSize(input)).toBe(expected);
});

test.each([
  [0, '0 B'],
  [1023, '1023 B'],
  [1536, '1.50 KiB'],
  [3.42 * 1024 ** 3, '3.42 GiB'],
  [-300 * 1024, '-300 KiB'],
])('formatBytes(%d)', (bytes, expected) => {
  expect(formatBytes(bytes)).toBe(expected);
});

test.each([
  [850, '850 ms'],
  [1_380, '1.4 s'],
  [45_000, '45 s'],
  [184_000, '3m 04s'],
  [1_800_000, '30m'],
  [9_060_000, '2h 31m'],
  [3_600_000, '1h'],
  [3_801_600_000, '44d 0h'],
])('formatDuration(%d)', (ms, expected) => {
  expect(formatDuration(ms)).toBe(expected);
});
