import { describe, expect, it, test } from 'vitest';
import { forecastFull, leastSquares, projection, type Sample } from '../../src/steps/capacity/forecast.js';

const DAY = 86_400_000;
const start = Date.parse('2026-07-05T02:00:00Z');
const sample = (day: number, bytes: number): Sample => ({ at: new Date(start + day * DAY).toISOString(), bytes });

describe('leastSquares', () => {
  it('fits a known line through scattered points', () => {
    // mean x 4, mean y 3, Sxy 16, Sxx 40: slope 0.4, intercept 1.4
    const line = leastSquares([0, 2, 4, 6, 8].map((x, i) => ({ x, y: [1, 3, 2, 5, 4][i]! })));
    expect(line!.slope).toBeCloseTo(0.4, 12);
    expect(line!.intercept).toBeCloseTo(1.4, 12);
  });

  it('has no line when every sample is at the same moment', () => {
    expect(
      leastSquares([
        { x: 3, y: 1 },
        { x: 3, y: 5 },
      ]),
    ).toBeUndefined();
  });
});

describe('forecastFull', () => {
  const now = new Date(start + 10 * DAY);

  it('gives the days until full of a steady 100 bytes a day against 5000 free', () => {
    const history = Array.from({ length: 11 }, (_, day) => sample(day, 1000 + 100 * day));
    const forecast = forecastFull(history, 5000, now);
    expect(forecast).toMatchObject({ status: 'full-in', samples: 11, spanDays: 10 });
    if (forecast.status !== 'full-in') throw new Error('unreachable');
    expect(forecast.growthBytesPerDay).toBeCloseTo(100, 9);
    expect(forecast.daysUntilFull).toBeCloseTo(50, 9);
    expect(forecast.fullAt).toBe(new Date(now.getTime() + 50 * DAY).toISOString());
  });

  it('uses the least-squares slope of noisy samples, whatever their order', () => {
    const history = [sample(8, 4), sample(0, 1), sample(4, 2), sample(2, 3), sample(6, 5)];
    const forecast = forecastFull(history, 2, now);
    if (forecast.status !== 'full-in') throw new Error(`expected full-in, got ${forecast.status}`);
    expect(forecast.growthBytesPerDay).toBeCloseTo(0.4, 12);
    expect(forecast.daysUntilFull).toBeCloseTo(5, 12);
  });

  test.each([
    ['two samples', [sample(0, 1), sample(30, 2)]],
    ['three samples within two days', [sample(0, 1), sample(1, 2), sample(2, 3)]],
    ['no samples', []],
  ])('says "not enough history" for %s', (_name, history) => {
    const forecast = forecastFull(history, 1000, now);
    expect(forecast.status).toBe('not-enough-history');
    expect(forecast.status === 'not-enough-history' && forecast.reason).toMatch(
      /^not enough history: \d+ sample\(s\) over [\d.]+ days \(need 3 over 7 days\)$/,
    );
  });

  test.each([
    ['flat', [sample(0, 500), sample(5, 500), sample(10, 500)], 0],
    ['shrinking', [sample(0, 900), sample(5, 700), sample(10, 500)], -40],
  ])('never fills when the trend is %s', (_name, history, slope) => {
    const forecast = forecastFull(history, 100, now);
    expect(forecast.status).toBe('never-full');
    expect(forecast.status === 'never-full' && forecast.growthBytesPerDay).toBeCloseTo(slope, 9);
  });

  it('is full now when nothing is free', () => {
    const forecast = forecastFull([sample(0, 1), sample(5, 6), sample(10, 11)], 0, now);
    expect(forecast.status === 'full-in' && forecast.daysUntilFull).toBe(0);
  });

  it('reports growth without a date when the free space is not known', () => {
    const forecast = forecastFull([sample(0, 100), sample(5, 600), sample(10, 1100)], undefined, now);
    expect(forecast).toMatchObject({ status: 'growing' });
    expect(forecast.status === 'growing' && forecast.growthBytesPerDay).toBeCloseTo(100, 9);
  });
});

describe('projection', () => {
  const now = new Date(start + 10 * DAY);
  const history = Array.from({ length: 11 }, (_, day) => sample(day, 1000 + 100 * day));

  it('draws the fitted line from the first sample to the day it is full', () => {
    const forecast = forecastFull(history, 500, now);
    expect(projection(history, forecast, now, 90)).toEqual([sample(0, 1000), sample(15, 2500)]);
  });

  it('stops at the horizon when full is further away', () => {
    const forecast = forecastFull(history, 1_000_000, now);
    expect(projection(history, forecast, now, 20)).toEqual([sample(0, 1000), sample(30, 4000)]);
  });

  it('draws nothing without a trend', () => {
    const few = history.slice(0, 2);
    expect(projection(few, forecastFull(few, 10, now), now, 90)).toBeUndefined();
  });
});
