import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AtomGp } from '../../../src/gp/predict/predictor.js';
import { readModel } from '../../../src/io/model.js';
import { sharedData } from '../../helpers/data.js';
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

/** Training min and max of feature d. */
function range(model: { trainX: Float64Array; nTrain: number; nFeatures: number }, d: number): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < model.nTrain; j++) {
    const v = model.trainX[j * model.nFeatures + d]!;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return [lo, hi];
}

test('rbf-cyclic: wrapped features spanning ≤ π are square terms inside their window, the wrapped path outside it', () => {
  const mol = syntheticMolecule({ nAtoms: 6, nTrain: 150, seed: 5, kernel: 'rbf-cyclic', mean: 'linear', displacementA: 0.2 });
  let inside = 0;
  let outside = 0;
  for (const model of mol.models) {
    const K = model.nFeatures;
    // rbf-cyclic wraps every third active dimension (0-based 2, 5, 8, …).
    const wrapped = Array.from({ length: Math.floor(K / 3) }, (_, i) => 3 * i + 2).filter((d) => {
      const [lo, hi] = range(model, d);
      return lo >= -Math.PI && hi <= Math.PI && hi - lo <= Math.PI;
    });
    assert.ok(wrapped.length > 0, `${model.atom}: no squareable wrapped feature`);
    for (const backend of ['auto', 'ts'] as const) {
      const gp = new AtomGp(model, 4, { backend });
      const wrappedOnly = new AtomGp(model, 4, { backend, squareWrapped: false });
      const base = model.trainX.slice(7 * K, 8 * K).map((v, i) => v + 0.02 * Math.sin(i + 2));
      const d = wrapped[0]!;
      const [lo, hi] = range(model, d);
      const ulp = (v: number) => Math.abs(v) * 2 ** -52 + 1e-300;
      // Inside: the training point itself and both window edges; outside: just past each edge, and far.
      const cases: [number, boolean][] = [
        [base[d]!, true],
        [lo + Math.PI - 4 * ulp(lo + Math.PI), true],
        [hi - Math.PI + 4 * ulp(hi - Math.PI), true],
        [lo + Math.PI + 1e-9, false],
        [hi - Math.PI - 1e-9, false],
        [lo + Math.PI + 0.7, false],
        [hi - Math.PI - 0.7, false],
      ];
      for (const [v, expectInside] of cases) {
        if (Math.abs(v) > Math.PI) continue;
        const x = Float64Array.from(base);
        x[d] = v;
        assert.equal(gp.wrapFree(x), expectInside, `${model.atom} x${d + 1} = ${v}`);
        assert.equal(wrappedOnly.wrapFree(x), true, 'no squareable features when squareWrapped is off');
        const g1 = new Float64Array(K);
        const g2 = new Float64Array(K);
        const g3 = new Float64Array(K);
        const e1 = gp.predict(x, g1);
        const e2 = wrappedOnly.predict(x, g2);
        const e3 = gp.predictGeneric(x, g3);
        assert.ok(Math.abs(e1 - e3) < 1e-12 && Math.abs(e2 - e3) < 1e-12, `${model.atom} ${backend} x${d + 1} = ${v}: ${e1} ${e2} ${e3}`);
        for (let k = 0; k < K; k++) {
          assert.ok(Math.abs(g1[k]! - g3[k]!) < 1e-12 && Math.abs(g2[k]! - g3[k]!) < 1e-12, `${model.atom} ${backend} x${d + 1} = ${v}, g${k + 1}: ${g1[k]} ${g2[k]} ${g3[k]}`);
        }
        if (expectInside) inside++;
        else outside++;
      }
    }
  }
  assert.ok(inside >= 12 && outside >= 12, `cases inside ${inside}, outside ${outside}`);
});

const ferebus = sharedData('ferebus-benchmark');
test('real glycine C1 (2130 points, weights to 4e4) read as rbf-cyclic: square form equals the wrapped path', { skip: !ferebus && 'no data' }, () => {
  const rbf = readModel(join(ferebus!, 'glycine/marginal/GLYCINE_iqa_C1.model'));
  const model = { ...rbf, kernels: rbf.kernels.map((k) => ({ ...k, type: 'rbf-cyclic' as const })) };
  const gp = new AtomGp(model, 4);
  const wrappedOnly = new AtomGp(model, 4, { squareWrapped: false });
  const K = model.nFeatures;
  let worstE = 0;
  let worstG = 0;
  let inside = 0;
  const g1 = new Float64Array(K);
  const g2 = new Float64Array(K);
  for (let j = 0; j < 30; j++) {
    const x = Float64Array.from({ length: K }, (_, d) => model.trainX[(61 * j) * K + d]! * (1 + 0.01 * Math.sin(j + d)));
    if (gp.wrapFree(x)) inside++;
    const e1 = gp.predict(x, g1);
    const e2 = wrappedOnly.predict(x, g2);
    worstE = Math.max(worstE, Math.abs(e1 - e2));
    for (let d = 0; d < K; d++) worstG = Math.max(worstG, Math.abs(g1[d]! - g2[d]!));
  }
  process.stdout.write(`# glycine C1 as rbf-cyclic: square form vs wrapped path max |ΔE| ${worstE.toExponential(2)} Ha, max |Δg| ${worstG.toExponential(2)}\n`);
  assert.ok(inside >= 25, `only ${inside} of 30 queries inside the windows`);
  assert.ok(worstE < 1e-9, `energy ${worstE} Ha`);
  assert.ok(worstG < 1e-8, `gradient ${worstG}`);
});
