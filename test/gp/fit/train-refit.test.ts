import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AtomgpError } from '../../../src/errors.js';
import { evaluateMeanRows } from '../../../src/gp/model/mean.js';
import { readCheckedModel } from '../../../src/io/modelset.js';
import { refitFromModel, trainAtomModel } from '../../../src/gp/fit/train.js';
import { readModelForRefit } from '../../../src/io/modelset.js';
import { predictRows } from '../../../src/gp/assess/validate.js';
import { readModel, writeModel } from '../../../src/io/model.js';
import { readPropertyCsv } from '../../../src/io/csv.js';
import { sharedData } from '../../helpers/data.js';

const water = sharedData('ferebus-benchmark/water');

function trainedWaterO1() {
  const ts = readPropertyCsv(join(water!, 'WATER_O1_TRAINING_SET.csv'));
  return trainAtomModel({ x: ts.x, y: ts.y, nFeatures: 3, kernel: 'rbf', prior: 'mean', restarts: 2, seed: 1, systemName: 'WATER', atom: 'O1', alf: [1, 2, 3], nAtoms: 3 });
}

test('refit with kept hyperparameters and the same prior reproduces the weights of a written and re-read model', { skip: !water }, () => {
  const a = trainedWaterO1();
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-refit-'));
  try {
    const path = join(dir, 'WATER_iqa_O1.model');
    writeModel(path, a.model);
    const back = readModel(path);
    for (const r of [refitFromModel(back, { keepHyperparameters: true }), refitFromModel(back, { keepHyperparameters: true, prior: 'mean' })]) {
      assert.equal(r.evaluations, 1);
      assert.deepEqual(r.theta, a.theta);
      let maxRel = 0;
      for (let i = 0; i < a.model.weights.length; i++) {
        maxRel = Math.max(maxRel, Math.abs(r.model.weights[i]! - a.model.weights[i]!) / Math.abs(a.model.weights[i]!));
      }
      assert.ok(maxRel <= 1e-8, `max relative weight change ${maxRel}`);
      assert.ok(Math.abs(r.logLikelihood - a.logLikelihood) < 1e-9 * Math.abs(a.logLikelihood));
      assert.ok(r.model.metadata.some((m) => m.startsWith('refit_from') && m.includes('hyperparameters_kept')));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('refit under a new prior (shift:0.05, kept θ) interpolates the training targets and passes the consistency check on load', { skip: !water }, () => {
  const a = trainedWaterO1();
  const r = refitFromModel(a.model, { keepHyperparameters: true, prior: 'shift:0.05' });
  const m = r.model;
  assert.equal(m.mean.type, 'constant');
  let yMax = Number.NEGATIVE_INFINITY;
  for (const v of m.trainY) yMax = Math.max(yMax, v);
  assert.ok(m.mean.type === 'constant' && Math.abs(m.mean.value - (yMax + 0.05)) < 1e-15);
  // Posterior mean at the training points: y − σ² w exactly, so within σ²·|w| of the targets.
  const pred = predictRows(m, m.trainX, m.nTrain);
  let maxDev = 0;
  let maxErr = 0;
  for (let i = 0; i < m.nTrain; i++) {
    maxDev = Math.max(maxDev, Math.abs(pred[i]! - (m.trainY[i]! - 1e-10 * m.weights[i]!)));
    maxErr = Math.max(maxErr, Math.abs(pred[i]! - m.trainY[i]!));
  }
  assert.ok(maxDev < 1e-7, `deviation from y − σ²w: ${maxDev} Ha`);
  assert.ok(maxErr < 2e-5, `max |E(x_i) − y_i| = ${maxErr} Ha`);
  // Far from the data the prediction is the new prior: 0.05 Ha above the highest training energy.
  const far = Float64Array.of(30, 30, 3);
  assert.ok(Math.abs(predictRows(m, far, 1)[0]! - (yMax + 0.05)) < 1e-12);
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-refit-'));
  try {
    const path = join(dir, 'WATER_iqa_O1.model');
    writeModel(path, m);
    const checked = readCheckedModel(path);
    assert.equal(checked.check!.verdict, 'consistent');
    assert.ok(checked.check!.relativeResidualFittedNoise < 1e-6, checked.check!.summary);
    assert.ok(checked.model.metadata.includes('prior_mean shift:0.05'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('refit with re-optimised θ (the default) matches training from scratch with that prior, and beats kept θ', { skip: !water }, () => {
  const a = trainedWaterO1();
  const ts = readPropertyCsv(join(water!, 'WATER_O1_TRAINING_SET.csv'));
  const scratch = trainAtomModel({ x: ts.x, y: ts.y, nFeatures: 3, kernel: 'rbf', prior: 'min', restarts: 2, seed: 1 });
  const refit = refitFromModel(a.model, { prior: 'min', restarts: 2, seed: 1 });
  const kept = refitFromModel(a.model, { prior: 'min', keepHyperparameters: true });
  assert.ok(Math.abs(refit.logLikelihood - scratch.logLikelihood) < 1e-4, `refit ${refit.logLikelihood} vs scratch ${scratch.logLikelihood}`);
  assert.ok(refit.logLikelihood >= kept.logLikelihood - 1e-9, `re-optimised ${refit.logLikelihood} vs kept ${kept.logLikelihood}`);
  assert.equal(refit.prior, 'min');
  // The mean is min(y) of the embedded training data.
  const mean = evaluateMeanRows(refit.model.mean, a.model.trainX, 1, 3)[0]!;
  assert.equal(mean, Math.min(...a.model.trainY));
});

test('a model without training data cannot be refit: AtomgpError naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomgp-refit-'));
  try {
    const src = readFileSync('examples/water-morse/WATER_iqa_O1.model', 'utf8');
    const path = join(dir, 'WATER_iqa_O1.model');
    // Drop the [training_data.x] block.
    writeFileSync(path, src.replace(/\[training_data\.x\][\s\S]*?(?=\n\[)/, ''));
    assert.throws(() => readModelForRefit(path), (e: unknown) => {
      assert.ok(e instanceof AtomgpError);
      assert.equal(e.message, `cannot refit: ${path} has no [training_data.x]`);
      return true;
    });
    const m = readModel('examples/water-morse/WATER_iqa_O1.model');
    assert.throws(() => refitFromModel({ ...m, nTrain: 0, trainX: new Float64Array(0), trainY: new Float64Array(0), source: 'X.model' }), /cannot refit: X\.model has no \[training_data\.x\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
