import pg from 'pg';
import type { Target, Tunnel } from '../remote/target.js';
import { quoteLiteral } from './sql.js';

export interface DatabaseOptions {
  host: string;
  port: number;
  name: string;
  user: string;
  password?: string;
  /** Default lock_timeout for every session: maintenance never queues the app for longer. */
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  applicationName?: string;
}

export type Row = Record<string, unknown>;

/** PostgreSQL reached through the target's tunnel; a small pool for parallel jobs. */
export class Database {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly tunnel: Tunnel,
    readonly options: DatabaseOptions,
  ) {}

  static async open(target: Target, options: DatabaseOptions, maxConnections = 4): Promise<Database> {
    const tunnel = await target.tunnel(options.host, options.port);
    const pool = new pg.Pool({
      host: '127.0.0.1',
      port: tunnel.localPort,
      database: options.name,
      user: options.user,
      password: options.password,
      max: maxConnections,
      application_name: options.applicationName ?? 'maintenance-window',
      connectionTimeoutMillis: 30_000,
      options: `-c lock_timeout=${options.lockTimeoutMs} -c statement_timeout=${options.statementTimeoutMs}`,
    });
    pool.on('error', () => undefined); // idle client errors (server restart) surface on the next query
    const database = new Database(pool, tunnel, options);
    try {
      await database.query('select 1');
    } catch (error) {
      await database.close();
      // The SQLSTATE stays on the error: the runner does not retry a refused login.
      throw Object.assign(
        new Error(
          `cannot connect to database ${options.name} as ${options.user} at ${options.host}:${options.port} (through the SSH tunnel): ${(error as Error).message}`,
        ),
        { code: (error as { code?: string }).code },
      );
    }
    return database;
  }

  async query<T extends Row = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    const result = await this.pool.query(sql, params);
    return result.rows as T[];
  }

  /** One session for statements that must share it (SET, VACUUM outside a transaction, progress by pid). */
  async withSession<T>(work: (session: Session) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // The pool listens for errors only on idle clients: a connection lost while checked out would otherwise be an
    // uncaught 'error' event, which ends the whole process (and leaves the journal 'running').
    let lost = false;
    const onError = () => void (lost = true);
    client.on('error', onError);
    let broken = false;
    try {
      return await work(new Session(client));
    } catch (error) {
      broken = isConnectionError(error);
      throw error;
    } finally {
      client.removeListener('error', onError);
      client.release(broken || lost);
    }
  }

  /** Another database on the same server (test restores, DR drills). */
  async openOther(name: string, target: Target): Promise<Database> {
    return Database.open(target, { ...this.options, name }, 1);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
    await this.tunnel.close();
  }
}

export class Session {
  constructor(private readonly client: pg.PoolClient) {}

  get pid(): number {
    return (this.client as unknown as { processID: number }).processID;
  }

  async query<T extends Row = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.client.query(sql, params)).rows as T[];
  }

  async setLockTimeout(ms: number): Promise<void> {
    await this.client.query(`SET lock_timeout = ${quoteLiteral(`${Math.round(ms)}ms`)}`);
  }
}

export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  return /^(57P0[1-3]|08\d\d)$/.test(code) || /terminat|Connection terminated|ECONNRESET|not queryable/i.test(String((error as Error).message));
}

export function isLockTimeout(error: unknown): boolean {
  return (error as { code?: string }).code === '55P03';
}

/** Wrong password, no such role or database: retrying cannot help. */
export function isPermanentDatabaseError(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code ?? '';
  return /^28/.test(code) || code === '3D000';
}
