import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BOHR_PER_ANGSTROM, KCAL_PER_MOL_PER_HARTREE } from '../../../src/chem/units.js';
import { AtomgpError } from '../../../src/errors.js';
import {
  AdditiveLikelihood,
  type AdditiveAtomInput,
  type AdditiveTrainResult,
  additiveFeatures,
  interleaveAtoms,
  predictAdditiveTotals,
  trainAdditive,
} from '../../../src/gp/fit/additive.js';
import { kernelReachBounds } from '../../../src/gp/fit/train-options.js';
import { TERM_PERIODIC, TERM_SQUARE, TERM_WRAPPED } from '../../../src/gp/kernel/kernel.js';
import { readModelSet } from '../../../src/io/modelset.js';
import { writeModel } from '../../../src/io/model.js';
import { ALFS, MINIMUM_A, reference, SYMBOLS } from '../../helpers/formaldehyde.js';
import { assertGradientByFiniteDifferences } from '../../helpers/gradient.js';
import { GpPotential } from '../../../src/potentials/gp.js';
import { createResult } from '../../../src/potentials/potential.js';
import { Rng } from '../../../src/util/rng.js';

// A formaldehyde-like molecule (C O H H) with a known additive PES: Morse bonds and harmonic angles.

/** `n` geometries: every coordinate of the minimum displaced uniformly by ±0.08 Å (seeded). */
function sample(n: number, seed: number): { frames: Float64Array[]; energyHa: Float64Array } {
  const rng = new Rng(seed);
  const out = createResult(4);
  const frames: Float64Array[] = [];
  const energyHa = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = Float64Array.from(MINIMUM_A, (v) => v + rng.uniformIn(-0.08, 0.08));
    reference.compute(p, out, false);
    frames.push(p);
    energyHa[i] = out.energyHa;
  }
  return { frames, energyHa };
}

const N_TRAIN = 120;
const data = sample(150, 3);
const trainAtoms = additiveFeatures(SYMBOLS, data.frames.slice(0, N_TRAIN), ALFS);
const testAtoms = additiveFeatures(SYMBOLS, data.frames.slice(N_TRAIN), ALFS);
const yTrain = data.energyHa.slice(0, N_TRAIN);
const yTest = data.energyHa.slice(N_TRAIN);
const baseInput = { atoms: trainAtoms, nFeatures: 6, yTotalHa: yTrain, systemName: 'FORMALDEHYDE', restarts: 1, seed: 1, prior: 'max' };

let cached: AdditiveTrainResult | undefined;
function trained(): AdditiveTrainResult {
  cached ??= trainAdditive(baseInput);
  return cached;
}

test('the additive likelihood gradient (squared, wrapped and periodic terms, and the noise) equals central finite differences', () => {
  const rng = new Rng(4);
  const n = 25;
  const N = 3;
  const K = 4;
  const xs = Array.from({ length: N }, () => Float64Array.from({ length: n * K }, (_, i) => (i % K === 3 ? rng.uniformIn(-Math.PI, Math.PI) : rng.uniformIn(1.5, 3))));
  const resid = Float64Array.from({ length: n }, () => 0.01 * rng.normal());
  const problem = {
    rows: interleaveAtoms(xs, n, K),
    n,
    nAtoms: N,
    nFeatures: K,
    dim: Int32Array.from([0, 1, 2, 3, 3]),
    kind: Uint8Array.from([TERM_SQUARE, TERM_PERIODIC, TERM_SQUARE, TERM_WRAPPED, TERM_PERIODIC]),
    prefactor: Float64Array.from([1, 4, 1, 1, 4]),
    resid,
    noise: 0,
    optimiseNoise: true,
  };
  const ev = new AdditiveLikelihood(problem);
  assert.equal(ev.nParams, N * 5 + 1);
  const params = Float64Array.from({ length: ev.nParams }, () => Math.log(rng.uniformIn(0.2, 2)));
  params[ev.nParams - 1] = Math.log(1e-3);
  const grad = new Float64Array(ev.nParams);
  const base = ev.evaluate(params, grad);
  assert.equal(base.jitter, 0);
  // the concentrated value: −(n/2) log σ_f² − ½ log|C| with σ_f² = rᵀβ/n, β = C⁻¹r
  let quad = 0;
  for (let a = 0; a < n; a++) quad += resid[a]! * ev.beta[a]!;
  assert.ok(Math.abs(base.signalVariance - quad / n) <= 1e-15 * quad);
  assertGradientByFiniteDifferences(ev, params);
});

test('training on 120 total energies recovers 30 held-out molecular energies to < 0.05 kcal/mol MAE (spread ~26 kcal/mol)', () => {
  const r = trained();
  const pred = predictAdditiveTotals(r.models, testAtoms.map((a) => a.x));
  let mae = 0;
  for (let i = 0; i < yTest.length; i++) mae += Math.abs(pred[i]! - yTest[i]!);
  mae = (mae / yTest.length) * KCAL_PER_MOL_PER_HARTREE;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of data.energyHa) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const spread = (hi - lo) * KCAL_PER_MOL_PER_HARTREE;
  // measured: MAE 0.005 kcal/mol, spread 26.5 kcal/mol
  assert.ok(spread > 15, `energy spread ${spread} kcal/mol`);
  assert.ok(mae < 0.05, `held-out MAE ${mae} kcal/mol`);
  // the stored atomic targets are a decomposition of the training totals
  for (let i = 0; i < N_TRAIN; i++) {
    let s = 0;
    for (const m of r.models) s += m.trainY[i]!;
    assert.ok(Math.abs(s - yTrain[i]!) < 1e-9, `Σ_A y_A = ${s} vs total ${yTrain[i]}`);
  }
  // prior max of the totals, split equally
  let max = Number.NEGATIVE_INFINITY;
  for (const v of yTrain) max = Math.max(max, v);
  assert.ok(Math.abs(r.priorTotalHa - max) < 1e-12);
  for (const m of r.models) {
    assert.equal(m.mean.type, 'constant');
    assert.ok(Math.abs((m.mean as { value: number }).value - max / 4) < 1e-12);
    assert.ok(m.metadata.includes('program atomgp'));
    assert.ok(m.metadata.includes('training additive-total-energy'));
    assert.ok(m.metadata.includes('prior_mean max'));
    assert.ok(m.metadata.some((l) => l.startsWith('likelihood ')));
    assert.ok(m.metadata.some((l) => l.startsWith('noise ')));
    assert.ok(m.metadata.some((l) => l.startsWith('wall_time_s ')));
  }
});

test('the written model set loads with the consistency check, and GpPotential reproduces the trained energies and has exact forces', () => {
  const r = trained();
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-additive-'));
  try {
    for (const m of r.models) writeModel(join(dir, `FORMALDEHYDE_iqa_${m.atom}.model`), m);
    const set = readModelSet(dir, { check: true });
    assert.deepEqual(set.atoms, ['C1', 'O2', 'H3', 'H4']);
    assert.equal(set.checks.length, 4);
    for (const c of set.checks) {
      assert.equal(c.verdict, 'consistent');
      assert.ok(c.relativeResidual < 1e-8, c.summary);
    }
    const pot = new GpPotential({ systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors });
    const own = predictAdditiveTotals(r.models, testAtoms.map((a) => a.x));
    const out = createResult(4);
    for (let i = 0; i < yTest.length; i++) {
      pot.compute(data.frames[N_TRAIN + i]!, out, false);
      assert.ok(Math.abs(out.energyHa - own[i]!) <= 1e-9, `geometry ${i}: GpPotential ${out.energyHa} vs trainer ${own[i]}`);
    }
    // forces = −∂E/∂r by central differences. Step 3e-4 Å: the weights reach ~4e4 (nugget 1e-10), so
    // rounding of E (~1e-12 Ha) limits smaller steps; measured max deviation 1.3e-7 Ha/bohr (|F| ≤ 0.085).
    const pos = data.frames[N_TRAIN]!.slice();
    pot.compute(pos, out, true);
    const forces = out.forcesHaPerBohr.slice();
    const h = 3e-4;
    let worst = 0;
    for (let k = 0; k < 12; k++) {
      const p = pos.slice();
      p[k] = pos[k]! + h;
      pot.compute(p, out, false);
      const ep = out.energyHa;
      p[k] = pos[k]! - h;
      pot.compute(p, out, false);
      const fd = -(ep - out.energyHa) / (2 * h * BOHR_PER_ANGSTROM);
      worst = Math.max(worst, Math.abs(fd - forces[k]!));
    }
    assert.ok(worst < 5e-7, `max |F − F_fd| = ${worst} Ha/bohr`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('far from the data the energy tends to the prior total: max, and a per-atom shift above it', () => {
  // θ bounded below so that every feature's lengthscale is finite: blown apart ×50, the kernels vanish
  const small = { ...baseInput, atoms: additiveFeatures(SYMBOLS, data.frames.slice(0, 60), ALFS), yTotalHa: yTrain.slice(0, 60), thetaBounds: [1e-2, 1e3] as [number, number], maxIterations: 60 };
  let max = Number.NEGATIVE_INFINITY;
  for (const v of small.yTotalHa) max = Math.max(max, v);
  const far = Float64Array.from(MINIMUM_A, (v) => 50 * v);
  for (const [prior, total] of [
    ['max', max],
    // shift is per atom, as with atomic labels: 4 atoms × 0.02 Ha above the highest total
    ['shift:0.02', max + 4 * 0.02],
  ] as const) {
    const r = trainAdditive({ ...small, prior });
    assert.ok(Math.abs(r.priorTotalHa - total) < 1e-12);
    const pot = new GpPotential({ systemName: 'FORMALDEHYDE', models: r.models, symbols: SYMBOLS, periodicPrefactors: [4, 4, 4, 4] });
    const out = createResult(4);
    pot.compute(far, out, false);
    assert.ok(Math.abs(out.energyHa - total) < 1e-8, `${prior}: far energy ${out.energyHa} vs prior total ${total}`);
    // and in the data it is far below the prior
    pot.compute(MINIMUM_A, out, false);
    assert.ok(out.energyHa < total - 0.01, `${prior}: minimum ${out.energyHa} vs prior total ${total}`);
  }
});

test('per-atom reference energies split the prior as ref_A + (m_tot − Σ ref)/N', () => {
  const ref = [-37.8, -75.0, -0.5, -0.5];
  const r = trainAdditive({ ...baseInput, atoms: additiveFeatures(SYMBOLS, data.frames.slice(0, 20), ALFS), yTotalHa: yTrain.slice(0, 20), prior: 'min', atomReferenceHa: ref, maxIterations: 3 });
  let min = Number.POSITIVE_INFINITY;
  for (const v of yTrain.slice(0, 20)) min = Math.min(min, v);
  const share = (min - ref.reduce((a, b) => a + b, 0)) / 4;
  r.atomMeansHa.forEach((m, A) => {
    assert.ok(Math.abs(m - (ref[A]! + share)) < 1e-12);
  });
  assert.ok(r.models[0]!.metadata.includes('prior_mean_split reference+equal'));
});

test('additive training is deterministic for a seed', () => {
  const input = { ...baseInput, atoms: additiveFeatures(SYMBOLS, data.frames.slice(0, 40), ALFS), yTotalHa: yTrain.slice(0, 40), restarts: 2, maxIterations: 30, seed: 7 };
  const a = trainAdditive(input);
  const b = trainAdditive(input);
  assert.equal(a.logLikelihood, b.logLikelihood);
  a.models.forEach((m, A) => {
    assert.deepEqual(Array.from(m.weights), Array.from(b.models[A]!.weights));
    assert.deepEqual(m.kernels[0]!.theta, b.models[A]!.kernels[0]!.theta);
  });
});

test('a start stops once ℓ gained less than the stall threshold over its last iterations, and not before', () => {
  const input = { ...baseInput, maxIterations: 200, seed: 2 };
  const trace = (stall: { iterations: number; logL: number }) => {
    const logL: number[] = [];
    const r = trainAdditive({ ...input, stall, onProgress: (p) => logL.push(p.logLikelihood) });
    return { r, logL, iterations: Number(/ iterations=(\d+) /.exec(r.models[0]!.metadata.find((l) => l.startsWith('optimiser'))!)![1]) };
  };
  const off = trace({ iterations: 10, logL: 0 });
  const rule = { iterations: 5, logL: 0.5 };
  const on = trace(rule);
  assert.equal(on.logL.length, on.iterations);
  assert.ok(on.iterations < off.iterations, `stall: ${on.iterations} iterations, without: ${off.iterations}`);
  // The stop is the rule's: the last window gained less than 0.5, every earlier complete window more.
  const gain = (end: number) => on.logL[end]! - on.logL[end - rule.iterations]!;
  assert.ok(gain(on.logL.length - 1) < rule.logL);
  for (let end = rule.iterations; end < on.logL.length - 1; end++) assert.ok(gain(end) >= rule.logL, `window ending at ${end}`);
  // Up to the stop both runs took the same path.
  assert.deepEqual(on.logL, off.logL.slice(0, on.logL.length));
  assert.throws(() => trainAdditive({ ...input, stall: { iterations: 0, logL: 0.1 } }), (e: unknown) => e instanceof AtomgpError && /stall needs iterations ≥ 1/.test(e.message));
});

test('bad input gives AtomgpError: mismatched counts, unsupported priors, no atoms, bad labels or ALFs', () => {
  const atoms = trainAtoms;
  const expectError = (f: () => unknown, pattern: RegExp) => assert.throws(f, (e: unknown) => e instanceof AtomgpError && pattern.test(e.message));
  expectError(() => trainAdditive({ ...baseInput, yTotalHa: yTrain.slice(0, 100) }), /atom 1 \(C1\): 720 feature values, expected 100 geometries/);
  expectError(() => trainAdditive({ ...baseInput, prior: 'linear' }), /not supported for additive training/);
  expectError(() => trainAdditive({ ...baseInput, prior: 'quadratic' }), /not supported for additive training/);
  expectError(() => trainAdditive({ ...baseInput, atoms: [] }), /no atoms/);
  expectError(() => trainAdditive({ ...baseInput, nFeatures: 5 }), /5 features per atom/);
  const relabelled: AdditiveAtomInput[] = atoms.map((a, i) => (i === 1 ? { ...a, label: 'O3' } : a));
  expectError(() => trainAdditive({ ...baseInput, atoms: relabelled }), /atom 2 \(O3\): the label must be/);
  const badAlf: AdditiveAtomInput[] = atoms.map((a, i) => (i === 2 ? { ...a, alf: [3, 1, 1] } : a));
  expectError(() => trainAdditive({ ...baseInput, atoms: badAlf }), /atom 3 \(H3\): ALF 3 1 1/);
  expectError(() => trainAdditive({ ...baseInput, atomReferenceHa: [1, 2] }), /2 atom reference energies for 4 atoms/);
  const nan = yTrain.slice();
  nan[5] = Number.NaN;
  expectError(() => trainAdditive({ ...baseInput, yTotalHa: nan }), /total energy 6 is not finite/);
  expectError(() => additiveFeatures(SYMBOLS, [MINIMUM_A.slice(0, 9)], ALFS), /frame 1 has 3 atoms, expected 4/);
});

test('θ·var bounds (the kernel reach): every fitted θ·var_d is at least the floor, for each atom and feature', () => {
  const K = 6;
  const [floor, ceiling] = kernelReachBounds(3, K);
  assert.equal(floor, 0.5);
  assert.equal(ceiling, 25);
  const r = trainAdditive({ ...baseInput, thetaVarBounds: [floor, ceiling], maxIterations: 30 });
  let atFloor = 0;
  trainAtoms.forEach((atom, A) => {
    for (let d = 0; d < K; d++) {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < N_TRAIN; i++) {
        s += atom.x[i * K + d]!;
        s2 += atom.x[i * K + d]! ** 2;
      }
      const v = s2 / N_TRAIN - (s / N_TRAIN) ** 2;
      const tv = r.theta[A]![d]! * v;
      assert.ok(tv >= floor * (1 - 1e-9), `atom ${A + 1} feature ${d + 1}: θ·var ${tv} < ${floor}`);
      assert.ok(tv <= ceiling * (1 + 1e-9));
      if (tv < floor * 1.001) atFloor++;
    }
  });
  assert.ok(atFloor > 0, 'the floor binds somewhere (else the test would not test it)');
  assert.throws(() => kernelReachBounds(0, K), AtomgpError);
});

test('a warm start from a fit of the same data starts at its optimum: same likelihood in far fewer evaluations; foreign models refused', () => {
  const r = trained();
  const warm = trainAdditive({ ...baseInput, warmStart: r.models });
  // measured: 22 evaluations warm against 270 cold (3 starts), ℓ 1167.159 both
  assert.ok(warm.logLikelihood >= r.logLikelihood - 1e-6 * Math.abs(r.logLikelihood), `warm ℓ ${warm.logLikelihood} vs cold ${r.logLikelihood}`);
  assert.ok(warm.evaluations < r.evaluations / 2, `warm ${warm.evaluations} vs cold ${r.evaluations} evaluations`);
  assert.ok(warm.models[0]!.metadata.some((l) => / warm-start /.test(l)));
  const swapped = [r.models[1]!, r.models[0]!, ...r.models.slice(2)];
  assert.throws(() => trainAdditive({ ...baseInput, warmStart: swapped }), /warm start for atom C1 \(O2\): expected atom C1 with 6 features, got O2 with 6/);
  assert.throws(() => trainAdditive({ ...baseInput, warmStart: r.models.slice(1) }), /3 warm-start models for 4 atoms/);
});
