import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { TERM_PERIODIC, TERM_SQUARE, TERM_WRAPPED } from '../../../src/gp/kernel/kernel.js';
import { LikelihoodEvaluator, type LikelihoodKind, type LikelihoodProblem } from '../../../src/gp/fit/likelihood.js';
import { readPropertyCsv } from '../../../src/io/csv.js';
import { Rng } from '../../../src/util/rng.js';
import { sharedData } from '../../helpers/data.js';
import { assertGradientByFiniteDifferences } from '../../helpers/gradient.js';

/** Random problem: features in a box with cyclic-looking ranges, smooth targets. */
function problem(kinds: number[], kind: LikelihoodKind, opts: { optimiseNoise?: boolean; gls?: boolean; n?: number } = {}): LikelihoodProblem {
  const rng = new Rng(7);
  const n = opts.n ?? 40;
  const K = 4;
  const x = new Float64Array(n * K);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniformIn(-3, 3);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = -1 + 0.1 * Math.sin(x[i * K]!) + 0.05 * Math.cos(x[i * K + 1]! * x[i * K + 3]!) + 0.01 * rng.normal();
  const dims = kinds.map((_, t) => t % K);
  return {
    x,
    y,
    n,
    nFeatures: K,
    terms: { dim: Int32Array.from(dims), kind: Uint8Array.from(kinds) },
    prefactor: Float64Array.from(kinds, (k) => (k === TERM_PERIODIC ? 4 : 1)),
    kind,
    meanValues: new Float64Array(n).fill(-0.95),
    glsConstantMean: opts.gls ?? false,
    noise: 1e-4,
    optimiseNoise: opts.optimiseNoise ?? false,
  };
}

function checkGradient(p: LikelihoodProblem, params: Float64Array): void {
  const ev = new LikelihoodEvaluator(p);
  assertGradientByFiniteDifferences(ev, params);
}

const S = TERM_SQUARE;
const W = TERM_WRAPPED;
const P = TERM_PERIODIC;
const cases: Array<[string, number[]]> = [
  ['rbf', [S, S, S, S]],
  ['rbf-cyclic', [S, S, W, S]],
  ['periodic', [P, P, P, P]],
  ['rbf*periodic product', [S, S, S, S, P]],
  ['rbf-cyclic*periodic product', [S, S, W, S, P, P]],
];
const start = (m: number, extra = 0) => Float64Array.from({ length: m + extra }, (_, i) => (i < m ? Math.log(0.05 + 0.07 * i) : Math.log(1e-3)));

for (const [name, kinds] of cases) {
  for (const kind of ['marginal', 'concentrated'] as const) {
    test(`${kind} likelihood gradient of ${name} equals central finite differences`, () => {
      checkGradient(problem(kinds, kind), start(kinds.length));
    });
    test(`${kind} likelihood gradient of ${name} with optimised noise equals finite differences`, () => {
      checkGradient(problem(kinds, kind, { optimiseNoise: true }), start(kinds.length, 1));
    });
  }
}

test('concentrated likelihood with the GLS constant mean: gradient equals finite differences', () => {
  checkGradient(problem([S, S, W, S], 'concentrated', { gls: true }), start(4));
});

// A wrapped term whose inputs span at most π never wraps, so the evaluator computes it as a square
// term (through BLAS on the native path); one that spans more keeps the wrapped pair loop.
for (const lapack of [undefined, false] as const) {
  const path = lapack === false ? 'built-in' : 'default';
  test(`wrapped term spanning ≤ π: value and gradient equal the square term's; spanning > π they differ (${path} path)`, () => {
    const base = problem([S, S, W, S], 'marginal');
    const narrow = { ...base, x: base.x.map((v, i) => (i % 4 === 2 ? 1.2 + v / 2 : v)) }; // feature 2 in [−0.3, 2.7]
    const params = start(4);
    const run = (p: LikelihoodProblem, kinds: number[]) => {
      const ev = new LikelihoodEvaluator({ ...p, terms: { dim: p.terms.dim, kind: Uint8Array.from(kinds) } }, lapack === false ? { lapack } : {});
      const g = new Float64Array(4);
      return { value: ev.evaluate(params, g).value, g, kinds: ev.evaluatedKinds };
    };
    const w = run(narrow, [S, S, W, S]);
    assert.deepEqual(w.kinds, [S, S, S, S], 'the narrow wrapped term is evaluated as a square term');
    const s = run(narrow, [S, S, S, S]);
    assert.ok(Math.abs(w.value - s.value) < 1e-9 * Math.abs(s.value), `${w.value} vs ${s.value}`);
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(w.g[i]! - s.g[i]!) < 1e-7 * Math.max(1, Math.abs(s.g[i]!)), `gradient ${i}: ${w.g[i]} vs ${s.g[i]}`);
    const ww = run(base, [S, S, W, S]);
    assert.deepEqual(ww.kinds, [S, S, W, S], 'the wide wrapped term keeps its pair loop');
    const ws = run(base, [S, S, S, S]);
    assert.ok(Math.abs(ww.value - ws.value) > 1e-3, `wide: wrapped ${ww.value} should differ from square ${ws.value}`);
  });
}

test('marginal likelihood equals the direct formula −½rᵀK⁻¹r − ½log|K| − (n/2)log 2π on a 3-point set', () => {
  const x = Float64Array.of(0, 1, 2.5);
  const y = Float64Array.of(0.3, -0.2, 0.1);
  const theta = 0.4;
  const noise = 0.01;
  const ev = new LikelihoodEvaluator({
    x, y, n: 3, nFeatures: 1, terms: { dim: Int32Array.of(0), kind: Uint8Array.of(S) }, prefactor: Float64Array.of(1),
    kind: 'marginal', meanValues: new Float64Array(3), noise, optimiseNoise: false,
  });
  const v = ev.evaluate(Float64Array.of(Math.log(theta))).value;
  // Direct 3 × 3 determinant and inverse by cofactors.
  const k = (a: number, b: number) => Math.exp(-theta * (x[a]! - x[b]!) ** 2) + (a === b ? noise : 0);
  const A = [0, 1, 2].map((a) => [0, 1, 2].map((b) => k(a, b)));
  const det = (m: number[][]) => m[0]![0]! * (m[1]![1]! * m[2]![2]! - m[1]![2]! * m[2]![1]!) - m[0]![1]! * (m[1]![0]! * m[2]![2]! - m[1]![2]! * m[2]![0]!) + m[0]![2]! * (m[1]![0]! * m[2]![1]! - m[1]![1]! * m[2]![0]!);
  const d = det(A);
  let quad = 0;
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      const minor = A.filter((_, i) => i !== b).map((row) => row.filter((_, j) => j !== a));
      const cof = (-1) ** (a + b) * (minor[0]![0]! * minor[1]![1]! - minor[0]![1]! * minor[1]![0]!);
      quad += y[a]! * (cof / d) * y[b]!;
    }
  }
  const expected = -0.5 * quad - 0.5 * Math.log(d) - 1.5 * Math.log(2 * Math.PI);
  assert.ok(Math.abs(v - expected) < 1e-10, `${v} vs ${expected}`);
});

// FEREBUS-v7's `# likelihood` lines (its "best cost" is minus these): our objective at the θ stored
// in its .model files reproduces them — marginal with the file's constant mean, concentrated with
// the mean re-estimated by GLS.
const water = sharedData('ferebus-benchmark/water');
for (const kind of ['marginal', 'concentrated'] as const) {
  test(`water O1 ${kind}: our objective at FEREBUS's θ equals its recorded likelihood`, { skip: !water }, () => {
    const ts = readPropertyCsv(join(water!, 'WATER_O1_TRAINING_SET.csv'));
    const text = readFileSync(join(water!, kind, 'WATER_iqa_O1.model'), 'utf8');
    const theta = /\ntheta (.*)/.exec(text)![1]!.trim().split(/\s+/).map(Number);
    const meanValue = Number(/\[mean\]\ntype constant\nvalue (\S+)/.exec(text)![1]);
    const recorded = Number(/# likelihood (\S+)/.exec(text)![1]);
    const ev = new LikelihoodEvaluator({
      x: ts.x, y: ts.y, n: ts.n, nFeatures: 3, terms: { dim: Int32Array.of(0, 1, 2), kind: new Uint8Array(3) },
      prefactor: new Float64Array(3).fill(1), kind, meanValues: new Float64Array(ts.n).fill(meanValue),
      glsConstantMean: kind === 'concentrated', noise: 1e-10, optimiseNoise: false,
    });
    const r = ev.evaluate(Float64Array.from(theta, Math.log));
    assert.ok(Math.abs(r.value - recorded) < 1e-3, `${r.value} vs FEREBUS ${recorded}`);
    if (kind === 'marginal') assert.ok(Math.abs(r.value - 348.91) < 0.01);
    else {
      assert.ok(Math.abs(r.value - 453.36) < 0.01);
      assert.ok(Math.abs(r.glsMean - meanValue) < 1e-8, `GLS mean ${r.glsMean} vs file ${meanValue}`);
    }
  });
}
