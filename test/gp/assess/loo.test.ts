import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { leaveOneOutResiduals } from '../../../src/gp/assess/loo.js';
import { trainAtomModel } from '../../../src/gp/fit/train.js';
import { predictRows } from '../../../src/gp/predict/rows.js';
import { readModelSet } from '../../../src/io/modelset.js';
import { writeTinyWaterModels } from '../../workflows/robustness/water-models.js';

const root = mkdtempSync(join(tmpdir(), 'atomgp-loo-'));
after(() => rmSync(root, { recursive: true, force: true }));
const models = join(root, 'models');
writeTinyWaterModels(models, 20, 0.03);

test('leave-one-out residuals equal y_i minus the prediction of the GP refit without point i (same θ, σ² and mean)', () => {
  const set = readModelSet(models, { check: true });
  for (const m of set.models) {
    const loo = leaveOneOutResiduals(m, 4);
    const n = m.nTrain;
    const theta = m.kernels[0]!.theta;
    for (const i of [0, 5, 7, n - 1]) {
      const keep = [...Array(n).keys()].filter((k) => k !== i);
      const x = new Float64Array(keep.length * 3);
      keep.forEach((k, r) => {
        x.set(m.trainX.subarray(3 * k, 3 * k + 3), 3 * r);
      });
      const y = Float64Array.from(keep, (k) => m.trainY[k]!);
      const sub = trainAtomModel({ x, y, nFeatures: 3, kernel: 'rbf', meanSpec: m.mean, fixedHyperparameters: { theta, noise: 1e-10 } }).model;
      const direct = m.trainY[i]! - predictRows(sub, m.trainX.subarray(3 * i, 3 * i + 3), 1)[0]!;
      assert.ok(Math.abs(loo[i]! - direct) < 1e-6 * Math.max(1e-4, Math.abs(direct)) + 1e-9, `${m.atom} point ${i}: LOO ${loo[i]} vs refit ${direct}`);
    }
  }
});
