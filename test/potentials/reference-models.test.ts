/**
 * The GP potential on the real FFLUX data (../shared/data): interpolation of the training data,
 * agreement of the fast path with direct evaluation, and the physics of a stretched N–H bond.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { checkConsistency } from '../../src/gp/assess/consistency.js';
import { readModelSet } from '../../src/io/modelset.js';
import { AtomGp } from '../../src/gp/predict/predictor.js';
import { trainAtomModel } from '../../src/gp/fit/train.js';
import { readPropertyCsv } from '../../src/io/csv.js';
import { readModel } from '../../src/io/model.js';
import { GpPotential } from '../../src/potentials/gp.js';
import { createResult } from '../../src/potentials/potential.js';
import { sharedData } from '../helpers/data.js';

const ammonia = sharedData('ammonia/models');
const water = sharedData('water/training');
const bench = sharedData('ferebus-benchmark');

test('ammonia models reproduce their training targets within the fitted noise', { skip: !ammonia }, () => {
  const set = readModelSet(ammonia!, { check: true });
  for (const [a, model] of set.models.entries()) {
    const gp = new AtomGp(model, set.periodicPrefactors[a]!);
    const sigma2 = checkConsistency(model).fittedNoise;
    const K = model.nFeatures;
    let maxErr = 0;
    let maxBound = 0;
    for (let i = 0; i < model.nTrain; i++) {
      const e = gp.predict(model.trainX.subarray(i * K, (i + 1) * K));
      // Posterior mean at a training input: y_i − σ² w_i.
      maxErr = Math.max(maxErr, Math.abs(e - model.trainY[i]!));
      maxBound = Math.max(maxBound, Math.abs(sigma2 * model.weights[i]!));
    }
    assert.ok(maxErr <= 2 * maxBound + 1e-7, `${model.atom}: max |E(x_i) − y_i| = ${maxErr} Ha, σ²|w| up to ${maxBound}`);
    assert.ok(maxErr < 2e-4, `${model.atom}: max |E(x_i) − y_i| = ${maxErr} Ha`);
  }
});

test('water models trained on the water sets interpolate their training data', { skip: !water }, () => {
  const alfs: Record<string, number[]> = { O1: [1, 2, 3], H2: [2, 1, 3], H3: [3, 1, 2] };
  for (const atom of ['O1', 'H2', 'H3']) {
    const csv = readPropertyCsv(join(water!, `WATER_${atom}_TRAINING_SET.csv`), { property: 'iqa' });
    const { model } = trainAtomModel({
      x: csv.x,
      y: csv.y,
      nFeatures: csv.nFeatures,
      kernel: 'rbf',
      prior: 'mean',
      restarts: 1,
      seed: 1,
      systemName: 'WATER',
      atom,
      alf: alfs[atom]!,
      nAtoms: 3,
    });
    const gp = new AtomGp(model, 4);
    // With noise σ² = 1e-10 the posterior mean at x_i is y_i − σ² w_i; weights reach ~1e5 on these
    // small, smooth sets, so |E − y| is up to ~1e-5 Ha while E − (y − σ² w) is at rounding level.
    let maxErr = 0;
    let maxExact = 0;
    for (let i = 0; i < model.nTrain; i++) {
      const e = gp.predict(model.trainX.subarray(3 * i, 3 * i + 3));
      maxErr = Math.max(maxErr, Math.abs(e - model.trainY[i]!));
      maxExact = Math.max(maxExact, Math.abs(e - (model.trainY[i]! - 1e-10 * model.weights[i]!)));
    }
    assert.ok(maxExact < 1e-8, `${atom}: max |E(x_i) − (y_i − σ² w_i)| = ${maxExact} Ha`);
    assert.ok(maxErr < 1e-4, `${atom}: max |E(x_i) − y_i| = ${maxErr} Ha`);
  }
});

test('fast path agrees with direct kernel evaluation on FEREBUS models (|ΔE| < 1e-9 Ha)', { skip: !bench }, () => {
  for (const f of ['water/marginal/WATER_iqa_O1.model', 'methanol/marginal/METHANOL_iqa_C1.model']) {
    const model = readModel(join(bench!, f));
    const gp = new AtomGp(model, 4);
    const K = model.nFeatures;
    const g1 = new Float64Array(K);
    const g2 = new Float64Array(K);
    for (let t = 0; t < 10; t++) {
      const x = model.trainX.slice(t * K, (t + 1) * K).map((v, i) => v + 0.02 * Math.sin(i + t));
      const d = Math.abs(gp.predict(x, g1) - gp.predictGeneric(x, g2));
      assert.ok(d < 1e-9, `${f}: |fast − direct| = ${d} Ha`);
      for (let k = 0; k < K; k++) assert.ok(Math.abs(g1[k]! - g2[k]!) < 1e-7 * Math.max(1, Math.abs(g2[k]!)), `${f}: gradient ${k}`);
    }
  }
});

test('ammonia: energy rises when an N–H bond is stretched from the relaxed geometry', { skip: !ammonia }, () => {
  const set = readModelSet(ammonia!, { check: true });
  const pot = new GpPotential({ systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors });
  const out = createResult(4);
  const x = Float64Array.from([0, 0, 0.1162, 0, 0.9377, -0.2711, 0.8121, -0.4689, -0.2711, -0.8121, -0.4689, -0.2711]);
  // Steepest descent to the model's minimum (step in Å per Ha/bohr).
  let fmax = Infinity;
  for (let it = 0; it < 4000 && fmax > 2e-5; it++) {
    pot.compute(x, out);
    fmax = 0;
    for (let i = 0; i < 12; i++) {
      fmax = Math.max(fmax, Math.abs(out.forcesHaPerBohr[i]!));
      x[i] = x[i]! + 0.3 * out.forcesHaPerBohr[i]!;
    }
  }
  assert.ok(fmax < 2e-5, `relaxed: max force ${fmax} Ha/bohr`);
  const nh = [x[3]! - x[0]!, x[4]! - x[1]!, x[5]! - x[2]!];
  const r0 = Math.hypot(nh[0]!, nh[1]!, nh[2]!);
  assert.ok(r0 > 0.95 && r0 < 1.07, `relaxed N–H = ${r0} Å`);
  const energies: number[] = [];
  const radial: number[] = [];
  for (const dr of [0, 0.05, 0.1, 0.15, 0.2]) {
    const p = Float64Array.from(x);
    for (let c = 0; c < 3; c++) p[3 + c] = x[c]! + (nh[c]! * (r0 + dr)) / r0;
    pot.compute(p, out);
    energies.push(out.energyHa);
    // Force on H2 along the N→H2 direction: negative means it pulls the bond back.
    radial.push((out.forcesHaPerBohr[3]! * nh[0]! + out.forcesHaPerBohr[4]! * nh[1]! + out.forcesHaPerBohr[5]! * nh[2]!) / r0);
  }
  for (let k = 1; k < energies.length; k++) {
    assert.ok(energies[k]! > energies[k - 1]!, `E(${k}) = ${energies[k]} should exceed E(${k - 1}) = ${energies[k - 1]}`);
    assert.ok(radial[k]! < 0, `stretched by ${0.05 * k} Å: radial force on H ${radial[k]} Ha/bohr should restore the bond`);
  }
});
