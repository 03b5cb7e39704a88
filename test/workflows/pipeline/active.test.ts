import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BOLTZMANN_KCAL_PER_MOL_PER_K, KCAL_PER_MOL_PER_HARTREE } from '../../../src/chem/units.js';
import { readModelSetTerms } from '../../../src/io/modelset.js';
import { readXyz } from '../../../src/io/xyz.js';
import { createPotential } from '../../../src/potentials/factory.js';
import { createResult, type Potential, type PotentialResult } from '../../../src/potentials/potential.js';
import { readLabelledExtxyz } from '../../../src/sampling/export.js';
import { descentPath, pickActiveFrames, thermalReachKcalPerMol } from '../../../src/workflows/pipeline/active.js';
import { DEMO_DEFAULTS, type DemoSummary, type PipelineSettings, runPipeline, validateSettings } from '../../../src/workflows/pipeline/index.js';
import { buildMolecule, referenceSpec } from '../../../src/workflows/pipeline/molecule.js';
import { modelSpec } from '../../../src/workflows/pipeline/settings.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-active-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('pickActiveFrames: only errors above the threshold, at most `count`, from the worst, spread by farthest point', () => {
  // Five "molecules" of two atoms at distances 1.0, 1.01, 1.02, 2.0, 3.0 Å (inverse distance is the descriptor).
  const pos = [1.0, 1.01, 1.02, 2.0, 3.0].map((d) => Float64Array.of(0, 0, 0, d, 0, 0));
  const err = [0.5, -0.4, 0.45, 0.01, 0.3];
  assert.deepEqual(pickActiveFrames(pos, err, 10, 0.2).sort(), [0, 1, 2, 4]);
  // two of the four: the worst (0), then the one farthest from it in 1/r (r = 3.0 Å, not 1.01 or 1.02)
  assert.deepEqual(pickActiveFrames(pos, err, 2, 0.2), [0, 4]);
  assert.deepEqual(pickActiveFrames(pos, err, 3, 1), []);
});

test('thermalReachKcalPerMol: mean + 8 sd of Gamma(n/2, k_BT) for n = 3N − 6, and beyond it a tail below 1e-6', () => {
  const kT = BOLTZMANN_KCAL_PER_MOL_PER_K * 1000;
  const reach = thermalReachKcalPerMol(9, 1000); // malondialdehyde: n = 21
  assert.ok(Math.abs(reach - kT * (10.5 + 8 * Math.sqrt(10.5))) < 1e-12);
  // The tail of Gamma(k = 10.5, θ = kT) beyond the reach, by numerical integration of its density.
  const k = 10.5;
  let lgamma = 0;
  // ln Γ(10.5) = ln(9.5 · 8.5 · … · 0.5 · √π)
  for (let x = 0.5; x < k; x += 1) lgamma += Math.log(x);
  lgamma += 0.5 * Math.log(Math.PI);
  let tail = 0;
  const h = kT / 200;
  for (let e = reach; e < reach + 200 * kT; e += h) tail += h * Math.exp((k - 1) * Math.log(e / kT) - e / kT - lgamma) / kT;
  assert.ok(tail < 1e-6 && tail > 1e-10, `tail ${tail}`);
});

/** One particle bound to the origin by a harmonic well (E = ½ k r², k in Ha/Å²), three atoms to be a molecule. */
function harmonic(kHaPerA2: number): Potential {
  return {
    nAtoms: 3,
    symbols: ['O', 'H', 'H'],
    description: 'harmonic wells',
    compute(x: Float64Array, r: PotentialResult, withForces?: boolean) {
      let e = 0;
      for (let i = 0; i < 9; i++) {
        const c = x[i]! - [0, 0, 0, 1, 0, 0, 0, 1, 0][i]!;
        e += 0.5 * kHaPerA2 * c * c;
        if (withForces) r.forcesHaPerBohr[i] = -kHaPerA2 * c * 0.529177210903;
      }
      r.energyHa = e;
      return r;
    },
  } as unknown as Potential;
}

test('descentPath: L-BFGS from the start to the model\'s minimum, at most maxFrames geometries, the start left out', () => {
  const start = Float64Array.of(0.3, 0.2, 0, 1.4, -0.1, 0, 0.2, 0.7, 0.1);
  const path = descentPath(harmonic(0.05), start, 5);
  assert.ok(path.length >= 2 && path.length <= 4, `${path.length} frames`);
  const last = path[path.length - 1]!;
  const minimum = [0, 0, 0, 1, 0, 0, 0, 1, 0];
  for (let i = 0; i < 9; i++) assert.ok(Math.abs(last[i]! - minimum[i]!) < 0.01, `coordinate ${i}: ${last[i]}`);
  assert.notDeepEqual(Array.from(path[0]!), Array.from(start));
});

// A complete run on water, built-in reference (atomic labels): two rounds of 20.
const small: PipelineSettings = {
  ...DEMO_DEFAULTS,
  molecule: 'water',
  sampleSteps: 12_000,
  harvestEvery: 20,
  nTrain: 150,
  nValid: 100,
  restarts: 1,
  maxIterations: 60,
  priors: ['shift:0.05'],
  mdTemperaturesK: [1000],
  mdTimePs: 0.5,
  replicas: 1,
  workers: 1,
  activeRounds: 2,
  activeFraction: 0.27, // 20 per round
  activeTimePs: 0.5,
  activeReplicas: 1,
  // The built-in water model is good to well below 1 kcal/mol: a tiny threshold makes the rounds add frames.
  activeThresholdKcalPerMol: 1e-5,
};

test('active learning on water: nTrain geometries in all, the minimum and the worst frames added, their recorded errors real, resume reuses the rounds', async () => {
  const out = join(root, 'water');
  const s = await runPipeline(small, out, 'new');
  assert.equal(s.n_train, 150);
  const rounds = s.active!;
  assert.equal(rounds.length, 2);
  assert.equal(rounds[0]!.n_train, 110);
  assert.equal(rounds[1]!.n_train, 110 + rounds[0]!.added);
  const train = readLabelledExtxyz(join(out, 'data/train.extxyz')).frames;
  assert.equal(train.length, 110 + rounds[0]!.added + rounds[1]!.added);
  assert.equal(readLabelledExtxyz(join(out, 'data/train-sampled.extxyz')).frames.length, 110);
  // Round 1's first addition is the relaxed minimum, labelled by the reference.
  const minimum = readXyz(join(out, 'molecule.xyz'))[0]!.positionsA;
  const sel1 = readLabelledExtxyz(join(out, 'active/round_01/selected.extxyz')).frames;
  assert.equal(sel1.length, rounds[0]!.added);
  assert.deepEqual(Array.from(sel1[0]!.positionsA), Array.from(minimum));
  assert.deepEqual(Array.from(train[110]!.positionsA), Array.from(minimum));

  // The errors in round.json are the round's model minus the reference: recompute them on the added frames.
  const { mol } = await buildMolecule(small);
  const reference = await createPotential(referenceSpec(small, mol));
  // with the models' terms as the round ran them (the ZBL term by default, recorded in the folder)
  const model = await createPotential(modelSpec(small, join(out, 'active/round_01/models')));
  assert.equal(readModelSetTerms(join(out, 'active/round_01/models')).repulsion, small.repulsion);
  const rm = createResult(3);
  const rr = createResult(3);
  const recorded = JSON.parse(readFileSync(join(out, 'active/round_01/round.json'), 'utf8')) as { errors_kcal_per_mol: number[]; candidates: number };
  assert.equal(recorded.errors_kcal_per_mol.length, rounds[0]!.candidates);
  const recordedAbs = new Set(recorded.errors_kcal_per_mol.map((e) => Math.abs(e).toFixed(9)));
  for (const f of sel1.slice(1)) {
    model.compute(f.positionsA, rm, false);
    rr.energyHa = 0;
    reference.compute(f.positionsA, rr, false);
    assert.ok(Math.abs(rr.energyHa - f.energyHa!) < 1e-12, 'label is the reference energy');
    const e = (rm.energyHa - rr.energyHa) * KCAL_PER_MOL_PER_HARTREE;
    // every added frame (besides the minimum) was above the threshold, and its error is one recorded
    assert.ok(Math.abs(e) > small.activeThresholdKcalPerMol, `added frame with error ${e} kcal/mol`);
    assert.ok(recordedAbs.has(Math.abs(e).toFixed(9)), `error ${e} not in round.json`);
  }
  // The next model is trained on them: a GP with σ² = 1e-10 interpolates its training totals.
  const model2 = await createPotential({ kind: 'gp-models', dir: join(out, 'active/round_02/models') });
  for (const f of sel1) {
    model2.compute(f.positionsA, rm, false);
    assert.ok(Math.abs(rm.energyHa - f.energyHa!) * KCAL_PER_MOL_PER_HARTREE < 0.05, 'round 2 reproduces the frames round 1 added');
  }

  // Resume reuses every round: demo.json identical but for the wall-clock fields.
  const again = await runPipeline(small, out, 'resume');
  assert.deepEqual(again.active, s.active);
  const strip = (d: DemoSummary): unknown => ({ ...d, timings_s: null, training: d.training.map((t) => ({ ...t, atoms: t.atoms.map((a) => ({ ...a, wall_time_s: 0 })) })) });
  assert.deepEqual(strip(JSON.parse(readFileSync(join(out, 'demo.json'), 'utf8')) as DemoSummary), strip(JSON.parse(JSON.stringify(s)) as DemoSummary));
  // a changed active-learning setting is refused, naming it
  await assert.rejects(runPipeline({ ...small, activeFraction: 0.3 }, out, 'resume'), /--active-fraction/);
  assert.ok(existsSync(join(out, 'active/round_02/runs')));
});

test('active-learning settings are checked before any work', () => {
  assert.throws(() => validateSettings({ ...small, activeRounds: 3, activeFraction: 0.03 }), /gives 1 geometries per round/);
  assert.throws(() => validateSettings({ ...small, activeFraction: 1 }), /--active-fraction must be a number in \(0, 1\)/);
  assert.throws(() => validateSettings({ ...small, activeRounds: -1 }), /--active-rounds must be an integer ≥ 0/);
  assert.throws(() => validateSettings({ ...small, activeStrideFs: 0.1 }), /shorter than the time step/);
  assert.throws(() => validateSettings({ ...small, activeThresholdKcalPerMol: Number.NaN }), /--active-threshold/);
});

test('a first active round with fewer sampled geometries than features is refused before sampling, naming the flags', async () => {
  const out = join(root, 'short');
  // malondialdehyde: 21 features; 30 geometries, 30 % of them from 3 rounds, leaves 21 sampled: enough; 25 leaves 19
  await assert.rejects(runPipeline({ ...small, molecule: 'malondialdehyde', nTrain: 25, nValid: 10, activeFraction: 0.3, activeRounds: 3 }, out, 'new'), /--n-train 25 with --active-fraction 0.3 leaves 19 sampled geometries .* fewer than the 21 features/);
  assert.ok(!existsSync(join(out, 'sampling')), 'nothing sampled');
});
