import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { minimizePso } from '../../src/math/pso.js';
import { trainAtomModel } from '../../src/gp/fit/train.js';
import { readPropertyCsv } from '../../src/io/csv.js';
import { sharedData } from '../helpers/data.js';

test('PSO finds the minimum of the Rosenbrock function (1, 1) and of a bowl whose minimum lies outside the box', () => {
  const rosen = (x: Float64Array) => (1 - x[0]!) ** 2 + 100 * (x[1]! - x[0]! ** 2) ** 2;
  const r = minimizePso(rosen, Float64Array.of(-2, -2), Float64Array.of(2, 2), { seed: 3, stallIterations: 100 });
  assert.ok(Math.abs(r.x[0]! - 1) < 1e-3 && Math.abs(r.x[1]! - 1) < 2e-3, `x = ${r.x}`);
  assert.ok(r.f < 1e-6, `f = ${r.f}`);
  // Bowl centred at (3, −1) in the box [−1, 1]²: the constrained minimum is the corner (1, −1).
  const bowl = (x: Float64Array) => (x[0]! - 3) ** 2 + (x[1]! + 1) ** 2;
  const b = minimizePso(bowl, Float64Array.of(-1, -1), Float64Array.of(1, 1), { seed: 4 });
  assert.ok(Math.abs(b.x[0]! - 1) < 1e-9 && Math.abs(b.x[1]! + 1) < 1e-6, `x = ${b.x}`);
  assert.ok(Math.abs(b.f - 4) < 1e-9);
  // Infeasible points (+∞) are never chosen.
  const holed = (x: Float64Array) => (x[0]! < 0.5 ? Number.POSITIVE_INFINITY : (x[0]! - 0.2) ** 2);
  const h = minimizePso(holed, Float64Array.of(-1), Float64Array.of(1), { seed: 5, swarmSize: 10, iterations: 200 });
  assert.ok(Math.abs(h.x[0]! - 0.5) < 1e-4 && Number.isFinite(h.f));
});

test('PSO is deterministic for a seed and differs between seeds', () => {
  const f = (x: Float64Array) => Math.sin(3 * x[0]!) + (x[0]! - 0.3) ** 2 + Math.cos(2 * x[1]!) * x[1]! ** 2;
  const lo = Float64Array.of(-3, -3);
  const hi = Float64Array.of(3, 3);
  const a = minimizePso(f, lo, hi, { seed: 7, iterations: 30 });
  const b = minimizePso(f, lo, hi, { seed: 7, iterations: 30 });
  const c = minimizePso(f, lo, hi, { seed: 8, iterations: 30 });
  assert.deepEqual(Array.from(a.x), Array.from(b.x));
  assert.equal(a.f, b.f);
  assert.equal(a.evaluations, 50 * 31);
  assert.notDeepEqual(Array.from(a.x), Array.from(c.x));
});

const water = sharedData('ferebus-benchmark/water');
test('water O1 (marginal, mean prior, rbf): PSO with FEREBUS defaults reaches L-BFGS-B’s likelihood within 1e-3 and FEREBUS’s 348.9146', { skip: !water }, () => {
  const ts = readPropertyCsv(join(water!, 'WATER_O1_TRAINING_SET.csv'));
  const base = { x: ts.x, y: ts.y, nFeatures: 3, kernel: 'rbf' as const, prior: 'mean', seed: 1 };
  const lbfgs = trainAtomModel({ ...base, restarts: 3 });
  const pso = trainAtomModel({ ...base, optimiser: 'pso' });
  assert.ok(pso.logLikelihood >= lbfgs.logLikelihood - 1e-3, `PSO ${pso.logLikelihood} vs L-BFGS-B ${lbfgs.logLikelihood}`);
  assert.ok(pso.logLikelihood >= 348.9145663746718 - 1e-3, `PSO ${pso.logLikelihood}`);
  for (let d = 0; d < 3; d++) assert.ok(Math.abs(Math.log(pso.theta[d]! / lbfgs.theta[d]!)) < 0.05, `θ_${d + 1}: ${pso.theta[d]} vs ${lbfgs.theta[d]}`);
  assert.ok(pso.model.metadata.some((m) => m.startsWith('optimiser pso swarm=50 ')));
  // Same seed, same swarm: identical model.
  const again = trainAtomModel({ ...base, optimiser: 'pso', pso: { swarmSize: 20, iterations: 60 } });
  const again2 = trainAtomModel({ ...base, optimiser: 'pso', pso: { swarmSize: 20, iterations: 60 } });
  assert.deepEqual(Array.from(again.model.weights), Array.from(again2.model.weights));
});
