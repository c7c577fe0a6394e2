import type { MaintenanceConfig } from '../settings/config.js';
import { HOST_FACTS_END } from './host-facts-script.js';
import { parseHumanSize } from './human-size.js';
import { NOT_DISK_TYPES } from '../remote/filesystem-types.js';
import type { ActivityFacts, BackupFacts, ContainerFacts, DiskUsage, DockerFacts, ServiceFacts, Snapshot, SystemFacts } from './snapshot-types.js';

export type HostFacts = Pick<Snapshot, 'system' | 'disks' | 'backup' | 'docker' | 'services' | 'activity' | 'errors'>;

const PSEUDO_MOUNTS = /^\/(proc|sys|dev|run)(\/|$)|^\/var\/lib\/(docker|containers)\/|^\/snap\//;

class Records {
  private readonly byKey = new Map<string, string[][]>();

  constructor(output: string) {
    for (const line of output.split('\n')) {
      const fields = line.split('\t');
      const key = fields.shift() ?? '';
      if (!key) continue;
      const list = this.byKey.get(key) ?? [];
      list.push(fields);
      this.byKey.set(key, list);
    }
  }

  all(key: string): string[][] {
    return this.byKey.get(key) ?? [];
  }

  first(key: string): string[] | undefined {
    return this.byKey.get(key)?.[0];
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** A section's output lines (rejoined) and its exit code. */
  section(key: string): { lines: string[]; code?: number } {
    const exit = this.first(`${key}-exit`)?.[0];
    return { lines: this.all(key).map((fields) => fields.join('\t')), code: exit === undefined ? undefined : Number(exit) };
  }
}

const num = (text: string | undefined): number | undefined => {
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
};

function parseSystem(records: Records): SystemFacts | undefined {
  const hostname = records.first('hostname')?.[0]?.trim();
  if (!hostname) return undefined;
  const memory = new Map(records.all('mem').map(([name, kib]) => [name, (num(kib) ?? 0) * 1024]));
  const load = records.first('load')?.map((value) => num(value) ?? 0);
  const facts: SystemFacts = { hostname };
  const kernel = records.first('kernel')?.[0]?.trim();
  if (kernel) facts.kernel = kernel;
  const cpus = num(records.first('cpus')?.[0]);
  if (cpus !== undefined) facts.cpus = cpus;
  const uptime = num(records.first('uptime')?.[0]);
  if (uptime !== undefined) facts.uptimeSeconds = Math.round(uptime);
  if (load?.length === 3) facts.load = [load[0]!, load[1]!, load[2]!];
  if (memory.has('MemTotal')) {
    facts.memory = { totalBytes: memory.get('MemTotal')!, availableBytes: memory.get('MemAvailable') ?? 0 };
    if (memory.has('SwapTotal')) facts.memory.swapTotalBytes = memory.get('SwapTotal')!;
    if (memory.has('SwapFree')) facts.memory.swapFreeBytes = memory.get('SwapFree')!;
  }
  return facts;
}

/** Real mounts only; one row per file system (bind mounts of the same one show under the shortest path). */
function parseDisks(records: Records): DiskUsage[] {
  const byFilesystem = new Map<string, DiskUsage>();
  for (const [filesystem = '', type = '', size, used, available, mount = ''] of records.all('disk')) {
    if (NOT_DISK_TYPES.has(type) || PSEUDO_MOUNTS.test(mount)) continue;
    const sizeBytes = num(size) ?? 0;
    if (sizeBytes === 0) continue;
    const usedBytes = num(used) ?? 0;
    const availableBytes = num(available) ?? 0;
    // df's Capacity: used / (used + available), rounded up, as df prints it.
    const usedPercent = usedBytes + availableBytes > 0 ? Math.ceil((usedBytes / (usedBytes + availableBytes)) * 1000) / 10 : 0;
    const disk: DiskUsage = { mount, filesystem, type, sizeBytes, usedBytes, availableBytes, usedPercent };
    const key = `${filesystem}\0${sizeBytes}`;
    const seen = byFilesystem.get(key);
    if (!seen || mount.length < seen.mount.length) byFilesystem.set(key, disk);
  }
  return [...byFilesystem.values()].sort((a, b) => a.mount.localeCompare(b.mount));
}

function parseBackup(records: Records, config: MaintenanceConfig, hostNow: number, errors: string[]): BackupFacts | undefined {
  const base = { dir: config.backups.dir, pattern: config.backups.pattern };
  if (records.has('backup-missing')) {
    errors.push(`backup directory ${config.backups.dir} does not exist`);
    return { ...base, count: 0 };
  }
  const count = num(records.first('backup-count')?.[0]);
  if (count === undefined) return undefined;
  const newest = records.first('backup');
  if (!newest) return { ...base, count };
  const [mtime, size, ...path] = newest;
  const modified = (num(mtime) ?? 0) * 1000;
  return {
    ...base,
    count,
    newest: {
      path: path.join('\t'),
      sizeBytes: num(size) ?? 0,
      modifiedAt: new Date(modified).toISOString(),
      ageSeconds: Math.max(0, Math.round(hostNow - modified / 1000)),
    },
  };
}

/** "12.5MiB / 1.944GiB" → [used, limit]. */
function parseMemUsage(text: string): [number | undefined, number | undefined] {
  const [used = '', limit = ''] = text.split('/');
  return [parseHumanSize(used), parseHumanSize(limit)];
}

/**
 * A docker CLI without a reachable daemon only matters when the app runs on it (compose): elsewhere it is an
 * unused client, not a fault.
 */
function parseDocker(records: Records, config: MaintenanceConfig, errors: string[]): DockerFacts | undefined {
  if (!records.has('docker-present')) return undefined;
  const facts: DockerFacts = { space: [], totalBytes: 0, containers: [] };
  const df = records.section('docker-df');
  const ps = records.section('docker-ps');
  if (df.code !== 0 && ps.code !== 0 && config.services.manager !== 'compose') return undefined;
  if (df.code === 0) {
    for (const line of df.lines) {
      const [type = '', total, active, size = '', reclaimable = ''] = line.split('\t');
      const sizeBytes = parseHumanSize(size);
      if (sizeBytes === undefined) continue;
      const row = { type, count: num(total) ?? 0, sizeBytes, active: num(active), reclaimableBytes: parseHumanSize(reclaimable) };
      if (row.active === undefined) delete row.active;
      if (row.reclaimableBytes === undefined) delete row.reclaimableBytes;
      facts.space.push(row);
    }
    facts.totalBytes = facts.space.reduce((sum, row) => sum + row.sizeBytes, 0);
  } else {
    errors.push(`docker system df failed (exit ${df.code ?? '?'}): ${df.lines.slice(-1)[0] ?? 'no output'}`);
  }
  if (ps.code === 0) {
    // Joined by id (12-character prefix): Podman's stats mangle names.
    const stats = new Map(
      records
        .section('docker-stats')
        .lines.map((line) => line.split('\t'))
        .map(([id = '', cpu = '', mem = '']) => [id.slice(0, 12), { cpu: num(cpu.replace('%', '')), mem: parseMemUsage(mem) }] as const),
    );
    for (const line of ps.lines) {
      const [id = '', name = '', image, state, status = ''] = line.split('\t');
      if (!name) continue;
      const container: ContainerFacts = { name, status };
      if (image) container.image = image;
      if (state) container.state = state;
      const stat = stats.get(id.slice(0, 12));
      if (stat?.cpu !== undefined) container.cpuPercent = stat.cpu;
      if (stat?.mem[0] !== undefined) container.memoryBytes = stat.mem[0];
      if (stat?.mem[1] !== undefined) container.memoryLimitBytes = stat.mem[1];
      facts.containers.push(container);
    }
  } else {
    errors.push(`docker ps failed (exit ${ps.code ?? '?'}): ${ps.lines.slice(-1)[0] ?? 'no output'}`);
  }
  return facts;
}

function parseServices(records: Records, config: MaintenanceConfig): ServiceFacts | undefined {
  const manager = config.services.manager;
  if (manager === 'none') return undefined;
  const { lines, code } = records.section('service');
  if (code === undefined) return undefined;
  if (manager === 'compose') {
    // Same reading as the service manager: every listed service "Up" / running.
    const rows = lines.slice(1).filter((line) => line.trim() && !/^-+$/.test(line.trim()));
    const running = code === 0 && rows.length > 0 && rows.every((line) => /\bUp\b|running/i.test(line));
    return { manager, running, detail: rows.join('\n') || lines.join('\n') };
  }
  return { manager, running: code === 0, detail: lines.join('\n') || `exit ${code}` };
}

function parseActivity(records: Records, config: MaintenanceConfig, errors: string[]): ActivityFacts | undefined {
  const accessLog = config.activity.accessLog;
  if (!accessLog) return undefined;
  if (records.has('activity-missing')) {
    errors.push(`access log ${accessLog} is missing or unreadable`);
    return undefined;
  }
  const [requests, serverErrors, last, scanned] = (records.first('activity') ?? []).map((value) => num(value) ?? 0);
  if (requests === undefined) return undefined;
  const facts: ActivityFacts = {
    accessLog,
    windowSeconds: Math.round(config.activity.windowMs / 1000),
    requests,
    serverErrors: serverErrors ?? 0,
    linesScanned: scanned ?? 0,
  };
  if (last) facts.lastRequestAt = new Date(last * 1000).toISOString();
  return facts;
}

/** Reads the host facts script's output. Sections that did not report are left out and named in errors. */
export function parseHostFacts(output: string, config: MaintenanceConfig, truncated: boolean): HostFacts {
  const records = new Records(output);
  const errors: string[] = [];
  if (truncated || !records.has(HOST_FACTS_END)) errors.push('the host facts script output was cut short; some host facts are missing');
  const hostNow = num(records.first('now')?.[0]) ?? Date.now() / 1000;
  const facts: HostFacts = { disks: parseDisks(records), errors };
  const system = parseSystem(records);
  if (system) facts.system = system;
  else errors.push('host facts: hostname not reported');
  const backup = parseBackup(records, config, hostNow, errors);
  if (backup) facts.backup = backup;
  const docker = parseDocker(records, config, errors);
  if (docker) facts.docker = docker;
  const services = parseServices(records, config);
  if (services) facts.services = services;
  const activity = parseActivity(records, config, errors);
  if (activity) facts.activity = activity;
  return facts;
}
