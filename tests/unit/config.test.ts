import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { parseConfig } from '../../src/settings/load-config.js';

describe('parseConfig', () => {
  it('gives the runbook defaults for an empty file', () => {
    const config = parseConfig('', 'defaults');
    expect(config.database).toMatchObject({ host: '127.0.0.1', port: 5432, name: 'ner11_db', integrityTables: ['vendor_equipment', 'threat_intelligence'] });
    expect(config.window).toMatchObject({ timezone: 'UTC', start: '02:00', end: '05:00', cutoffMs: 15 * 60_000 });
    expect(config.backups).toMatchObject({ dir: '/backups/ner11/database', pattern: 'ner11_db_*', maxAgeMs: 26 * 3_600_000, checksum: true });
    expect(config.services).toMatchObject({ manager: 'compose', app: ['api'] });
    expect(config.stateDir).toBe('/var/lib/maintenance-window');
  });

  it('reads custom steps with their defaults', () => {
    const config = parseConfig(
      'tiers:\n  weekly:\n    add:\n      - id: custom.warm-cache\n        run: curl -fsS localhost/warm\n        after: db.vacuum-analyze\n        timeout: 5m\n',
      'f.yml',
    );
    expect(config.tiers.weekly.add[0]).toMatchObject({
      id: 'custom.warm-cache',
      impact: 'none',
      destructive: false,
      idempotent: false,
      timeoutMs: 300_000,
      after: 'db.vacuum-analyze',
    });
  });

  const bad: [string, string, RegExp][] = [
    ['malformed YAML', 'database: [unclosed', /line 1/],
    ['a list at the top', '- a\n- b', /mapping/],
    ['unknown top-level key', 'databse:\n  name: x\n', /line 1: databse: unknown key/],
    ['unknown nested key', 'database:\n  name: x\n  pasword: y\n', /line 3: database\.pasword: unknown key/],
    ['password in the file', 'database:\n  password: hunter2\n', /database\.password: unknown key/],
    ['port as text', 'database:\n  port: five\n', /line 2: database\.port: expected integer/],
    ['port out of range', 'database:\n  port: 70000\n', /database\.port/],
    ['database name with SQL', 'database:\n  name: "x; drop table users"\n', /database\.name/],
    ['integrity table with quote', 'database:\n  integrity-tables: ["a\'b"]\n', /database\.integrity-tables\.0/],
    ['lock timeout malformed', 'database:\n  lock-timeout: soon\n', /database\.lock-timeout/],
    ['lock timeout too long', 'database:\n  lock-timeout: 2h\n', /database\.lock-timeout.*out of range/],
    ['vacuum jobs zero', 'database:\n  vacuum-jobs: 0\n', /database\.vacuum-jobs/],
    ['bloat threshold over 100', 'database:\n  bloat-threshold: 150\n', /database\.bloat-threshold/],
    ['unknown manager', 'services:\n  manager: k8s\n', /services\.manager: expected one of compose, systemd, command, none/],
    ['command manager without commands', 'services:\n  manager: command\n', /needs services\.start/],
    ['project dir with $()', 'services:\n  project-dir: "/opt/$(reboot)"\n', /services\.project-dir/],
    ['relative project dir', 'services:\n  project-dir: opt/app\n', /services\.project-dir/],
    ['service name with ;', 'services:\n  app: ["api; reboot"]\n', /services\.app\.0/],
    ['health url not http', 'health:\n  url: "ftp://x"\n', /health\.url/],
    ['backup dir with backticks', 'backups:\n  dir: "/b/`id`"\n', /backups\.dir/],
    ['backup pattern with slash', 'backups:\n  pattern: "../*"\n', /backups\.pattern/],
    ['max-age too short', 'backups:\n  max-age: 1s\n', /backups\.max-age.*out of range/],
    ['log dir with newline', 'logs:\n  dirs: ["/var/log/a\\nb"]\n', /logs\.dirs\.0/],
    ['delete before compress', 'logs:\n  compress-after-days: 30\n  delete-after-days: 7\n', /logs\.delete-after-days: must be more/],
    ['tls endpoint without port', 'tls:\n  endpoints: [example.com]\n', /tls\.endpoints\.0/],
    ['tls fail above warn', 'tls:\n  warn-days: 10\n  fail-days: 20\n', /tls\.fail-days: must be less/],
    ['bad time zone', 'window:\n  timezone: Mars/Base\n', /window\.timezone.*not an IANA time zone/],
    ['window start 25:00', 'window:\n  start: "25:00"\n', /window\.start/],
    ['window start equals end', 'window:\n  start: "02:00"\n  end: "02:00"\n', /ends when it starts/],
    ['disk warn above fail', 'disk:\n  warn-percent: 99\n  fail-percent: 90\n', /disk\.warn-percent: must be less/],
    ['unknown tier', 'tiers:\n  daily:\n    skip: []\n', /tiers\.daily: unknown key/],
    [
      'custom step with both run and sql',
      'tiers:\n  weekly:\n    add:\n      - id: custom.x\n        run: "true"\n        sql: select 1\n',
      /exactly one of run or sql/,
    ],
    ['custom step with neither', 'tiers:\n  weekly:\n    add:\n      - id: custom.x\n', /exactly one of run or sql/],
    [
      'custom step bad impact',
      'tiers:\n  weekly:\n    add:\n      - id: custom.x\n        run: "true"\n        impact: total\n',
      /impact: expected one of none, degraded, downtime/,
    ],
    ['custom step bad id', 'tiers:\n  weekly:\n    add:\n      - id: "Custom X"\n        run: "true"\n', /tiers\.weekly\.add\.0\.id/],
    [
      'custom step timeout out of range',
      'tiers:\n  weekly:\n    add:\n      - id: custom.x\n        run: "true"\n        timeout: 48h\n',
      /timeout: out of range/,
    ],
    [
      'custom step destructive not boolean',
      'tiers:\n  weekly:\n    add:\n      - id: custom.x\n        run: "true"\n        destructive: maybe\n',
      /destructive: expected boolean/,
    ],
    ['state dir relative', 'state-dir: state\n', /state-dir/],
    ['duplicate keys', 'database:\n  name: a\n  name: b\n', /line 3/],
  ];

  it.each(bad)('refuses %s with the key path and line', (_name, yaml, message) => {
    let error: unknown;
    try {
      parseConfig(yaml, 'maintenance.yml');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/^maintenance\.yml: /);
    expect((error as Error).message).toMatch(message);
  });

  it('reports every problem at once', () => {
    expect(() => parseConfig('database:\n  port: x\nservices:\n  manager: k8s\n', 'f')).toThrow(/2 problems/);
  });
});
