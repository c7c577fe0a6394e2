import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, mkdirSync, openSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import { pgBin, SUPERUSER, type PgFiles } from './postgres.js';

export type BackupKind = 'plain-gz' | 'custom';

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);

/** Reserve ner11_db_<UTC stamp>.<ext>, moving a second ahead while the name is taken. */
function reserve(dir: string, ext: string): string {
  for (let t = Date.now(); ; t += 1000) {
    const file = join(dir, `ner11_db_${stamp(new Date(t))}.${ext}`);
    try {
      closeSync(openSync(file, 'wx'));
      return file;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** pg_dump ner11_db (plain | gzip, or -Fc) into dir, plus a sha256sum-format sidecar. */
export async function makeBackup(pg: PgFiles, dir: string, kind: BackupKind = 'plain-gz'): Promise<string> {
  const file = reserve(dir, kind === 'custom' ? 'dump' : 'sql.gz');
  const args = ['-h', pg.socketDir, '-p', String(pg.port), '-U', SUPERUSER, ...(kind === 'custom' ? ['-Fc'] : []), 'ner11_db'];
  const child = spawn(pgBin('pg_dump'), args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const out = createWriteStream(file);
  await (kind === 'custom' ? pipeline(child.stdout, out) : pipeline(child.stdout, createGzip(), out));
  const code = await exited;
  if (code !== 0) throw new Error(`pg_dump exited ${code}: ${stderr.trim()}`);
  writeFileSync(`${file}.sha256`, `${await sha256(file)}  ${basename(file)}\n`);
  return file;
}

/** Application logs: fresh ones, 10-day-old ones and a 100-day-old archive. */
export function makeLogs(dir: string): void {
  const days = (n: number) => new Date(Date.now() - n * 86_400_000);
  const put = (name: string, content: string | Buffer, age: number) => {
    const file = join(dir, name);
    writeFileSync(file, content);
    if (age) utimesSync(file, days(age), days(age));
  };
  const lines = (tag: string) => Array.from({ length: 200 }, (_, i) => `${tag} line ${i} something happened\n`).join('');
  mkdirSync(join(dir, 'archive'), { recursive: true });
  put('app.log', lines('app'), 0);
  put('worker.log', lines('worker'), 0);
  put('app.1.log', lines('app-old'), 10);
  put('worker.1.log', lines('worker-old'), 10);
  put('archive/app-old.log.gz', gzipSync(lines('archived')), 100);
  utimesSync(join(dir, 'archive'), days(100), days(100));
}
