import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTarget } from '../../src/remote/local-target.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { execContract } from './exec-contract.js';

describe('LocalTarget', () => {
  const target = new LocalTarget();
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'mw-local-target-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  execContract(
    () => target,
    () => scratch,
  );
});

describe('LocalTarget tunnel', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ app: false, seedBloat: false });
  });
  afterAll(async () => sandbox?.stop());

  it('forwards a port: a pg query through it reaches the database', async () => {
    const tunnel = await new LocalTarget().tunnel('127.0.0.1', sandbox.postgres.port);
    const client = new pg.Client({
      host: '127.0.0.1',
      port: tunnel.localPort,
      user: sandbox.postgres.user,
      password: sandbox.postgres.password,
      database: sandbox.postgres.database,
    });
    await client.connect();
    const { rows } = await client.query('select current_user as who, inet_server_port() as port');
    await client.end();
    await tunnel.close();
    expect(rows[0]).toEqual({ who: 'ner11', port: sandbox.postgres.port });
  });
});
