import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BOHR_PER_ANGSTROM } from '../../../src/chem/units.js';
import { massesAmu } from '../../../src/chem/molecule.js';
import { MolecularDynamics } from '../../../src/dynamics/md.js';
import { DEFAULT_INTEGRATOR_SETTINGS } from '../../../src/dynamics/integrators.js';
import { computeFeatures } from '../../../src/features/alf.js';
import { syntheticMolecule } from '../../../src/gp/model/synthetic.js';
import { AtomGp } from '../../../src/gp/predict/predictor.js';
import { PredictTeam } from '../../../src/gp/predict/team.js';
import { configureBackend, defaultThreads, resetBackendSettings } from '../../../src/math/backend.js';
import { nativePredictStatus } from '../../../src/math/native-predict.js';
import { linalgTeam } from '../../../src/math/linalg-team.js';
import { kernelModule } from '../../../src/math/wasm/predict-kernel.js';
import { GpPotential, TEAM_MIN_KERNEL_DOUBLES } from '../../../src/potentials/gp.js';
import { AtomgpError } from '../../../src/errors.js';
import { createResult } from '../../../src/potentials/potential.js';

const noShared = kernelModule(true) === null && 'no shared-memory WebAssembly SIMD';

function potentials(nAtoms: number, nTrain: number) {
  const mol = syntheticMolecule({ nAtoms, nTrain, seed: 9, kernel: 'rbf-cyclic', mean: 'quadratic', displacementA: 0.2 });
  const spec = { systemName: 'SYN', models: mol.models, symbols: mol.symbols, periodicPrefactors: mol.models.map(() => 4 as const) };
  const one = new GpPotential(spec, 1, { threads: 1 });
  const two = new GpPotential(spec, 1, { threads: 2 });
  return { mol, one, two };
}

// Each kernel on the shared layout, forced in code on this thread (which the team's worker does not
// see: it must run the kernel the team's owner chose, or the halves would differ in rounding).
const kinds = (['wasm', 'native'] as const).filter((k) => k === 'wasm' || nativePredictStatus().available);
for (const kind of kinds) test(`two threads give bit-identical energies, atomic energies and forces to one thread, fallbacks included (${kind} kernel)`, { skip: noShared }, () => {
  configureBackend({ predict: kind });
  let built: ReturnType<typeof potentials>;
  try {
    built = potentials(7, 230);
  } finally {
    resetBackendSettings();
  }
  const { mol, one, two } = built;
  assert.equal(one.atomModels[0]!.backend, kind);
  assert.equal(two.atomModels[0]!.backend, kind);
  assert.equal(one.threads, 1);
  assert.equal(two.threads, 2);
  assert.ok(two.waitThreadsReady(), 'worker thread did not start');
  const team = linalgTeam(2)!;
  const jobsBefore = team.teamJobs;
  const o1 = createResult(one.nAtoms);
  const o2 = createResult(two.nAtoms);
  let inWindow = 0;
  let outside = 0;
  for (let k = 0; k < 40; k++) {
    // Growing distortions: small ones keep every atom in its windows, large ones push some out.
    const amp = 0.02 + 0.03 * k;
    const x = mol.positionsA.map((v, i) => v + amp * Math.sin(0.9 * k + 1.7 * i));
    const feats = computeFeatures(Float64Array.from(x, (v) => v * BOHR_PER_ANGSTROM), mol.alfs);
    for (const [a, gp] of two.atomModels.entries()) {
      if (gp.wrapFree(feats[a]!)) inWindow++;
      else outside++;
    }
    one.compute(x, o1);
    two.compute(x, o2);
    assert.equal(o2.energyHa, o1.energyHa, `step ${k}: energy`);
    assert.deepEqual(o2.atomicEnergiesHa, o1.atomicEnergiesHa, `step ${k}: atomic energies`);
    assert.deepEqual(o2.forcesHaPerBohr, o1.forcesHaPerBohr, `step ${k}: forces`);
    one.compute(x, o1, false);
    two.compute(x, o2, false);
    assert.equal(o2.energyHa, o1.energyHa, `step ${k}: energy without forces`);
  }
  assert.ok(inWindow > 50 && outside >= 5, `atoms in their windows ${inWindow}, outside ${outside}`);
  assert.ok(team.teamJobs >= jobsBefore + 80, `only ${team.teamJobs - jobsBefore} calls ran on the team`);
});

test('a 200-step NVT trajectory is bit-identical with one and two threads', { skip: noShared }, () => {
  const { mol, one, two } = potentials(6, 200);
  assert.ok(two.waitThreadsReady());
  const settings = { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt' as const, timestepFs: 0.1, temperatureK: 100 };
  const masses = massesAmu(mol.symbols);
  const a = MolecularDynamics.create(one, settings, mol.positionsA, masses, 3);
  const b = MolecularDynamics.create(two, settings, mol.positionsA, masses, 3);
  a.run(200);
  b.run(200);
  assert.equal(b.state.step, 200);
  assert.deepEqual(b.state.positionsA, a.state.positionsA);
  assert.deepEqual(b.state.velocitiesAPerFs, a.state.velocitiesAPerFs);
  assert.equal(b.conservedKcalPerMol, a.conservedKcalPerMol);
  // The run moved: the comparison is not of two copies of the start.
  let moved = 0;
  for (let i = 0; i < mol.positionsA.length; i++) moved = Math.max(moved, Math.abs(a.state.positionsA[i]! - mol.positionsA[i]!));
  assert.ok(moved > 1e-3, `max displacement ${moved} Å`);
});

test('default threads: one for small model sets, backend.ts defaultThreads() from TEAM_MIN_KERNEL_DOUBLES of kernel data', { skip: noShared }, () => {
  const small = syntheticMolecule({ nAtoms: 4, nTrain: 100, seed: 2, kernel: 'rbf-cyclic' });
  const spec = (m: typeof small) => ({ systemName: 'SYN', models: m.models, symbols: m.symbols, periodicPrefactors: m.models.map(() => 4 as const) });
  assert.equal(new GpPotential(spec(small)).threads, 1);
  // 9 atoms: 21 features, 7 of them wrapped; 1300 points: ≈ 9 × 1300 × 24 doubles > 2^18.
  const big = syntheticMolecule({ nAtoms: 9, nTrain: 1300, seed: 2, kernel: 'rbf-cyclic' });
  const pot = new GpPotential(spec(big));
  let doubles = 0;
  for (const gp of pot.atomModels) doubles += gp.kernelDoubles;
  assert.ok(doubles >= TEAM_MIN_KERNEL_DOUBLES, `${doubles} kernel doubles`);
  assert.equal(pot.threads, Math.max(1, defaultThreads()));
  assert.equal(new GpPotential(spec(big), 1, { threads: 1 }).threads, 1);
  assert.throws(() => new GpPotential(spec(small), 1, { threads: 0 }), /threads must be a positive integer/);
});

test('auto threads: calls alternate between one thread and the team in every probe, with bit-identical results', { skip: noShared }, () => {
  const mol = syntheticMolecule({ nAtoms: 9, nTrain: 1300, seed: 4, kernel: 'rbf-cyclic', mean: 'quadratic', displacementA: 0.2 });
  const spec = { systemName: 'SYN', models: mol.models, symbols: mol.symbols, periodicPrefactors: mol.models.map(() => 4 as const) };
  const auto = new GpPotential(spec);
  if (defaultThreads() < 2) {
    assert.equal(auto.threadChooser, null);
    return;
  }
  const chooser = auto.threadChooser!;
  assert.ok(chooser, 'auto mode has a chooser');
  assert.ok(auto.waitThreadsReady());
  const one = new GpPotential(spec, 1, { threads: 1 });
  const o1 = createResult(one.nAtoms);
  const o2 = createResult(auto.nAtoms);
  for (let k = 0; k < 72; k++) {
    const x = mol.positionsA.map((v, i) => v + 0.03 * Math.sin(0.37 * k + 1.1 * i));
    one.compute(x, o1);
    auto.compute(x, o2);
    assert.equal(o2.energyHa, o1.energyHa, `call ${k}`);
    assert.deepEqual(o2.forcesHaPerBohr, o1.forcesHaPerBohr, `call ${k}`);
  }
  // Two probes (calls 0-7 and 64-71), four calls of each mode in each; the rest follow the faster.
  assert.equal(chooser.teamCalls + chooser.soloCalls, 72);
  assert.ok(chooser.teamCalls >= 8 && chooser.soloCalls >= 8, `team ${chooser.teamCalls}, alone ${chooser.soloCalls}`);
});

test('two copies of a molecule: each molecule’s calls on two threads, bit-identical to one thread', { skip: noShared }, () => {
  const mol = syntheticMolecule({ nAtoms: 5, nTrain: 120, seed: 12, kernel: 'rbf-cyclic', mean: 'quadratic', displacementA: 0.2 });
  const spec = { systemName: 'SYN', models: mol.models, symbols: mol.symbols, periodicPrefactors: mol.models.map(() => 4 as const) };
  const one = new GpPotential(spec, 2, { threads: 1 });
  const two = new GpPotential(spec, 2, { threads: 2 });
  assert.ok(two.waitThreadsReady());
  const o1 = createResult(10);
  const o2 = createResult(10);
  for (let k = 0; k < 10; k++) {
    // The second copy 20 Å away and distorted differently from the first.
    const x = Float64Array.from({ length: 30 }, (_, i) => mol.positionsA[i % 15]! + (i >= 15 && i % 3 === 0 ? 20 : 0) + 0.04 * Math.sin(0.5 * k + 1.3 * i));
    one.compute(x, o1);
    two.compute(x, o2);
    assert.equal(o2.energyHa, o1.energyHa);
    assert.deepEqual(o2.atomicEnergiesHa, o1.atomicEnergiesHa);
    assert.deepEqual(o2.forcesHaPerBohr, o1.forcesHaPerBohr);
  }
  assert.notEqual(o1.atomicEnergiesHa[0], o1.atomicEnergiesHa[5], 'the two copies see different geometries');
});

test('an error in the host side of a two-thread call (coinciding ALF atoms) is the one-thread error, and the team keeps working', { skip: noShared }, () => {
  const { mol, one, two } = potentials(6, 200);
  assert.ok(two.waitThreadsReady());
  const team = linalgTeam(2)!;
  const o1 = createResult(one.nAtoms);
  const o2 = createResult(two.nAtoms);
  const bad = Float64Array.from(mol.positionsA);
  bad.set(bad.subarray(0, 3), 3); // atom 2 on top of atom 1
  let soloError = '';
  try {
    one.compute(bad, o1);
  } catch (e) {
    soloError = (e as Error).message;
  }
  assert.match(soloError, /coincide/);
  const before = team.teamJobs;
  assert.throws(() => two.compute(bad, o2), (e: unknown) => e instanceof AtomgpError && e.message === soloError);
  assert.equal(team.teamJobs, before + 1, 'the failing call ran on the team');
  for (let k = 0; k < 5; k++) {
    const x = mol.positionsA.map((v, i) => v + 0.03 * Math.sin(0.7 * k + 1.3 * i));
    one.compute(x, o1);
    two.compute(x, o2);
    assert.equal(o2.energyHa, o1.energyHa, `call ${k} after the error`);
    assert.deepEqual(o2.forcesHaPerBohr, o1.forcesHaPerBohr, `call ${k} after the error`);
  }
  assert.equal(team.teamJobs, before + 6);
});

test('begin / run / finish (the non-pipelined call that bench:predict uses) equals each model on one thread', { skip: noShared }, () => {
  const mol = syntheticMolecule({ nAtoms: 5, nTrain: 300, seed: 21, kernel: 'rbf-cyclic', mean: 'quadratic', displacementA: 0.2 });
  const models = mol.models.map((m) => new AtomGp(m, 4));
  const alone = mol.models.map((m) => new AtomGp(m, 4));
  const team = PredictTeam.create(linalgTeam(2)!, models)!;
  assert.ok(team.waitReady());
  const g1 = new Float64Array(mol.models[0]!.nFeatures);
  const g2 = new Float64Array(mol.models[0]!.nFeatures);
  let teamed = 0;
  for (let k = 0; k < 6; k++) {
    const x = mol.positionsA.map((v, i) => v + 0.03 * Math.sin(0.9 * k + 1.3 * i));
    const feats = computeFeatures(Float64Array.from(x, (v) => v * BOHR_PER_ANGSTROM), mol.alfs);
    const started = models.map((gp, i) => team.begin(i, gp, feats[i]!, true));
    team.run();
    for (let i = 0; i < models.length; i++) {
      const e1 = alone[i]!.predict(feats[i]!, g1);
      const e2 = started[i] ? team.finish(i, models[i]!, feats[i]!, g2) : models[i]!.predict(feats[i]!, g2);
      if (started[i]) teamed++;
      assert.equal(e2, e1, `call ${k}, model ${i}`);
      assert.deepEqual(g2, g1, `call ${k}, model ${i}`);
    }
  }
  assert.ok(teamed >= 20, `${teamed} of 30 model calls went through the team`);
});
