import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../../src/chem/units.js';
import { AtomgpError } from '../../src/errors.js';
import { AnalyticPotential, type AnalyticSpec, BrokenPotential, harmonicOscillatorSet, waterLikeSpec } from '../../src/potentials/analytic.js';
import { createPotential } from '../../src/potentials/factory.js';
import { createResult, type Potential } from '../../src/potentials/potential.js';

const mixed: AnalyticSpec = {
  symbols: ['C', 'O', 'H', 'H'],
  harmonicBonds: [{ i: 0, j: 1, kKcalPerMolPerA2: 600, r0A: 1.22 }],
  morseBonds: [
    { i: 0, j: 2, depthKcalPerMol: 100, alphaPerA: 1.9, r0A: 1.1 },
    { i: 0, j: 3, depthKcalPerMol: 100, alphaPerA: 1.9, r0A: 1.1 },
  ],
  harmonicAngles: [
    { i: 1, j: 0, k: 2, kKcalPerMolPerRad2: 80, theta0Rad: 2.1 },
    { i: 2, j: 0, k: 3, kKcalPerMolPerRad2: 70, theta0Rad: 2.0 },
  ],
  harmonicWells: [{ i: 3, kKcalPerMolPerA2: [3, 5, 7], centreA: [0.2, -0.1, 0.3] }],
};
const geometry = Float64Array.from([0.01, 0.02, -0.03, 1.3, 0.1, 0.05, -0.6, 0.95, 0.1, -0.5, -1.0, -0.2]);

function energyKcal(p: Potential, x: Float64Array): number {
  const r = createResult(p.nAtoms);
  p.compute(x, r, false);
  return r.energyHa * KCAL_PER_MOL_PER_HARTREE;
}

test('analytic forces equal minus the central finite-difference gradient', () => {
  const p = new AnalyticPotential(mixed);
  const r = createResult(p.nAtoms);
  p.compute(geometry, r);
  const h = 1e-5;
  let worst = 0;
  for (let i = 0; i < geometry.length; i++) {
    const xp = Float64Array.from(geometry);
    const xm = Float64Array.from(geometry);
    xp[i]! += h;
    xm[i]! -= h;
    const fdKcal = -(energyKcal(p, xp) - energyKcal(p, xm)) / (2 * h);
    const fKcal = r.forcesHaPerBohr[i]! * KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;
    worst = Math.max(worst, Math.abs(fKcal - fdKcal));
  }
  assert.ok(worst < 1e-5, `max |F − F_fd| = ${worst} kcal/mol/Å`);
});

test('atomic energies split every term equally and sum to the total', () => {
  const p = new AnalyticPotential(mixed);
  const r = createResult(p.nAtoms);
  p.compute(geometry, r);
  const sum = r.atomicEnergiesHa.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - r.energyHa) < 1e-15 * Math.max(1, Math.abs(r.energyHa)) + 1e-16);
  // a single bond: half of its energy on each atom
  const bond = new AnalyticPotential({ symbols: ['H', 'H'], harmonicBonds: [{ i: 0, j: 1, kKcalPerMolPerA2: 2, r0A: 1 }] });
  const rb = createResult(2);
  bond.compute(Float64Array.from([0, 0, 0, 1.5, 0, 0]), rb);
  assert.equal(rb.energyHa * KCAL_PER_MOL_PER_HARTREE, 0.25);
  assert.equal(rb.atomicEnergiesHa[0], rb.atomicEnergiesHa[1]);
});

test('known minima have zero energy and zero force', () => {
  const { spec, minimumA } = waterLikeSpec();
  const p = new AnalyticPotential(spec);
  const r = createResult(3);
  p.compute(minimumA, r);
  assert.ok(Math.abs(r.energyHa) < 1e-20);
  for (const f of r.forcesHaPerBohr) assert.ok(Math.abs(f) < 1e-12);
  const osc = harmonicOscillatorSet(5, 10, 'H', 2);
  assert.equal(osc.harmonicWells!.length, 5);
  const k = osc.harmonicWells![1]!.kKcalPerMolPerA2 as number[];
  assert.ok(k.every((v) => v >= 10 && v <= 30) && new Set(k).size === 3);
});

test('bad specs are AtomgpErrors naming the problem', () => {
  assert.throws(() => new AnalyticPotential({ symbols: ['H', 'H'], harmonicBonds: [{ i: 0, j: 2, kKcalPerMolPerA2: 1, r0A: 1 }] }), AtomgpError);
  assert.throws(() => new AnalyticPotential({ symbols: ['Xx'] }), /unknown element/);
  assert.throws(() => new AnalyticPotential({ symbols: ['H'], harmonicWells: [{ i: 0, kKcalPerMolPerA2: Number.NaN, centreA: [0, 0, 0] }] }), /non-finite/);
});

test('the broken wrapper breaks exactly from the given call', async () => {
  const { spec, minimumA } = waterLikeSpec();
  const p = (await createPotential({ kind: 'broken', inner: { kind: 'analytic', spec }, broken: { mode: 'nan', fromCall: 2 } })) as BrokenPotential;
  assert.ok(p instanceof BrokenPotential);
  const r = createResult(3);
  p.compute(minimumA, r);
  p.compute(minimumA, r);
  assert.ok(Number.isFinite(r.energyHa));
  p.compute(minimumA, r);
  assert.ok(Number.isNaN(r.energyHa) && Number.isNaN(r.forcesHaPerBohr[0]!));
  const jump = new BrokenPotential(new AnalyticPotential(spec), { mode: 'energy-jump', fromCall: 0, jumpKcalPerMol: 10 });
  jump.compute(minimumA, r);
  assert.ok(Math.abs(r.energyHa * KCAL_PER_MOL_PER_HARTREE - 10) < 1e-9);
  await assert.rejects(createPotential({ kind: 'nope' } as never), AtomgpError);
});
