import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../../src/chem/units.js';
import { AtomgpError } from '../../src/errors.js';
import { AnalyticPotential, waterLikeSpec } from '../../src/potentials/analytic.js';
import { createResult, type Potential, type PotentialResult } from '../../src/potentials/potential.js';
import { DEFAULT_FIDELITY_BOUNDS, spreadFrames, trajectoryFidelity } from '../../src/workflows/fidelity.js';

const { spec, minimumA } = waterLikeSpec();
const reference = new AnalyticPotential(spec);

/** A "model": the reference plus a constant offset (Ha) and an isotropic well on the O atom (½ k |r_O − c|²). */
function biased(offsetHa: number, kKcalPerMolPerA2: number): Potential {
  return {
    nAtoms: 3,
    symbols: ['O', 'H', 'H'],
    description: 'reference + offset + well',
    compute(x: Float64Array, out: PotentialResult, withForces = true): void {
      reference.compute(x, out, withForces);
      let e = 0;
      for (let a = 0; a < 3; a++) {
        const d = x[a]! - minimumA[a]!;
        e += 0.5 * kKcalPerMolPerA2 * d * d;
        if (withForces) out.forcesHaPerBohr[a] = out.forcesHaPerBohr[a]! - (kKcalPerMolPerA2 * d) / KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;
      }
      out.energyHa += offsetHa + e / KCAL_PER_MOL_PER_HARTREE;
    },
  };
}

/** Frames: the minimum with the O atom moved by `shiftA` along x (Å). */
const frames = [0, 0.05, 0.1, 0.2, 0.4].map((s, i) => {
  const x = minimumA.slice();
  x[0] = x[0]! + s;
  return { positionsA: x, timeFs: 10 * i };
});

test('spreadFrames: every frame when there are few, else evenly spread with the first and the last', () => {
  assert.deepEqual(spreadFrames(3, 10), [0, 1, 2]);
  assert.deepEqual(spreadFrames(101, 5), [0, 25, 50, 75, 100]);
  assert.deepEqual(spreadFrames(10, 1), [9]);
  assert.throws(() => spreadFrames(10, 0), AtomgpError);
});

test('fidelity of the reference against itself is exact, whatever the constant offset', () => {
  const f = trajectoryFidelity(biased(3.7, 0), reference, minimumA, frames);
  assert.equal(f.frames, 5);
  assert.ok(f.energyMaxAbsKcalPerMol < 1e-9, `${f.energyMaxAbsKcalPerMol}`);
  assert.ok(f.forceMaxAbsKcalPerMolPerA < 1e-9);
  assert.equal(f.fractionWithinBand, 1);
  assert.equal(f.faithful, true);
  assert.equal(f.reason, null);
});

test('fidelity measures a known energy and force error: ½ k s² and k s on the displaced atom', () => {
  const k = 200; // kcal/mol/Å²
  const f = trajectoryFidelity(biased(-1.2, k), reference, minimumA, frames);
  const shifts = [0, 0.05, 0.1, 0.2, 0.4];
  const e = shifts.map((s) => 0.5 * k * s * s); // 0, 0.25, 1, 4, 16 kcal/mol
  const mae = e.reduce((a, b) => a + b, 0) / e.length;
  assert.ok(Math.abs(f.energyMaeKcalPerMol - mae) < 1e-9, `${f.energyMaeKcalPerMol} vs ${mae}`);
  assert.ok(Math.abs(f.energyMaxAbsKcalPerMol - 16) < 1e-9);
  assert.ok(Math.abs(f.energyMeanSignedKcalPerMol - mae) < 1e-9, 'the model lies above the reference');
  assert.ok(Math.abs(f.energyRmseKcalPerMol - Math.sqrt(e.reduce((a, b) => a + b * b, 0) / e.length)) < 1e-9);
  // force error only on O's x component: k·s, averaged over the 9 components of each frame
  assert.ok(Math.abs(f.forceMaxAbsKcalPerMolPerA - k * 0.4) < 1e-7);
  assert.ok(Math.abs(f.forceMaeKcalPerMolPerA - (k * shifts.reduce((a, b) => a + b, 0)) / 45) < 1e-7);
  // 4 of 5 frames within 10 kcal/mol, MAE 4.25 > 1.5: not faithful, both reasons given
  assert.equal(f.fractionWithinBand, 0.8);
  assert.equal(f.faithful, false);
  assert.match(f.reason!, /energy MAE 4\.25 > 1\.5/);
  assert.match(f.reason!, /80\.0 % of frames within 10 kcal\/mol/);
  assert.deepEqual(f.bounds, DEFAULT_FIDELITY_BOUNDS);
  assert.equal(f.perFrame[4]!.timeFs, 40);
  assert.ok(Math.abs(f.perFrame[4]!.modelKcalPerMol - f.perFrame[4]!.referenceKcalPerMol - 16) < 1e-9);
  // the same errors pass looser stated bounds, and each bound alone decides
  assert.equal(trajectoryFidelity(biased(0, k), reference, minimumA, frames, { energyMaeKcalPerMol: 5, bandKcalPerMol: 20, withinFraction: 1 }).faithful, true);
  assert.equal(trajectoryFidelity(biased(0, k), reference, minimumA, frames, { energyMaeKcalPerMol: 5, bandKcalPerMol: 10, withinFraction: 0.9 }).faithful, false);
});

test('fidelity refuses mismatched atoms, empty frame lists and impossible bounds', () => {
  assert.throws(() => trajectoryFidelity(reference, reference, minimumA, []), /no frames/);
  assert.throws(() => trajectoryFidelity(reference, reference, minimumA.subarray(0, 6), frames), /minimum has 2 atoms/);
  assert.throws(() => trajectoryFidelity(reference, reference, minimumA, frames, { ...DEFAULT_FIDELITY_BOUNDS, withinFraction: 0 }), AtomgpError);
  const r = createResult(3);
  reference.compute(minimumA, r);
  assert.ok(Number.isFinite(r.energyHa));
});
