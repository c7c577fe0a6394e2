// `npm run bench`: every figure as ours / reference / ratio, measured in one run (shared, noisy machines: compare ratios).
import { writeFileSync } from 'node:fs';

export interface BenchRow {
  row: string;
  ours: number;
  reference: number;
  unit: string;
  ratio: number;
  target?: string;
}

const sections: Record<string, () => Promise<BenchRow[]>> = {
  ssh: async () => (await import('./ssh.js')).benchSsh(),
  snapshot: async () => (await import('./snapshot.js')).benchSnapshot(),
  'monthly-db': async () => (await import('./monthly-db.js')).benchMonthlyDb(),
  fleet: async () => (await import('./fleet.js')).benchFleet(),
};

const only = process.env.BENCH_ONLY?.split(',');
const rows: BenchRow[] = [];
for (const [name, section] of Object.entries(sections)) {
  if (only && !only.includes(name)) continue;
  process.stderr.write(`bench: ${name}…\n`);
  try {
    rows.push(...(await section()));
  } catch (error) {
    rows.push({ row: `${name}: failed (${(error as Error).message})`, ours: NaN, reference: NaN, unit: '', ratio: NaN });
  }
}

const format = (value: number) => (Number.isFinite(value) ? (Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(2)) : '—');
const header = ['row', 'ours', 'reference', 'unit', 'ratio', 'target'];
const table = [
  header,
  ...rows.map((r) => [r.row, format(r.ours), format(r.reference), r.unit, Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}×` : '—', r.target ?? '']),
];
const widths = header.map((_, i) => Math.max(...table.map((line) => line[i].length)));
for (const line of table) console.log(line.map((cell, i) => (i === 0 || i === 3 || i === 5 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
writeFileSync('bench-results.json', JSON.stringify({ measuredAt: new Date().toISOString(), rows }, null, 2) + '\n');
console.log('\nwritten to bench-results.json');
