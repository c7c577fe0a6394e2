/** Growth forecasts for capacity.review: a least-squares line through dated samples. Pure, so it is unit-tested. */

export interface Sample {
  /** ISO time. */
  at: string;
  bytes: number;
}

/** Fewer samples, or samples closer together, say nothing about a trend (a window's baseline and post are minutes apart). */
export const MIN_SAMPLES = 3;
export const MIN_SPAN_DAYS = 7;
const DAY_MS = 86_400_000;

export interface Line {
  /** Bytes per day. */
  slope: number;
  /** Bytes at x = 0. */
  intercept: number;
}

/** Ordinary least squares of y on x; undefined when every x is the same (no line fits). */
export function leastSquares(points: { x: number; y: number }[]): Line | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const meanX = points.reduce((sum, point) => sum + point.x, 0) / n;
  const meanY = points.reduce((sum, point) => sum + point.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const { x, y } of points) {
    sxx += (x - meanX) ** 2;
    sxy += (x - meanX) * (y - meanY);
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  return { slope, intercept: meanY - slope * meanX };
}

interface Span {
  samples: number;
  spanDays: number;
}

export type Forecast =
  | (Span & { status: 'not-enough-history'; reason: string })
  /** Flat or shrinking: at this trend it never fills. */
  | (Span & { status: 'never-full'; growthBytesPerDay: number })
  /** Growing, against no known free space (a database whose mount is not known). */
  | (Span & { status: 'growing'; growthBytesPerDay: number })
  | (Span & { status: 'full-in'; growthBytesPerDay: number; daysUntilFull: number; fullAt: string });

/** The samples in time order and the line through them (x in days since the first sample). */
function fit(samples: Sample[]): { sorted: Sample[]; first: number; line?: Line } {
  const sorted = [...samples].sort((a, b) => a.at.localeCompare(b.at));
  const first = sorted.length ? Date.parse(sorted[0]!.at) : 0;
  return { sorted, first, line: leastSquares(sorted.map((sample) => ({ x: (Date.parse(sample.at) - first) / DAY_MS, y: sample.bytes }))) };
}

/** When `free` bytes (measured now) run out at the growth rate fitted through the samples. */
export function forecastFull(samples: Sample[], free: number | undefined, now: Date): Forecast {
  const { sorted, first, line } = fit(samples);
  const span: Span = { samples: sorted.length, spanDays: sorted.length ? (Date.parse(sorted[sorted.length - 1]!.at) - first) / DAY_MS : 0 };
  if (!line || span.samples < MIN_SAMPLES || span.spanDays < MIN_SPAN_DAYS) {
    return {
      ...span,
      status: 'not-enough-history',
      reason: `not enough history: ${span.samples} sample(s) over ${span.spanDays.toFixed(1)} days (need ${MIN_SAMPLES} over ${MIN_SPAN_DAYS} days)`,
    };
  }
  if (line.slope <= 0) return { ...span, status: 'never-full', growthBytesPerDay: line.slope };
  if (free === undefined) return { ...span, status: 'growing', growthBytesPerDay: line.slope };
  const daysUntilFull = Math.max(0, free) / line.slope;
  return { ...span, status: 'full-in', growthBytesPerDay: line.slope, daysUntilFull, fullAt: new Date(now.getTime() + daysUntilFull * DAY_MS).toISOString() };
}

/**
 * Two points of the fitted line, for a chart: from the first sample to when it fills, or `horizonDays` past now,
 * whichever is sooner. Undefined without a trend.
 */
export function projection(samples: Sample[], forecast: Forecast, now: Date, horizonDays: number): Sample[] | undefined {
  const { first, line } = fit(samples);
  if (forecast.status === 'not-enough-history' || !line) return undefined;
  const horizon = now.getTime() + horizonDays * DAY_MS;
  const end = forecast.status === 'full-in' ? Math.min(Date.parse(forecast.fullAt), horizon) : horizon;
  const at = (time: number): Sample => ({ at: new Date(time).toISOString(), bytes: Math.round(line.intercept + line.slope * ((time - first) / DAY_MS)) });
  return [at(first), at(end)];
}
