import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AtomgpError } from '../../src/errors.js';
import type { OptimizeResult } from '../../src/optimize/common.js';
import { fire } from '../../src/optimize/fire.js';
import { type LbfgsOptions, lbfgs } from '../../src/optimize/lbfgs.js';
import { AnalyticPotential, type AnalyticSpec, harmonicOscillatorSet, waterLikeSpec } from '../../src/potentials/analytic.js';

const dist = (x: Float64Array, i: number, j: number): number => Math.hypot(x[3 * i]! - x[3 * j]!, x[3 * i + 1]! - x[3 * j + 1]!, x[3 * i + 2]! - x[3 * j + 2]!);
const angle = (x: Float64Array, i: number, j: number, k: number): number => {
  const u = [0, 1, 2].map((c) => x[3 * i + c]! - x[3 * j + c]!);
  const v = [0, 1, 2].map((c) => x[3 * k + c]! - x[3 * j + c]!);
  return Math.acos((u[0]! * v[0]! + u[1]! * v[1]! + u[2]! * v[2]!) / (Math.hypot(...u) * Math.hypot(...v)));
};

for (const [name, optimise] of [
  ['L-BFGS', lbfgs],
  ['L-BFGS preconditioned by the Lindh Hessian', (p: AnalyticPotential, x: Float64Array, o: LbfgsOptions) => lbfgs(p, x, { ...o, preconditioner: 'lindh' })],
  ['FIRE', fire],
] as const) {
  test(`${name} finds the water-like minimum (bond 0.9572 Å, angle 104.52°) with forces below threshold`, () => {
    const { spec } = waterLikeSpec();
    const start = Float64Array.from([0.1, -0.05, 0.02, 1.25, 0.3, 0.1, -0.5, 0.9, -0.2]);
    const steps: number[] = [];
    const r: OptimizeResult = optimise(new AnalyticPotential(spec), start, { fmaxKcalPerMolPerA: 0.01, energyTolKcalPerMol: 1e-6, onStep: (s) => steps.push(s.step) });
    assert.ok(r.converged, r.message);
    assert.ok(r.fmaxKcalPerMolPerA <= 0.01);
    assert.ok(r.energyKcalPerMol < 1e-6 && r.energyKcalPerMol < r.initialEnergyKcalPerMol);
    assert.ok(Math.abs(dist(r.positionsA, 0, 1) - 0.9572) < 1e-4);
    assert.ok(Math.abs(dist(r.positionsA, 0, 2) - 0.9572) < 1e-4);
    assert.ok(Math.abs(angle(r.positionsA, 1, 0, 2) - (104.52 * Math.PI) / 180) < 1e-3);
    assert.deepEqual(steps, Array.from({ length: r.steps + 1 }, (_, k) => k));
  });

  test(`${name} puts atoms in anisotropic wells at their centres; the step cap holds`, () => {
    const spec: AnalyticSpec = harmonicOscillatorSet(6, 50, 'C', 4);
    const start = new Float64Array(18);
    spec.harmonicWells!.forEach((w, i) => {
      start.set([w.centreA[0] + 0.8, 0.5, -0.6], 3 * i);
    });
    let prev = Float64Array.from(start);
    let maxMove = 0;
    const r = optimise(new AnalyticPotential(spec), start, {
      fmaxKcalPerMolPerA: 0.1,
      maxStepA: 0.2,
      onStep: (s) => {
        for (let i = 0; i < 6; i++) maxMove = Math.max(maxMove, dist(Float64Array.from([...s.positionsA.subarray(3 * i, 3 * i + 3), ...prev.subarray(3 * i, 3 * i + 3)]), 0, 1));
        prev = Float64Array.from(s.positionsA);
      },
    });
    assert.ok(r.converged, r.message);
    assert.ok(maxMove <= 0.2 + 1e-12, `largest atom step ${maxMove}`);
    spec.harmonicWells!.forEach((w, i) => {
      assert.ok(Math.hypot(r.positionsA[3 * i]! - w.centreA[0], r.positionsA[3 * i + 1]!, r.positionsA[3 * i + 2]!) < 0.01);
    });
  });
}

test('L-BFGS reports non-convergence within maxSteps, and bad options are AtomgpErrors', () => {
  const { spec } = waterLikeSpec();
  const pot = new AnalyticPotential(spec);
  const start = Float64Array.from([0, 0, 0, 1.6, 0, 0, -0.5, 1.1, 0]);
  const r = lbfgs(pot, start, { maxSteps: 2, fmaxKcalPerMolPerA: 1e-6 });
  assert.equal(r.converged, false);
  assert.equal(r.steps, 2);
  assert.match(r.message, /not converged after 2 steps/);
  assert.throws(() => lbfgs(pot, start, { fmaxKcalPerMolPerA: -1 }), AtomgpError);
  assert.throws(() => fire(pot, start, { maxStepA: 5 }), AtomgpError);
  assert.throws(() => lbfgs(pot, new Float64Array(6)), /2 atoms but the potential/);
});
