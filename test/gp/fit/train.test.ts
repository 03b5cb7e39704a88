import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LikelihoodEvaluator } from '../../../src/gp/fit/likelihood.js';
import { choleskyInPlace } from '../../../src/math/linalg.js';
import type { GpModel } from '../../../src/gp/model/model.js';
import { OffsetLog, trainAtomModel } from '../../../src/gp/fit/train.js';
import { predictRows, validateModel } from '../../../src/gp/assess/validate.js';
import { readPropertyCsv } from '../../../src/io/csv.js';
import { readModel, writeModel } from '../../../src/io/model.js';
import { Rng } from '../../../src/util/rng.js';
import { sharedData } from '../../helpers/data.js';

test('training on a sample of a known GP recovers its lengthscales within sampling error', () => {
  // y ~ GP(0, exp(−0.5 Δ1² − 3 Δ2²)) on 250 points in [0, 4]², drawn by Cholesky of K.
  const thetaTrue = [0.5, 3];
  const rng = new Rng(11);
  const n = 250;
  const x = Float64Array.from({ length: 2 * n }, () => rng.uniformIn(0, 4));
  const k = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b <= a; b++) {
      const v = Math.exp(-thetaTrue[0]! * (x[2 * a]! - x[2 * b]!) ** 2 - thetaTrue[1]! * (x[2 * a + 1]! - x[2 * b + 1]!) ** 2);
      k[a * n + b] = v + (a === b ? 1e-8 : 0);
    }
  }
  assert.equal(choleskyInPlace(k, n), 0);
  const z = Float64Array.from({ length: n }, () => rng.normal());
  const y = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    let s = 0;
    for (let b = 0; b <= a; b++) s += k[a * n + b]! * z[b]!;
    y[a] = s;
  }
  const r = trainAtomModel({ x, y, nFeatures: 2, kernel: 'rbf', prior: 'zero', noise: 1e-8, restarts: 2, seed: 5 });
  for (let d = 0; d < 2; d++) {
    const ratio = r.theta[d]! / thetaTrue[d]!;
    assert.ok(ratio > 0.6 && ratio < 1.6, `θ_${d + 1} = ${r.theta[d]} vs generating ${thetaTrue[d]}`);
  }
});

test('polish: a feature the data do not depend on leaves the θ floor (θ·var = 2.5e-8) for ~0, and the likelihood rises', () => {
  // y depends on x1 and x2 only; x3 is noise in [0, 4]. The optimum wants θ₃ → 0.
  const rng = new Rng(3);
  const n = 120;
  const x = Float64Array.from({ length: 3 * n }, () => rng.uniformIn(0, 4));
  const y = Float64Array.from({ length: n }, (_, a) => Math.sin(x[3 * a]!) + 0.3 * Math.cos(2 * x[3 * a + 1]!));
  const input = { x, y, nFeatures: 3, kernel: 'rbf' as const, prior: 'mean', noise: 1e-8, restarts: 2, seed: 4 };
  const plain = trainAtomModel({ ...input, polishThetaMin: 0 });
  const polished = trainAtomModel(input);
  let m = 0;
  let m2 = 0;
  for (let a = 0; a < n; a++) {
    m += x[3 * a + 2]! / n;
    m2 += x[3 * a + 2]! ** 2 / n;
  }
  const floor = 2.5e-8 / (m2 - m * m);
  assert.ok(Math.abs(plain.theta[2]! / floor - 1) < 1e-9, `without polish θ₃ sits at the floor ${floor}: ${plain.theta[2]}`);
  assert.ok(polished.theta[2]! < floor / 100, `polished θ₃ = ${polished.theta[2]}`);
  assert.ok(polished.logLikelihood > plain.logLikelihood, `${polished.logLikelihood} vs ${plain.logLikelihood}`);
  assert.match(polished.model.metadata.join('\n'), /polish=1@2.5e-14\/var:\d+/);
  for (let d = 0; d < 2; d++) assert.ok(Math.abs(Math.log(polished.theta[d]! / plain.theta[d]!)) < 0.05, `θ_${d + 1} barely moves`);
});

test('switch-off trials: a feature the stopped search leans on is switched off, the search refined, and the higher optimum kept', () => {
  // y = sin(2u); x1 = u, x2 = u + noise: the optimum uses x1 alone. Started on x2 (θ₁ = 1e-3,
  // θ₂ = 1) and stopped after 8 iterations, the search still leans on x2.
  const rng = new Rng(1);
  const n = 120;
  const x = new Float64Array(2 * n);
  const y = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    const u = rng.uniformIn(0, 4);
    x[2 * a] = u;
    x[2 * a + 1] = u + 0.1 * rng.uniformIn(-1, 1);
    y[a] = Math.sin(2 * u);
  }
  const input = { x, y, nFeatures: 2, kernel: 'rbf' as const, prior: 'mean', noise: 1e-8, restarts: 1, seed: 1, initialTheta: [1e-3, 1], maxIterations: 8, polishIterations: 0 };
  const without = trainAtomModel({ ...input, switchOffTrials: 0 });
  const withTrials = trainAtomModel(input);
  assert.ok(without.theta[1]! > 1, `stopped search: θ₂ = ${without.theta[1]}`);
  assert.match(withTrials.model.metadata.join('\n'), /switch_off=1:theta2:\d+/);
  assert.ok(withTrials.theta[1]! < 1e-12, `θ₂ switched off: ${withTrials.theta[1]}`);
  assert.ok(withTrials.logLikelihood > without.logLikelihood + 100, `${withTrials.logLikelihood} vs ${without.logLikelihood}`);
  // The trials are optional work: with no budget left (estimated ms, a cost model) none runs.
  const noBudget = trainAtomModel({ ...input, budgetMs: 1 });
  assert.doesNotMatch(noBudget.model.metadata.join('\n'), /switch_off=/);
  assert.equal(noBudget.logLikelihood, without.logLikelihood);
  // The full search from the data guess reaches the same optimum, where no trial helps.
  const full = trainAtomModel({ x, y, nFeatures: 2, kernel: 'rbf', prior: 'mean', noise: 1e-8, restarts: 1, seed: 1 });
  assert.match(full.model.metadata.join('\n'), /switch_off=\d+:none:/);
  assert.ok(Math.abs(full.logLikelihood - withTrials.logLikelihood) < 1e-3, `${full.logLikelihood} vs ${withTrials.logLikelihood}`);
});

test('a feature constant over the training set stays switched off: moving it changes predictions little', () => {
  const rng = new Rng(7);
  const n = 100;
  const x = new Float64Array(3 * n);
  const x2 = new Float64Array(2 * n);
  const y = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    x2[2 * a] = x[3 * a] = rng.uniformIn(0, 3);
    x2[2 * a + 1] = x[3 * a + 1] = rng.uniformIn(0, 3);
    x[3 * a + 2] = 1.7;
    y[a] = Math.sin(x[3 * a]!) * Math.cos(0.7 * x[3 * a + 1]!);
  }
  const r = trainAtomModel({ x, y, nFeatures: 3, kernel: 'rbf', prior: 'mean', noise: 1e-8, seed: 2 });
  const without = trainAtomModel({ x: x2, y, nFeatures: 2, kernel: 'rbf', prior: 'mean', noise: 1e-8, seed: 2 });
  // At its floor θ·var = 2.5e-8 with var taken as 1e-6 (the smallest scale): θ₃ = 0.025.
  assert.ok(Math.abs(r.theta[2]! / 0.025 - 1) < 1e-9, `θ₃ = ${r.theta[2]}`);
  assert.ok(Math.abs(r.logLikelihood - without.logLikelihood) < 1e-3 * Math.abs(without.logLikelihood), `${r.logLikelihood} vs ${without.logLikelihood}`);
  // Points inside the data with the constant feature moved by 0.5 (rad or bohr): the prediction
  // stays within 0.01 (1 % of y's range) of the model that never saw the feature. With the old
  // start θ₃ = 1e3 every kernel value fell by e^−250 and the prediction to the mean.
  const m = 8;
  const xs = new Float64Array(3 * m);
  const xs2 = new Float64Array(2 * m);
  for (let a = 0; a < m; a++) {
    xs2[2 * a] = xs[3 * a] = 0.3 + 0.3 * a;
    xs2[2 * a + 1] = xs[3 * a + 1] = 2.5 - 0.25 * a;
    xs[3 * a + 2] = 1.7 + 0.5;
  }
  const p = predictRows(r.model, xs, m);
  const q = predictRows(without.model, xs2, m);
  for (let a = 0; a < m; a++) assert.ok(Math.abs(p[a]! - q[a]!) < 0.01, `point ${a}: ${p[a]} vs ${q[a]}`);
});

test('training is deterministic for a seed, and a trained model written, read back and predicted gives identical numbers', () => {
  const rng = new Rng(2);
  const n = 30;
  const x = Float64Array.from({ length: 3 * n }, (_, i) => (i % 3 === 2 ? rng.uniformIn(-Math.PI, Math.PI) : rng.uniformIn(1.5, 2.5)));
  const y = Float64Array.from({ length: n }, (_, i) => -0.5 + 0.1 * Math.cos(x[3 * i + 2]!) + 0.05 * x[3 * i]! * x[3 * i + 1]!);
  const input = { x, y, nFeatures: 3, kernel: 'rbf-cyclic' as const, prior: 'max', restarts: 2, seed: 9, systemName: 'TEST', atom: 'O1', alf: [1, 2, 3], nAtoms: 3 };
  const a = trainAtomModel(input);
  const b = trainAtomModel(input);
  assert.deepEqual(Array.from(a.theta), Array.from(b.theta));
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-train-'));
  try {
    const path = join(dir, 'TEST_iqa_O1.model');
    writeModel(path, a.model);
    const back = readModel(path);
    const probe = Float64Array.from({ length: 3 * 7 }, (_, i) => (i % 3 === 2 ? rng.uniformIn(-3, 3) : rng.uniformIn(1.4, 2.6)));
    const p1 = predictRows(a.model, probe, 7);
    const p2 = predictRows(back, probe, 7);
    assert.deepEqual(Array.from(p2), Array.from(p1));
    assert.ok(back.metadata.some((m) => m.startsWith('program atomgp')));
    assert.ok(back.metadata.includes('prior_mean max'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const water = sharedData('ferebus-benchmark/water');

/** Our objective at the θ (and constant mean) of a FEREBUS model, nugget 1e-10. */
function objectiveAt(ts: { x: Float64Array; y: Float64Array; n: number; nFeatures: number }, m: GpModel, kind: 'marginal' | 'concentrated'): number {
  const K = ts.nFeatures;
  const mean = m.mean.type === 'constant' ? m.mean.value : 0;
  return new LikelihoodEvaluator({
    x: ts.x, y: ts.y, n: ts.n, nFeatures: K,
    terms: { dim: Int32Array.from({ length: K }, (_, i) => i), kind: new Uint8Array(K) },
    prefactor: new Float64Array(K).fill(1), kind, meanValues: new Float64Array(ts.n).fill(mean),
    glsConstantMean: kind === 'concentrated', noise: 1e-10, optimiseNoise: false,
  }).evaluateTheta(m.kernels[0]!.theta).value;
}
test('water O1: likelihood ≥ FEREBUS-v7 and validation MAE ≤ FEREBUS-v7 (marginal, constant mean, rbf)', { skip: !water }, () => {
  const ts = readPropertyCsv(join(water!, 'WATER_O1_TRAINING_SET.csv'));
  const vs = readPropertyCsv(join(water!, 'WATER_O1_VALIDATION_SET.csv'));
  const ferebus = readModel(join(water!, 'marginal', 'WATER_iqa_O1.model'));
  const r = trainAtomModel({ x: ts.x, y: ts.y, nFeatures: ts.nFeatures, kernel: 'rbf', prior: 'mean', likelihood: 'marginal', restarts: 3, seed: 1 });
  // Like with like: our optimum against our objective at FEREBUS's θ. The kernel matrix is so
  // ill-conditioned (weights ~1e5) that the objective itself is only defined to ~2e-5 here: at
  // FEREBUS's θ its file says 348.9145664, our unblocked JS code gave 348.9145463 and the blocked
  // / SIMD code 348.9145533 (summation order only).
  const atTheirs = objectiveAt(ts, ferebus, 'marginal');
  assert.ok(r.logLikelihood >= atTheirs - 1e-9, `ours ${r.logLikelihood} vs ours at FEREBUS θ ${atTheirs}`);
  assert.ok(r.logLikelihood >= 348.9145663746718 - 5e-5, `ours ${r.logLikelihood}`);
  const ours = validateModel(r.model, vs.x, vs.y);
  const theirs = validateModel(ferebus, vs.x, vs.y);
  assert.equal(ours.n, 500);
  assert.ok(ours.mae_Ha <= theirs.mae_Ha * (1 + 1e-3), `MAE ours ${ours.mae_Ha} vs FEREBUS ${theirs.mae_Ha}`);
});

const glycine = sharedData('ferebus-benchmark/glycine');
test("glycine C1 (2130 × 51): L-BFGS-B started at FEREBUS-v7's θ climbs above FEREBUS's own optimum 12335.25", { skip: !glycine }, () => {
  const ts = readPropertyCsv(join(glycine!, 'GLYCINE_C1_TRAINING_SET.csv'));
  const vs = readPropertyCsv(join(glycine!, 'GLYCINE_C1_VALIDATION_SET.csv'), { rejectDuplicates: false });
  const ferebus = readModel(join(glycine!, 'marginal', 'GLYCINE_iqa_C1.model'));
  const atTheirs = objectiveAt(ts, ferebus, 'marginal');
  assert.ok(Math.abs(atTheirs - 12335.25) < 0.01, `our objective at FEREBUS's θ: ${atTheirs} (its file: 12335.25)`);
  // Full set from the start (no subsets); bounds from 1e-9 so that FEREBUS's θ (two of them at
  // 4.7e-7, below the default floor of 1e-6) are feasible.
  const r = trainAtomModel({
    x: ts.x, y: ts.y, nFeatures: ts.nFeatures, kernel: 'rbf', prior: 'mean', likelihood: 'marginal',
    restarts: 1, subsample: 0, initialTheta: ferebus.kernels[0]!.theta, maxIterations: 6, thetaBounds: [1e-9, 1e3],
  });
  // Their swarm had converged: a few steps gain ~5e-4, far above the objective's rounding (~1e-8).
  assert.ok(r.logLikelihood > atTheirs + 1e-4, `ours ${r.logLikelihood} vs FEREBUS ${atTheirs}`);
  const ours = validateModel(r.model, vs.x, vs.y);
  const theirs = validateModel(ferebus, vs.x, vs.y);
  assert.ok(Math.abs(ours.mae_Ha / theirs.mae_Ha - 1) < 0.02, `MAE ours ${ours.mae_Ha} vs FEREBUS ${theirs.mae_Ha}`);
});

test('water O1 concentrated (GLS mean as FEREBUS): likelihood ≥ FEREBUS-v7 453.36', { skip: !water }, () => {
  const ts = readPropertyCsv(join(water!, 'WATER_O1_TRAINING_SET.csv'));
  const r = trainAtomModel({ x: ts.x, y: ts.y, nFeatures: 3, kernel: 'rbf', prior: 'mean', likelihood: 'concentrated', glsConstantMean: true, restarts: 3, seed: 1 });
  const atTheirs = objectiveAt(ts, readModel(join(water!, 'concentrated', 'WATER_iqa_O1.model')), 'concentrated');
  assert.ok(r.logLikelihood >= atTheirs - 1e-9, `ours ${r.logLikelihood} vs ours at FEREBUS θ ${atTheirs}`);
  assert.ok(r.logLikelihood >= 453.3619290147578 - 5e-5, `ours ${r.logLikelihood}`);
});

test('log(θ + θ₀) coordinates: round trip to log θ, gradient by the chain rule equals finite differences, extra parameters untouched', () => {
  const off = new OffsetLog(3, 1e-4);
  const phi = Float64Array.from([Math.log(1e-6), Math.log(3e-3), Math.log(0.7), Math.log(1e-9)]);
  const u = off.toU(phi);
  assert.ok(Math.abs(u[0]! - Math.log(1.01e-4)) < 1e-12, `u0 ${u[0]}`);
  assert.equal(u[3], phi[3]);
  const back = off.fromU(u);
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(back[i]! - phi[i]!) < 1e-9 * Math.abs(phi[i]!), `φ${i} ${back[i]} vs ${phi[i]}`);
  // f(φ) = Σ c_i θ_i + ½ Σ θ_i² with θ = e^φ (any smooth function of θ will do), gradient in φ.
  const c = [-3, 2, 0.5, 7];
  const f = (p: Float64Array, g: Float64Array) => {
    let v = 0;
    for (let i = 0; i < p.length; i++) {
      const t = Math.exp(p[i]!);
      v += c[i]! * t + 0.5 * t * t;
      g[i] = (c[i]! + t) * t;
    }
    return v;
  };
  const fu = off.objective(f, 4);
  const g = new Float64Array(4);
  const value = fu(u, g);
  assert.ok(Math.abs(value - f(phi, new Float64Array(4))) < 1e-15);
  for (let i = 0; i < 4; i++) {
    const h = 1e-6;
    const up = u.slice();
    const dn = u.slice();
    up[i] = up[i]! + h;
    dn[i] = dn[i]! - h;
    const fd = (fu(up, new Float64Array(4)) - fu(dn, new Float64Array(4))) / (2 * h);
    assert.ok(Math.abs(fd - g[i]!) < 1e-6 * Math.max(1, Math.abs(g[i]!)), `∂f/∂u${i}: analytic ${g[i]} vs finite difference ${fd}`);
  }
  // At the θ floor the log θ gradient is θ ∂f/∂θ = −3e-6; in u it is (θ + θ₀) ∂f/∂θ ≈ −3e-4.
  assert.ok(Math.abs(g[0]! - (c[0]! + 1e-6) * 1.01e-4) < 1e-12, `g0 ${g[0]}`);
  assert.throws(() => new OffsetLog(2, -1), /θ offset must be a number ≥ 0/);
  // One θ₀ per term (the default scales θ₀ by 1/var): each term uses its own.
  const perTerm = new OffsetLog(3, [1e-4, 1e-2, 0]);
  const uPer = perTerm.toU(phi);
  assert.ok(Math.abs(uPer[1]! - Math.log(3e-3 + 1e-2)) < 1e-12, `u1 ${uPer[1]}`);
  assert.ok(Math.abs(uPer[2]! - phi[2]!) < 1e-15, 'θ₀ = 0 is plain log θ');
  const backPer = perTerm.fromU(uPer);
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(backPer[i]! - phi[i]!) < 1e-9 * Math.abs(phi[i]!), `φ${i} ${backPer[i]} vs ${phi[i]}`);
  assert.throws(() => new OffsetLog(3, [1e-4, 1e-4]), /θ offset: 2 values for 3 kernel terms/);
});

test("glycine C1 concentrated (2130 × 51, GLS mean): training reaches FEREBUS-v7's own optimum 15881.46 within 0.005", { skip: !glycine }, () => {
  const ts = readPropertyCsv(join(glycine!, 'GLYCINE_C1_TRAINING_SET.csv'));
  const vs = readPropertyCsv(join(glycine!, 'GLYCINE_C1_VALIDATION_SET.csv'), { rejectDuplicates: false });
  const ferebus = readModel(join(glycine!, 'concentrated', 'GLYCINE_iqa_C1.model'));
  const atTheirs = objectiveAt(ts, ferebus, 'concentrated');
  assert.ok(Math.abs(atTheirs - 15881.46) < 0.01, `our objective at FEREBUS's θ: ${atTheirs}`);
  const input = { x: ts.x, y: ts.y, nFeatures: ts.nFeatures, kernel: 'rbf' as const, prior: 'mean', likelihood: 'concentrated' as const, glsConstantMean: true, seed: 1 };
  const r = trainAtomModel(input);
  // One full-set start from the data guess, refined in log(θ + θ₀), ends with 3 features at the
  // θ floor; the polish below it reaches 15881.459.
  assert.ok(r.logLikelihood > atTheirs - 0.005, `ours ${r.logLikelihood} vs FEREBUS ${atTheirs}`);
  assert.match(r.model.metadata.join('\n'), /search=full starts=1 polish=3@2.5e-14\/var/);
  // FEREBUS's concentrated file is inconsistent (its MAE is 149 kJ/mol); its marginal model: 0.6711.
  const mae = validateModel(r.model, vs.x, vs.y).mae_Ha * 2625.4996;
  assert.ok(mae < 0.66, `MAE ${mae} kJ/mol`);
});
