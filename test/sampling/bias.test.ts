import assert from 'node:assert/strict';
import { test } from 'node:test';
import { distanceA } from '../../src/chem/molecule.js';
import { BOHR_PER_ANGSTROM, KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../../src/chem/units.js';
import { createResult } from '../../src/potentials/potential.js';
import { BiasedPotential, bondWallsFromStart, evaluateBondWalls } from '../../src/sampling/bias.js';
import { type CvSpec, evaluateCv } from '../../src/sampling/cv.js';
import { MetadynamicsBias } from '../../src/sampling/wtmetad.js';
import { BOND_A, chain, DIHEDRAL, TorsionChain } from './torsion-chain.js';

test('biased forces equal minus the finite-difference gradient of the biased energy; labels stay unbiased', () => {
  const inner = new TorsionChain();
  const cvs: CvSpec[] = [DIHEDRAL, { kind: 'distance', atoms: [0, 3] }, { kind: 'angle', atoms: [1, 2, 3] }];
  const bias = new MetadynamicsBias(cvs, { temperatureK: 300, biasFactor: 10, initialHeightKcalPerMol: 1, widths: [0.3, 0.15, 0.1] });
  const x = chain(2.2);
  x[1] += 0.05;
  x[11] -= 0.07;
  const s = cvs.map((cv) => evaluateCv(cv, x));
  bias.addHill([s[0]! + 0.2, s[1]! - 0.05, s[2]! + 0.04], 1.1);
  bias.addHill([s[0]! - 0.3, s[1]! + 0.1, s[2]! - 0.05], 0.7);
  const biased = new BiasedPotential(inner, bias);
  const out = createResult(4);
  const ref = createResult(4);
  biased.compute(x, out);
  inner.compute(x, ref);
  const vKcal = bias.evaluate(s);
  assert.ok(vKcal > 0.5, `the bias is not negligible here (${vKcal} kcal/mol)`);
  assert.ok(Math.abs(out.energyHa - (ref.energyHa + vKcal / KCAL_PER_MOL_PER_HARTREE)) < 1e-15, 'biased energy = inner + V');
  assert.deepEqual(Array.from(out.atomicEnergiesHa), Array.from(ref.atomicEnergiesHa));
  assert.equal(biased.lastUnbiased.energyHa, ref.energyHa);
  assert.deepEqual(Array.from(biased.lastUnbiased.forcesHaPerBohr), Array.from(ref.forcesHaPerBohr));
  assert.ok(Math.abs(biased.lastBiasKcalPerMol - vKcal) < 1e-15, 'last bias');
  const tmp = createResult(4);
  const y = Float64Array.from(x);
  const hA = 1e-5;
  let maxErr = 0;
  let maxBiasForce = 0;
  for (let i = 0; i < 12; i++) {
    y[i] = x[i]! + hA;
    biased.compute(y, tmp, false);
    const ep = tmp.energyHa;
    y[i] = x[i]! - hA;
    biased.compute(y, tmp, false);
    const em = tmp.energyHa;
    y[i] = x[i]!;
    const fd = -((ep - em) / (2 * hA)) / BOHR_PER_ANGSTROM; // Ha/Å → Ha/bohr
    maxErr = Math.max(maxErr, Math.abs(out.forcesHaPerBohr[i]! - fd));
    maxBiasForce = Math.max(maxBiasForce, Math.abs(out.forcesHaPerBohr[i]! - ref.forcesHaPerBohr[i]!));
  }
  assert.ok(maxBiasForce > 1e-3, `bias forces are tested, not zero (${maxBiasForce} Ha/bohr)`);
  assert.ok(maxErr < 1e-9, `max |F − (−FD grad)| = ${maxErr} Ha/bohr`);
});

test('after a deposit, swapping the bias forces gives the forces of a fresh evaluation', () => {
  const bias = new MetadynamicsBias([DIHEDRAL], { temperatureK: 300, biasFactor: 10, initialHeightKcalPerMol: 1, widths: [0.3] });
  const biased = new BiasedPotential(new TorsionChain(), bias);
  const x = chain(2.9);
  const out = createResult(4);
  bias.addHill([3.0], 0.9);
  biased.compute(x, out);
  const fKcal = Float64Array.from(out.forcesHaPerBohr, (f) => f * KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR);
  const vOld = biased.addBiasForcesKcalPerMolPerA(fKcal, -1);
  bias.deposit(biased.lastCvValues);
  const vNew = biased.addBiasForcesKcalPerMolPerA(fKcal, 1);
  biased.compute(x, out);
  assert.ok(Math.abs(vNew - biased.lastBiasKcalPerMol) < 1e-14 && vNew > vOld, `V ${vOld} → ${vNew}`);
  for (let i = 0; i < 12; i++) assert.ok(Math.abs(fKcal[i]! - out.forcesHaPerBohr[i]! * KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR) < 1e-11, `force component ${i}`);
});

test('bond walls: zero inside, k (d − f d0)² beyond, forces equal minus the finite-difference gradient', () => {
  const x0 = chain(2.0);
  const walls = bondWallsFromStart(['C', 'C', 'C', 'C'], x0, 1.3, 200);
  assert.equal(walls.maxA.length, 3, 'three C-C bonds');
  for (const m of walls.maxA) assert.ok(Math.abs(m - 1.3 * BOND_A) < 1e-12);
  assert.equal(evaluateBondWalls(walls, x0), 0);
  // Stretch bond 2-3 (atom 2 at the origin, atom 3 at (L, 0, 0)) to 2.2 Å along x, moving atom 4
  // with it: E = 200 (2.2 − 1.3 L)².
  const x = Float64Array.from(x0);
  x[6] = 2.2;
  x[9] += 2.2 - BOND_A;
  const expected = 200 * (2.2 - 1.3 * BOND_A) ** 2;
  assert.ok(Math.abs(evaluateBondWalls(walls, x) - expected) < 1e-9, `${evaluateBondWalls(walls, x)} vs ${expected}`);
  // Through BiasedPotential: energy = inner + wall (no hills), forces = −∇ (FD).
  const bias = new MetadynamicsBias([DIHEDRAL], { temperatureK: 300, biasFactor: 10, initialHeightKcalPerMol: 1, widths: [0.3] });
  const inner = new TorsionChain();
  const biased = new BiasedPotential(inner, bias, walls);
  const out = createResult(4);
  const ref = createResult(4);
  x[1] += 0.9; // stretch bond 1-2 beyond its wall too
  biased.compute(x, out);
  inner.compute(x, ref);
  assert.ok(biased.lastWallKcalPerMol > expected, 'two walls active');
  assert.ok(Math.abs(out.energyHa - ref.energyHa - biased.lastWallKcalPerMol / KCAL_PER_MOL_PER_HARTREE) < 1e-14);
  assert.deepEqual(Array.from(out.atomicEnergiesHa), Array.from(ref.atomicEnergiesHa), 'labels exclude the wall');
  const tmp = createResult(4);
  const y = Float64Array.from(x);
  let maxErr = 0;
  for (let i = 0; i < 12; i++) {
    y[i] = x[i]! + 1e-5;
    biased.compute(y, tmp, false);
    const ep = tmp.energyHa;
    y[i] = x[i]! - 1e-5;
    biased.compute(y, tmp, false);
    y[i] = x[i]!;
    const fd = -((ep - tmp.energyHa) / 2e-5) / BOHR_PER_ANGSTROM;
    maxErr = Math.max(maxErr, Math.abs(out.forcesHaPerBohr[i]! - fd));
  }
  assert.ok(maxErr < 1e-9, `max |F − (−FD)| = ${maxErr} Ha/bohr`);
  assert.throws(() => bondWallsFromStart(['C', 'C', 'C', 'C'], x0, 1), /factor must be > 1/);
});

test('a labile hydrogen: no wall on its donor bond, a wall on d(a,h) + d(h,b) at f × its start value; forces equal −∇E', () => {
  // O–H···O, hydrogen-bonded: O1 at the origin, H 0.98 Å along x, O2 2.55 Å along x (slightly bent)
  const symbols = ['O', 'H', 'O'];
  const x0 = Float64Array.from([0, 0, 0, 0.98, 0.05, 0, 2.55, 0.1, 0]);
  const plain = bondWallsFromStart(symbols, x0, 1.3, 200);
  assert.equal(plain.maxA.length, 1, 'only O1–H is a bond');
  const walls = bondWallsFromStart(symbols, x0, 1.3, 200, [[0, 1, 2]]);
  assert.equal(walls.maxA.length, 0, 'the O1–H wall is gone');
  const s0 = distanceA(x0, 0, 1) + distanceA(x0, 1, 2);
  assert.ok(Math.abs(walls.sumMaxA![0]! - 1.3 * s0) < 1e-12);
  // the proton moved to the acceptor (d(O1,H) 1.6 Å, beyond the old wall at 1.27 Å): no energy
  const hop = Float64Array.from(x0);
  hop[3] = 1.6;
  assert.ok(evaluateBondWalls(plain, hop) > 0);
  assert.equal(evaluateBondWalls(walls, hop), 0);
  // the proton pulled away sideways: E = k (sum − f s0)², forces −∇E by finite differences
  const off = Float64Array.from(x0);
  off[4] = 1.4;
  const excess = distanceA(off, 0, 1) + distanceA(off, 1, 2) - 1.3 * s0;
  assert.ok(excess > 0);
  assert.ok(Math.abs(evaluateBondWalls(walls, off) - 200 * excess * excess) < 1e-10);
  const f = new Float64Array(9);
  evaluateBondWalls(walls, off, f);
  const y = Float64Array.from(off);
  for (let i = 0; i < 9; i++) {
    y[i] = off[i]! + 1e-6;
    const ep = evaluateBondWalls(walls, y);
    y[i] = off[i]! - 1e-6;
    const em = evaluateBondWalls(walls, y);
    y[i] = off[i]!;
    const fdHaPerBohr = -((ep - em) / 2e-6) / KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;
    assert.ok(Math.abs(f[i]! - fdHaPerBohr) < 1e-8, `component ${i}: ${f[i]} vs ${fdHaPerBohr}`);
  }
  assert.throws(() => bondWallsFromStart(symbols, x0, 1.3, 200, [[2, 1, 0]]), /labile hydrogen 2: it is not bonded to atom 3/);
});
