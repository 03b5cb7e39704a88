import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addMeanGradient, evaluateMean, evaluateMeanRows } from '../../../src/gp/model/mean.js';
import type { MeanSpec } from '../../../src/gp/model/model.js';

const beta = Float64Array.from([0.3, -1.2, 0.05]);
const xMin = Float64Array.from([1.8, 1.9, 1.7]);
const linear: MeanSpec = { type: 'linear', beta, xMin, yMin: -75.46 };
const quadratic: MeanSpec = { type: 'quadratic', beta, xMin, yMin: -75.46 };

test('mean values match their formulas (row read at an offset)', () => {
  const x = Float64Array.from([9, 9, 2.0, 1.5, 2.5]); // row at offset 2
  assert.equal(evaluateMean({ type: 'zero' }, x, 2), 0);
  assert.equal(evaluateMean({ type: 'constant', value: -54.9 }, x, 2), -54.9);
  const lin = -75.46 + 0.3 * 0.2 - 1.2 * -0.4 + 0.05 * 0.8;
  const quad = -75.46 + 0.3 * 0.04 - 1.2 * 0.16 + 0.05 * 0.64;
  assert.ok(Math.abs(evaluateMean(linear, x, 2) - lin) < 1e-13);
  assert.ok(Math.abs(evaluateMean(quadratic, x, 2) - quad) < 1e-13);
  // at x_min both equal y_min: the quadratic mean is a bowl around the lowest training point
  assert.equal(evaluateMean(quadratic, xMin, 0), -75.46);
  assert.deepEqual([...evaluateMeanRows(quadratic, Float64Array.from([...xMin, 2.0, 1.5, 2.5]), 2, 3)], [-75.46, evaluateMean(quadratic, x, 2)]);
});

test('mean gradients equal central finite differences (linear, quadratic)', () => {
  const x = Float64Array.from([0, 2.1, 1.4, 2.9]);
  const h = 1e-6;
  for (const mean of [linear, quadratic]) {
    const grad = Float64Array.from([0.5, -0.25, 1]); // adds to what is there
    const scale = 2.5;
    addMeanGradient(mean, x, 1, scale, grad);
    for (let d = 0; d < 3; d++) {
      const xp = x.slice();
      const xm = x.slice();
      xp[1 + d]! += h;
      xm[1 + d]! -= h;
      const fd = (evaluateMean(mean, xp, 1) - evaluateMean(mean, xm, 1)) / (2 * h);
      const start = [0.5, -0.25, 1][d]!;
      assert.ok(Math.abs((grad[d]! - start) / scale - fd) < 1e-7, `${mean.type} d=${d}: ${grad[d]} vs ${fd}`);
    }
  }
  const g = new Float64Array(3);
  addMeanGradient({ type: 'constant', value: 3 }, x, 1, 1, g);
  addMeanGradient({ type: 'zero' }, x, 1, 1, g);
  assert.deepEqual([...g], [0, 0, 0]);
});
