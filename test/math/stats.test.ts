import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorStatistics, nearestRankPercentiles, sortedAbsoluteErrors } from '../../src/math/stats.js';

test('error statistics of a known residual set equal the hand-computed MAE, RMSE, max and bias', () => {
  // residuals +1, −2, +3, −4 → |e| = 1, 2, 3, 4
  const s = errorStatistics([1, -2, 3, -4], [0, 0, 0, 0]);
  assert.equal(s.n, 4);
  assert.equal(s.mae, 2.5);
  assert.equal(s.rmse, Math.sqrt(30 / 4));
  assert.equal(s.maxAbs, 4);
  assert.equal(s.meanSigned, -0.5);
});

test('nearest-rank percentiles: the smallest value with at least p % at or below it', () => {
  const sorted = sortedAbsoluteErrors([5, 1, 4, 2, 3, 10, 9, 8, 7, 6], new Array(10).fill(0));
  assert.deepEqual([...sorted], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const p = nearestRankPercentiles(sorted, [10, 25, 50, 99, 100]);
  assert.deepEqual(p, { '10': 1, '25': 3, '50': 5, '99': 10, '100': 10 });
});

test('mismatched lengths and empty sets are refused', () => {
  assert.throws(() => errorStatistics([1, 2], [1]), /2 predictions for 1 reference/);
  assert.throws(() => errorStatistics([], []), /empty set/);
});
