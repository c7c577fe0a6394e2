import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { defaultLabel, parseInventory } from '../../src/fleet/inventory.js';

const DEFAULTS = { username: 'root', port: 22 };
const parse = (text: string) => parseInventory(text, 'inventory hosts.txt', DEFAULTS);

function problems(text: string): string[] {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/^inventory hosts\.txt: \d+ problems?:/);
    return (error as ValidationError).problems;
  }
  throw new Error('expected a ValidationError');
}

describe('parseInventory', () => {
  it('reads user@host:port and an optional label, with defaults, comments and blank lines', () => {
    const hosts = parse(
      ['# primary DCs', 'deploy@db1.example.com:2222 db-primary', '', 'db2.example.com   # replica', '10.0.0.7:2200', '[::1]:2022 loop6'].join('\n'),
    );
    expect(hosts).toEqual([
      { endpoint: { username: 'deploy', host: 'db1.example.com', port: 2222 }, label: 'db-primary', line: 2 },
      { endpoint: { username: 'root', host: 'db2.example.com', port: 22 }, label: 'db2.example.com', line: 4 },
      { endpoint: { username: 'root', host: '10.0.0.7', port: 2200 }, label: '10.0.0.7-2200', line: 5 },
      { endpoint: { username: 'root', host: '::1', port: 2022 }, label: 'loop6', line: 6 },
    ]);
  });

  it('takes the username and port defaults from the single-host inputs', () => {
    expect(parseInventory('db1', 'x', { username: 'ops', port: 2201 })[0]).toMatchObject({
      endpoint: { username: 'ops', host: 'db1', port: 2201 },
      label: 'db1-2201',
    });
  });

  it.each([
    ['db1;rm', /line 1: "db1;rm": expected a host name/],
    ['db1;rm -rf /', /line 1: "db1;rm -rf \/": expected user@host:port and an optional label/],
    ['db1 $(reboot)', /line 1: label "\$\(reboot\)": expected letters/],
    ['r`oot`@db1', /line 1: .*expected a user name/],
    ['db1:99999', /line 1: "99999": expected a TCP port/],
    ['db1 label extra', /line 1: "db1 label extra": expected user@host:port and an optional label/],
    ['db1 -dash', /line 1: label "-dash"/],
    ['db1|cat', /line 1: .*expected a host name/],
  ])('rejects %j, naming the line', (line, message) => {
    const found = problems(line);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });

  it('reports every problem at once, each with its line', () => {
    const found = problems(['db1', 'db1&', 'db2', 'db3:0', 'db4 x y'].join('\n'));
    expect(found.map((problem) => problem.split(':')[0])).toEqual(['line 2', 'line 4', 'line 5']);
  });

  it('refuses the same host twice (one window per host) and a label used twice', () => {
    expect(problems('db1\nroot@db1:22 other')).toEqual(['line 2: db1:22 is already on line 1; one window per host']);
    expect(problems('db1 a\ndb2 a')).toEqual(['line 2: label a is already used on line 1; give one of them another label']);
  });

  it('refuses an inventory without hosts', () => {
    expect(problems('# nothing yet\n\n')).toEqual(['no hosts: expected one user@host:port a line']);
  });

  it('makes labels safe for ids and paths', () => {
    expect(defaultLabel({ username: 'u', host: 'fe80::1', port: 22 })).toBe('fe80-1');
    expect(defaultLabel({ username: 'u', host: 'db.example.com', port: 22 })).toBe('db.example.com');
    expect(defaultLabel({ username: 'u', host: 'db', port: 5022 })).toBe('db-5022');
  });
});
