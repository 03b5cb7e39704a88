import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseComposition } from '../../../src/gp/model/composition.js';
import type { GpModel } from '../../../src/gp/model/model.js';
import { AtomGp } from '../../../src/gp/predict/predictor.js';
import { syntheticMolecule } from '../../../src/gp/model/synthetic.js';
import { GpPotential } from '../../../src/potentials/gp.js';

const THETA = 2;
const NOISE = 1e-8;
const XS = [1.0, 1.3, 1.6, 1.9, 2.2];
const k = (a: number, b: number) => Math.exp(-THETA * (a - b) ** 2);

/** Dense inverse by Gauss-Jordan with partial pivoting (small n, test only). */
function inverse(a: number[][]): number[][] {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const piv = m[c]![c]!;
    for (let j = 0; j < 2 * n; j++) m[c]![j]! /= piv;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]!;
      for (let j = 0; j < 2 * n; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  return m.map((row) => row.slice(n));
}

/** A one-feature (diatomic) rbf model on XS with targets sin(3x), weights solved densely. */
function oneDimensionalModel(): { model: GpModel; Kinv: number[][] } {
  const n = XS.length;
  const Kmat = XS.map((a, i) => XS.map((b, j) => k(a, b) + (i === j ? NOISE : 0)));
  const Kinv = inverse(Kmat);
  const y = XS.map((x) => Math.sin(3 * x));
  const w = Kinv.map((row) => row.reduce((s, v, j) => s + v * y[j]!, 0));
  const model: GpModel = {
    metadata: [`noise ${NOISE}`],
    systemName: 'TEST',
    atom: 'H1',
    property: 'iqa',
    alf: [1, 2],
    nAtoms: 2,
    nFeatures: 1,
    nTrain: n,
    mean: { type: 'zero' },
    kernels: [{ name: 'k1', type: 'rbf', activeDims: [1], theta: [THETA], extra: [] }],
    compositionText: 'k1',
    composition: parseComposition('k1'),
    trainingDataInfo: [],
    trainX: Float64Array.from(XS),
    trainY: Float64Array.from(y),
    weights: Float64Array.from(w),
    extraSections: [],
  };
  return { model, Kinv };
}

test('predictive variance: ≈ σ² at the training points, → k(x,x) = 1 far away, monotone away from the data', () => {
  const { model } = oneDimensionalModel();
  const gp = new AtomGp(model, 4);
  assert.equal(gp.noiseVariance, NOISE, 'σ² from the # noise metadata');
  for (const x of XS) {
    const v = gp.kernelVariance(Float64Array.of(x));
    // s² = σ² (1 − σ² [(K+σ²I)⁻¹]_jj) ≤ σ² at a training input.
    assert.ok(v >= 0 && v <= NOISE * 1.0001, `s²(${x}) = ${v}`);
  }
  assert.ok(Math.abs(gp.kernelVariance(Float64Array.of(12)) - 1) < 1e-15);
  assert.ok(Math.abs(gp.kernelVariance(Float64Array.of(-9)) - 1) < 1e-15);
  let prev = gp.kernelVariance(Float64Array.of(2.2));
  for (let x = 2.3; x < 5; x += 0.1) {
    const v = gp.kernelVariance(Float64Array.of(x));
    assert.ok(v > prev, `s² grows leaving the data: s²(${x.toFixed(1)}) = ${v} after ${prev}`);
    prev = v;
  }
  // Between training points it is positive but far below the prior.
  const mid = gp.kernelVariance(Float64Array.of(1.45));
  assert.ok(mid > NOISE && mid < 1e-3, `mid-gap s² = ${mid}`);
});

test('predictive variance matches a direct dense computation and scales with σ_f²', () => {
  const { model, Kinv } = oneDimensionalModel();
  const gp = new AtomGp(model, 4);
  for (const x of [0.2, 0.97, 1.45, 1.77, 2.5, 3.1]) {
    const ks = XS.map((b) => k(x, b));
    let q = 0;
    for (let i = 0; i < XS.length; i++) for (let j = 0; j < XS.length; j++) q += ks[i]! * Kinv[i]![j]! * ks[j]!;
    const direct = 1 - q;
    const v = gp.kernelVariance(Float64Array.of(x));
    assert.ok(Math.abs(v - direct) < 1e-9 * Math.max(direct, 1e-6), `x = ${x}: ${v} vs dense ${direct}`);
  }
  // Default σ_f² is the profiled (y − m)ᵀ w / n; variance = σ_f² × kernel variance; std = √variance.
  let yw = 0;
  for (let j = 0; j < model.nTrain; j++) yw += model.trainY[j]! * model.weights[j]!;
  assert.ok(Math.abs(gp.signalVariance - yw / model.nTrain) < 1e-12 * gp.signalVariance);
  const x = Float64Array.of(2.9);
  assert.ok(Math.abs(gp.variance(x) - gp.signalVariance * gp.kernelVariance(x)) < 1e-15);
  assert.ok(Math.abs(gp.std(x) - Math.sqrt(gp.variance(x))) < 1e-15);
  const unit = new AtomGp(model, 4, { signalVariance: 1, noiseVariance: 1e-6 });
  assert.equal(unit.signalVariance, 1);
  assert.ok(unit.variance(Float64Array.of(XS[0]!)) <= 1e-6 * 1.0001);
});

test('GpPotential.atomicStdHa: small at a training geometry, near σ_f far from the data', () => {
  const mol = syntheticMolecule({ nAtoms: 4, nTrain: 30, seed: 9, kernel: 'rbf*periodic', mean: 'constant', displacementA: 0.05 });
  const pot = new GpPotential({ systemName: 'SYN', models: mol.models, symbols: mol.symbols, periodicPrefactors: mol.models.map(() => 4) });
  const near = pot.atomicStdHa(mol.positionsA, new Float64Array(4));
  const far = pot.atomicStdHa(
    mol.positionsA.map((v, i) => v * (1 + 0.8 * (i % 3 === 0 ? 1 : 0)) + 0.7 * Math.sin(i)),
    new Float64Array(4),
  );
  for (let a = 0; a < 4; a++) {
    const sf = Math.sqrt(pot.atomModels[a]!.signalVariance);
    assert.ok(near[a]! < 0.2 * sf, `atom ${a}: near ${near[a]} vs σ_f ${sf}`);
    assert.ok(far[a]! > near[a]! && far[a]! <= sf * (1 + 1e-12), `atom ${a}: far ${far[a]} near ${near[a]} σ_f ${sf}`);
  }
});
