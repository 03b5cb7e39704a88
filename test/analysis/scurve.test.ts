import assert from 'node:assert/strict';
import { test } from 'node:test';
import { absoluteErrorsKcalPerMol, percentile, sCurve, sCurves } from '../../src/analysis/scurve.js';
import { KCAL_PER_MOL_PER_HARTREE } from '../../src/chem/units.js';
import { AtomgpError } from '../../src/errors.js';

test('S-curve of a hand-computed case: sorted errors, cumulative fractions, interpolated percentiles', () => {
  const s = sCurve([4, 1, 3, 2]);
  assert.deepEqual(Array.from(s.sorted), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(s.fraction), [0.25, 0.5, 0.75, 1]);
  // position (n − 1)·p/100 = 3p/100 between order statistics 1, 2, 3, 4
  const expected: Record<string, number> = { p50: 2.5, p90: 3.7, p95: 3.85, p99: 3.97, max: 4, mean: 2.5 };
  for (const [k, v] of Object.entries(expected)) assert.ok(Math.abs(s.percentiles[k]! - v) < 1e-12, `${k}: ${s.percentiles[k]} vs ${v}`);
  assert.equal(percentile(s.sorted, 0), 1);
  assert.equal(percentile(s.sorted, 100), 4);
  assert.equal(percentile([7], 90), 7);
  assert.equal(sCurve(Float64Array.of(0.3)).percentiles['p99'], 0.3);
});

test('errors in kcal/mol from Ha, and per-atom plus molecular curves', () => {
  const e = absoluteErrorsKcalPerMol([1.001, -2], [1, -2.002]);
  assert.ok(Math.abs(e[0]! - 0.001 * KCAL_PER_MOL_PER_HARTREE) < 1e-9);
  assert.ok(Math.abs(e[1]! - 0.002 * KCAL_PER_MOL_PER_HARTREE) < 1e-9);
  const curves = sCurves({ O1: [0.1, 0.2], H2: [0.3], molecule: e });
  assert.deepEqual(Object.keys(curves), ['O1', 'H2', 'molecule']);
  assert.equal(curves['H2']!.percentiles['max'], 0.3);
});

test('S-curve rejects empty, negative and non-finite errors, naming the point', () => {
  assert.throws(() => sCurve([]), AtomgpError);
  assert.throws(() => sCurve([0.1, -0.2]), /point 2 has error -0.2/);
  assert.throws(() => sCurve([Number.NaN]), /point 1/);
  assert.throws(() => sCurves({ C3: [1, Infinity] }), /C3: S-curve: point 2/);
  assert.throws(() => percentile([1, 2], 101), AtomgpError);
  assert.throws(() => absoluteErrorsKcalPerMol([1], [1, 2]), AtomgpError);
});
