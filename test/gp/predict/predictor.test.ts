import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AtomGp } from '../../../src/gp/predict/predictor.js';
import { syntheticMolecule, type SyntheticKernel, type SyntheticMean } from '../../../src/gp/model/synthetic.js';

const KERNELS: SyntheticKernel[] = ['rbf', 'rbf-cyclic', 'rbf*periodic', 'rbf+periodic', 'rbf-cyclic*periodic'];
const MEANS: SyntheticMean[] = ['zero', 'constant', 'linear', 'quadratic'];

test('fast path equals the general kernel tree for every kernel type and mean', () => {
  for (const kernel of KERNELS) {
    for (const prefactor of [2, 4] as const) {
      const mol = syntheticMolecule({ nAtoms: 5, nTrain: 40, seed: 7, kernel, mean: 'linear' });
      for (const model of mol.models) {
        const gp = new AtomGp(model, prefactor);
        const K = model.nFeatures;
        const x = model.trainX.slice(3 * K, 4 * K).map((v, i) => v + 0.05 * Math.sin(i + 1));
        const g1 = new Float64Array(K);
        const g2 = new Float64Array(K);
        const e1 = gp.predict(x, g1);
        const e2 = gp.predictGeneric(x, g2);
        assert.ok(Math.abs(e1 - e2) < 1e-12, `${kernel}: ${e1} vs ${e2}`);
        for (let d = 0; d < K; d++) assert.ok(Math.abs(g1[d]! - g2[d]!) < 1e-12, `${kernel} grad ${d}: ${g1[d]} vs ${g2[d]}`);
        assert.equal(gp.predict(x), e1, 'energy without gradient is the same number');
      }
    }
  }
});

test('∂E/∂x equals central finite differences for every kernel type and mean', () => {
  for (const kernel of KERNELS) {
    for (const mean of MEANS) {
      const mol = syntheticMolecule({ nAtoms: 4, nTrain: 30, seed: 3, kernel, mean });
      const model = mol.models[1]!;
      const gp = new AtomGp(model, 4);
      const K = model.nFeatures;
      const x = model.trainX.slice(0, K).map((v, i) => v + 0.1 * Math.cos(3 * i));
      // Put one azimuth near the ±π seam to test the wrapped difference.
      if (K >= 6) x[5] = Math.PI - 1e-3;
      const g = new Float64Array(K);
      gp.predict(x, g);
      const h = 1e-6;
      for (let d = 0; d < K; d++) {
        const xp = Float64Array.from(x);
        xp[d] = x[d]! + h;
        const xm = Float64Array.from(x);
        xm[d] = x[d]! - h;
        const fd = (gp.predict(xp) - gp.predict(xm)) / (2 * h);
        assert.ok(Math.abs(fd - g[d]!) < 1e-8 * Math.max(1, Math.abs(fd)), `${kernel}/${mean} d=${d}: FD ${fd} vs ${g[d]}`);
      }
    }
  }
});

test('rbf convention has no ½: k = exp(−θ Δ²)', () => {
  const mol = syntheticMolecule({ nAtoms: 3, nTrain: 1, seed: 1, kernel: 'rbf', mean: 'zero' });
  const model = mol.models[0]!;
  model.weights[0] = 1;
  const gp = new AtomGp(model, 4);
  const x = model.trainX.slice(0, 3);
  x[0] = x[0]! + 0.3;
  const expected = Math.exp(-model.kernels[0]!.theta[0]! * 0.09);
  assert.ok(Math.abs(gp.predict(x) - expected) < 1e-15);
});
