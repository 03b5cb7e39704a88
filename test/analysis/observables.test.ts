import assert from 'node:assert/strict';
import { test } from 'node:test';
import { densityMae, distanceDensity, maxBondDeviationA } from '../../src/analysis/observables.js';

// Two atoms on the x axis at known separations: h(r) is a histogram of those separations.
const pair = (r: number): Float64Array => Float64Array.of(0, 0, 0, r, 0, 0);

test('h(r): a normalised density of the pair distances; MAE 0 for equal, 2 for disjoint distributions', () => {
  const a = distanceDensity([pair(1.01), pair(1.02), pair(1.51), pair(20)], 12, 0.1);
  assert.equal(a.density.length, 120);
  assert.ok(Math.abs(a.density[10]! - 2 / 3 / 0.1) < 1e-12, `${a.density[10]}`);
  assert.ok(Math.abs(a.density[15]! - 1 / 3 / 0.1) < 1e-12);
  assert.equal(a.beyondFraction, 0.25);
  assert.ok(Math.abs(a.density.reduce((s, v) => s + v * 0.1, 0) - 1) < 1e-12);
  assert.equal(densityMae(a, a), 0);
  const b = distanceDensity([pair(3.05)], 12, 0.1);
  assert.ok(Math.abs(densityMae(a, b) - 2) < 1e-12);
  // half the mass moved: MAE 1
  const c = distanceDensity([pair(1.05), pair(3.05)], 12, 0.1);
  const d = distanceDensity([pair(1.05), pair(5.05)], 12, 0.1);
  assert.ok(Math.abs(densityMae(c, d) - 1) < 1e-12);
  assert.throws(() => densityMae(a, distanceDensity([pair(1)], 12, 0.05)), /different bins/);
  // three atoms: three pairs per frame
  const tri = distanceDensity([Float64Array.of(0, 0, 0, 1.05, 0, 0, 0, 2.05, 0)], 12, 0.1);
  assert.ok(Math.abs(tri.density[10]! * 0.1 - 1 / 3) < 1e-12);
  assert.ok(Math.abs(tri.density[20]! * 0.1 - 1 / 3) < 1e-12);
});

test('largest bond deviation over frames (Fu et al.\'s 0.5 Å criterion)', () => {
  const dev = maxBondDeviationA([pair(1.0), pair(1.3), pair(0.8)], [[0, 1]], [1.0]);
  assert.ok(Math.abs(dev - 0.3) < 1e-12);
  assert.throws(() => maxBondDeviationA([pair(1)], [[0, 1]], []), /equilibrium/);
});
