import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { mapInputSource } from '../../src/settings/input-source.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
import type { RunContext } from '../../src/settings/settings.js';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
const KNOWN = '[db.example.com]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKyqUd0k0i4u3uJ5vS2bq8X1oYwC6Q3tC6u0uO2S9pbE';
const RUN: RunContext = { repository: 'o/r', runId: '42', runAttempt: 1, workflow: 'w', serverUrl: 'https://github.com', actor: 'a' };
const GOOD = { host: 'db.example.com', port: '2222', 'private-key': KEY, 'known-hosts': KNOWN };

function parse(values: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  return parseSettings(mapInputSource(values), RUN, env);
}

describe('parseSettings', () => {
  it('fills defaults and a window id stable across re-runs of the run', () => {
    const settings = parse(GOOD);
    expect(settings.target).toEqual({ host: 'db.example.com', port: 2222, username: 'root' });
    expect(settings.tier).toBe('weekly');
    expect(settings.windowId).toBe('weekly-42');
    expect(settings.strictHostKeyChecking).toBe(true);
    expect(settings.connectTimeoutMs).toBe(30_000);
    expect(settings.resume).toEqual({ kind: 'auto' });
    expect(settings.reportDir).toBe('maintenance-report');
  });

  it('marks every secret before anything could print it', () => {
    const secrets: string[] = [];
    parseSettings(mapInputSource({ ...GOOD, passphrase: 'pass-phrase-1', 'database-password': 'db-pw', 'github-token': 'ghp_x' }, secrets), RUN, {});
    expect(secrets).toEqual(expect.arrayContaining([KEY, 'pass-phrase-1', 'db-pw', 'ghp_x']));
  });

  it('reads the database password from PGPASSWORD when the input is empty', () => {
    expect(parse(GOOD, { PGPASSWORD: 'from-env' }).databasePassword).toBe('from-env');
  });

  it.each([
    ['resume', 'restart', { kind: 'restart' }],
    ['resume', 'db.reindex', { kind: 'from', stepId: 'db.reindex' }],
  ])('parses %s=%s', (name, value, expected) => {
    expect(parse({ ...GOOD, [name]: value }).resume).toEqual(expected);
  });

  it('parses the jump host with defaults', () => {
    expect(parse({ ...GOOD, 'jump-host': 'ops@bastion.example.com' }).jumpHost).toEqual({ username: 'ops', host: 'bastion.example.com', port: 22 });
  });

  it('lets a dry run go without a host', () => {
    expect(parse({ 'dry-run': 'true' }).target).toBeUndefined();
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['unknown tier', { ...GOOD, tier: 'daily' }, /'tier'.*"daily".*weekly, monthly, quarterly/],
    ['port not a number', { ...GOOD, port: '22a' }, /'port'.*"22a".*1 to 65535/],
    ['port out of range', { ...GOOD, port: '70000' }, /'port'.*"70000"/],
    ['port zero', { ...GOOD, port: '0' }, /'port'.*"0"/],
    ['host with shell', { ...GOOD, host: 'db; rm -rf /' }, /'host'.*rm -rf/],
    ['host with $()', { ...GOOD, host: '$(reboot)' }, /'host'.*\$\(reboot\)/],
    ['host with backticks', { ...GOOD, host: '`id`' }, /'host'/],
    ['host with newline', { ...GOOD, host: 'db\nexample' }, /'host'/],
    ['username with quote', { ...GOOD, username: "ro'ot" }, /'username'.*ro'ot/],
    ['username with space', { ...GOOD, username: 'a b' }, /'username'/],
    ['no host and no dry run', { 'private-key': KEY }, /'host'.*target host is needed/],
    ['no credentials', { host: 'db.example.com', 'known-hosts': KNOWN }, /'private-key'.*private-key or a password/],
    ['key not a key', { ...GOOD, 'private-key': 'hello' }, /'private-key'.*secret, not shown/],
    ['no host key pin', { host: 'db.example.com', 'private-key': KEY }, /'known-hosts'.*pin the host key/],
    ['fingerprint wrong format', { ...GOOD, 'known-hosts': '', 'host-fingerprint': 'MD5:aa:bb' }, /'host-fingerprint'.*"MD5:aa:bb".*SHA256:/],
    ['fingerprint too short', { ...GOOD, 'host-fingerprint': 'SHA256:abc' }, /'host-fingerprint'/],
    ['known-hosts garbage', { ...GOOD, 'known-hosts': 'not a known hosts line' }, /'known-hosts'.*known_hosts/],
    ['known-hosts bad base64', { ...GOOD, 'known-hosts': 'h ssh-ed25519 !!!' }, /'known-hosts'.*base64/],
    ['strict not boolean', { ...GOOD, 'strict-host-key-checking': 'no' }, /'strict-host-key-checking'.*"no".*true or false/],
    ['dry-run not boolean', { ...GOOD, 'dry-run': 'yes' }, /'dry-run'.*"yes"/],
    ['connect-timeout malformed', { ...GOOD, 'connect-timeout': 'soon' }, /'connect-timeout'.*"soon"/],
    ['connect-timeout too long', { ...GOOD, 'connect-timeout': '2h' }, /'connect-timeout'.*"2h"/],
    ['connect-timeout too short', { ...GOOD, 'connect-timeout': '10ms' }, /'connect-timeout'/],
    ['max-duration too long', { ...GOOD, 'max-duration': '30h' }, /'max-duration'.*"30h"/],
    ['max-duration negative', { ...GOOD, 'max-duration': '-5m' }, /'max-duration'/],
    ['steps with shell', { ...GOOD, steps: 'db.vacuum-analyze; rm -rf /' }, /'steps'.*rm -rf/],
    ['steps with $()', { ...GOOD, steps: '$(id)' }, /'steps'/],
    ['skip-steps with quote', { ...GOOD, 'skip-steps': "x'y" }, /'skip-steps'/],
    ['resume garbage', { ...GOOD, resume: 'from the middle' }, /'resume'.*auto, restart or a step id/],
    ['window-id with slash', { ...GOOD, 'window-id': '../../etc' }, /'window-id'.*"\.\.\/\.\.\/etc"/],
    ['window-id with backticks', { ...GOOD, 'window-id': '`reboot`' }, /'window-id'/],
    ['window-id with NUL', { ...GOOD, 'window-id': 'a\0b' }, /'window-id'/],
    ['only-on unknown', { ...GOOD, 'only-on': 'mondays' }, /'only-on'.*"mondays"/],
    ['on-failure unknown', { ...GOOD, 'on-failure': 'panic' }, /'on-failure'.*stop, rollback/],
    ['report-dir with newline', { ...GOOD, 'report-dir': 'a\nb' }, /'report-dir'/],
    ['config with NUL', { ...GOOD, config: 'a\0b' }, /'config'/],
    ['jump host malformed', { ...GOOD, 'jump-host': 'a@b@c' }, /'jump-host'/],
    ['jump host port bad', { ...GOOD, 'jump-host': 'bastion:99999' }, /'jump-host'.*"99999"/],
    ['jump host without credentials', { host: 'db.example.com', 'known-hosts': KNOWN, 'jump-host': 'bastion' }, /'private-key'|'jump-host'/],
    ['database password with newline', { ...GOOD, 'database-password': 'a\nb' }, /'database-password'.*secret, not shown/],
    ['open-issue not boolean', { ...GOOD, 'open-issue-on-failure': '1' }, /'open-issue-on-failure'/],
  ];
  it.each(bad)('refuses %s, naming the input and value', (_name, values, message) => {
    expect(() => parse(values)).toThrow(InputError);
    expect(() => parse(values)).toThrow(message);
  });

  it('never shows a secret value in an error', () => {
    try {
      parse({ ...GOOD, 'database-password': 'sup3r\nsecret' });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain('sup3r');
    }
  });
});
