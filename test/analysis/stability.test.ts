import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregateStability, median, type StabilityRow, survivalFraction } from '../../src/analysis/stability.js';

test('stability cells: survivors, median time to failure of the failed runs, bond relaxation per cell', () => {
  const row = (prior: string, T: number, survived: boolean, ttf: number | null, relax?: Record<string, number | null>): StabilityRow => ({
    prior,
    temperature_K: T,
    survived,
    time_to_failure_ps: ttf,
    ...(relax ? { relaxation_time_ps: relax } : {}),
  });
  const cells = aggregateStability([
    row('min', 300, true, null, { 'O1-H2': 0.1 }),
    row('min', 300, false, 0.4, { 'O1-H2': null }),
    row('min', 300, false, 0.2, { 'O1-H2': 0.3 }),
    row('max', 300, true, null),
    row('min', 1000, false, 0.05, { 'O1-H2': 0.02 }),
  ]);
  assert.deepEqual(cells, [
    { prior: 'min', temperatureK: 300, nRuns: 3, nSurvived: 1, medianTimeToFailurePs: 0.30000000000000004, relaxation: [{ bond: 'O1-H2', returned: 2, runs: 3, medianTimePs: 0.2 }] },
    { prior: 'max', temperatureK: 300, nRuns: 1, nSurvived: 1, medianTimeToFailurePs: null },
    { prior: 'min', temperatureK: 1000, nRuns: 1, nSurvived: 0, medianTimeToFailurePs: 0.05, relaxation: [{ bond: 'O1-H2', returned: 1, runs: 1, medianTimePs: 0.02 }] },
  ]);
  assert.equal(survivalFraction(cells[0]!), 1 / 3);
  assert.equal(median([]), null);
  assert.equal(median([3, 1, 2]), 2);
});
