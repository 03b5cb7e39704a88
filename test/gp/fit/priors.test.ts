import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateMean } from '../../../src/gp/model/mean.js';
import { fitPrior, formatPrior, parsePrior } from '../../../src/gp/fit/priors.js';
import { trainAtomModel } from '../../../src/gp/fit/train.js';
import { predictRows } from '../../../src/gp/assess/validate.js';
import { AtomgpError } from '../../../src/errors.js';
import { Rng } from '../../../src/util/rng.js';

// Smooth 2-feature data: a bowl around (1.8, 1.9) plus a ripple, values near −75 Ha like water O1.
const rng = new Rng(3);
const n = 40;
const x = new Float64Array(2 * n);
const y = new Float64Array(n);
for (let i = 0; i < n; i++) {
  x[2 * i] = rng.uniformIn(1.6, 2.0);
  x[2 * i + 1] = rng.uniformIn(1.7, 2.1);
  y[i] = -75.45 + 0.3 * (x[2 * i]! - 1.8) ** 2 + 0.2 * (x[2 * i + 1]! - 1.9) ** 2 + 0.01 * Math.sin(9 * x[2 * i]!);
}
const yMax = Math.max(...y);
const yMin = Math.min(...y);
const yMean = y.reduce((a, b) => a + b, 0) / n;
const sd = Math.sqrt(y.reduce((a, b) => a + (b - yMean) ** 2, 0) / n);
// A point far from the data (kernel values underflow to 0).
const far = Float64Array.of(40, -30);

const expected: Record<string, number> = {
  zero: 0,
  mean: yMean,
  min: yMin,
  max: yMax,
  'shift:0.05': yMax + 0.05,
  'shift:2sd': yMax + 2 * sd,
};

for (const [prior, value] of Object.entries(expected)) {
  test(`prior ${prior}: far from the data the prediction tends to ${prior === 'zero' ? '0' : prior}`, () => {
    const r = trainAtomModel({ x, y, nFeatures: 2, kernel: 'rbf', prior, restarts: 1, seed: 1 });
    const e = predictRows(r.model, far, 1)[0]!;
    assert.ok(Math.abs(e - value) < 1e-9, `${e} vs ${value}`);
    assert.ok(r.model.metadata.includes(`prior_mean ${prior}`));
    // Inside the data the fit is accurate whatever the prior.
    const inside = predictRows(r.model, x.subarray(0, 2), 1)[0]!;
    assert.ok(Math.abs(inside - y[0]!) < 5e-5, `training point reproduced: ${inside} vs ${y[0]}`);
  });
}

for (const prior of ['linear', 'quadratic'] as const) {
  test(`prior ${prior}: far from the data the prediction follows the least-squares ${prior} mean`, () => {
    const r = trainAtomModel({ x, y, nFeatures: 2, kernel: 'rbf', prior, restarts: 1, seed: 1 });
    const mean = r.model.mean;
    assert.equal(mean.type, prior);
    const e = predictRows(r.model, far, 1)[0]!;
    const m = evaluateMean(mean, far, 0);
    assert.ok(Math.abs(e - m) < 1e-9 * Math.abs(m), `${e} vs m(x) = ${m}`);
    if (mean.type === 'quadratic') {
      // The data are a bowl: the fitted β are positive, so far away is uphill (restoring).
      assert.ok(mean.beta[0]! > 0 && mean.beta[1]! > 0, `β = ${mean.beta}`);
      assert.ok(e > yMax);
      // x_min / y_min are the lowest-energy training point.
      assert.equal(mean.yMin, yMin);
    }
  });
}

test('linear prior recovers an exactly linear function', () => {
  const xs = Float64Array.of(0, 0, 1, 0, 0, 1, 1, 1, 2, 1);
  const ys = Float64Array.from({ length: 5 }, (_, i) => 1 + 2 * xs[2 * i]! - 3 * xs[2 * i + 1]!);
  const f = fitPrior(parsePrior('linear'), xs, ys, 5, 2);
  assert.equal(f.mean.type, 'linear');
  if (f.mean.type === 'linear') {
    assert.ok(Math.abs(f.mean.beta[0]! - 2) < 1e-9 && Math.abs(f.mean.beta[1]! + 3) < 1e-9);
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(evaluateMean(f.mean, xs, 2 * i) - ys[i]!) < 1e-9);
  }
});

test('prior names parse and format; unknown names are clear errors', () => {
  assert.equal(formatPrior(parsePrior('constant')), 'mean');
  assert.equal(formatPrior(parsePrior('shift:0.05')), 'shift:0.05');
  assert.equal(formatPrior(parsePrior('SHIFT:2sd')), 'shift:2sd');
  assert.throws(() => parsePrior('maximum'), (e: unknown) => e instanceof AtomgpError && /unknown prior mean 'maximum'/.test(e.message));
  assert.throws(() => parsePrior('shift:-1'), AtomgpError);
});

test('θ·var bounds in the atomic trainer: every fitted θ·var_t is at least the floor, and the floor holds (no polish below it)', () => {
  const floor = 0.4;
  const r = trainAtomModel({ x, y, nFeatures: 2, kernel: 'rbf', prior: 'mean', restarts: 1, seed: 1, thetaVarBounds: [floor, 25] });
  const theta = r.model.kernels[0]!.theta;
  const n = y.length;
  for (let d = 0; d < 2; d++) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      s += x[2 * i + d]!;
      s2 += x[2 * i + d]! ** 2;
    }
    const v = s2 / n - (s / n) ** 2;
    assert.ok(theta[d]! * v >= floor * (1 - 1e-9), `feature ${d + 1}: θ·var ${theta[d]! * v}`);
  }
});
