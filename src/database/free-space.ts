import { quote } from '../remote/shell.js';
import { RemoteCommandError, type Target } from '../remote/target.js';
import type { MaintenanceConfig } from '../settings/config.js';
import type { Database } from './database.js';

/**
 * The host directory holding the default tablespace: database.data-directory from the config (the
 * host path when PostgreSQL runs in a container), else what the server says (needs superuser or
 * pg_read_all_settings); undefined when neither is known.
 */
export async function dataDirectory(db: Pick<Database, 'query'>, config: MaintenanceConfig): Promise<string | undefined> {
  if (config.database.dataDirectory) return config.database.dataDirectory;
  try {
    const [row] = await db.query("SELECT current_setting('data_directory') AS dir");
    return row?.dir ? String(row.dir) : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes available to PostgreSQL (as an unprivileged user) on the filesystem holding path. */
export async function availableBytes(target: Target, path: string): Promise<number> {
  // -P: one line per filesystem even for long device names; -k: POSIX, BusyBox and GNU alike.
  const result = await target.exec(`df -Pk -- ${quote(path)}`, { timeoutMs: 30_000 });
  if (result.code !== 0) throw new RemoteCommandError(target.description, `df ${path}`, result);
  const fields = result.stdout.trim().split('\n').at(-1)?.trim().split(/\s+/) ?? [];
  const kib = Number(fields[3]);
  if (!Number.isFinite(kib))
    throw new Error(`df ${path} on ${target.description}: cannot read the available space from ${JSON.stringify(result.stdout.trim())}`);
  return kib * 1024;
}
