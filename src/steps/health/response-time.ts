import { percentile, probeUrl } from '../../remote/http-probe.js';
import type { Target } from '../../remote/target.js';

export interface ResponseTimes {
  url: string;
  samples: number;
  ok: number;
  p50?: number;
  p95?: number;
  /** Distinct failures (status or error), for the report. */
  errors: string[];
}

const round = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 10) / 10);

/** GETs url `samples` times, one after the other, as seen from the target; p50/p95 of the 2xx answers. */
export async function sampleResponseTimes(target: Target, url: string, samples: number): Promise<ResponseTimes> {
  const timings: number[] = [];
  const errors = new Set<string>();
  for (let i = 0; i < samples; i++) {
    const result = await probeUrl(target, url, 10_000);
    if (result.ok) timings.push(result.ms);
    else errors.add(result.status ? `HTTP ${result.status}` : (result.error ?? 'no answer'));
  }
  return { url, samples, ok: timings.length, p50: round(percentile(timings, 50)), p95: round(percentile(timings, 95)), errors: [...errors] };
}
