import assert from 'node:assert/strict';
import { resetBackendSettings } from '../../../src/math/backend.js';
import { test } from 'node:test';
import { TERM_PERIODIC, TERM_SQUARE, TERM_WRAPPED } from '../../../src/gp/kernel/kernel.js';
import { linalgTeam } from '../../../src/math/linalg-team.js';
import { sharedWasmAvailable } from '../../../src/math/linalg-wasm.js';
import { LikelihoodEvaluator, type LikelihoodProblem } from '../../../src/gp/fit/likelihood.js';
import { readPropertyCsv } from '../../../src/io/csv.js';
import { Rng } from '../../../src/util/rng.js';
import { sharedData } from '../../helpers/data.js';
import { assertGradientByFiniteDifferences } from '../../helpers/gradient.js';

const noShared = !sharedWasmAvailable() && 'no shared wasm memory (SIMD) here';

function randomProblem(n: number, kinds: number[], kind: 'marginal' | 'concentrated', seed: number): LikelihoodProblem {
  const rng = new Rng(seed);
  const K = 4;
  const x = Float64Array.from({ length: n * K }, () => rng.uniformIn(-3, 3));
  const y = Float64Array.from({ length: n }, (_, i) => Math.sin(x[i * K]!) + 0.3 * Math.cos(x[i * K + 2]!) + 0.01 * rng.normal());
  return {
    x,
    y,
    n,
    nFeatures: K,
    terms: { dim: Int32Array.from(kinds, (_, t) => t % K), kind: Uint8Array.from(kinds) },
    prefactor: Float64Array.from(kinds, (k) => (k === TERM_PERIODIC ? 4 : 1)),
    kind,
    meanValues: new Float64Array(n).fill(0.1),
    glsConstantMean: kind === 'concentrated',
    noise: 1e-6,
    optimiseNoise: true,
  };
}

/** Value and gradient with one thread and with two; asserts that they are bit-identical. */
function assertSameInBothModes(p: LikelihoodProblem, params: Float64Array, what: string): void {
  const one = new LikelihoodEvaluator(p, { threads: 1, lapack: false });
  const two = new LikelihoodEvaluator(p, { threads: 2, minThreadedN: 0, lapack: false });
  assert.equal(one.team, undefined);
  assert.ok(two.team?.ready(), `${what}: the evaluator uses the (started) team`);
  const g1 = new Float64Array(params.length);
  const g2 = new Float64Array(params.length);
  // Twice: the second evaluation reuses every buffer (and the worker's copy of the memory).
  for (let rep = 0; rep < 2; rep++) {
    const r1 = one.evaluate(params, g1);
    const jobs = two.team!.teamJobs;
    const r2 = two.evaluate(params, g2);
    // R, the Cholesky (once per jitter try), the inverse and the gradient rows, all on both threads.
    assert.ok(two.team!.teamJobs >= jobs + 4, `${what}: ${two.team!.teamJobs - jobs} team jobs`);
    assert.ok(Number.isFinite(r1.value), `${what}: finite value`);
    assert.equal(r2.value, r1.value, `${what}: value`);
    assert.equal(r2.jitter, r1.jitter, `${what}: jitter`);
    for (let i = 0; i < params.length; i++) assert.ok(Object.is(g2[i], g1[i]), `${what}: gradient ${i}: ${g2[i]} vs ${g1[i]}`);
  }
}

test('likelihood and gradient with two threads are bit-identical to one thread (rbf, rbf-cyclic, periodic; n = 401, 517)', { skip: noShared }, () => {
  assert.ok(linalgTeam(2)?.waitReady(60000), 'the worker started');
  const S = TERM_SQUARE;
  const cases: Array<[string, number[], 'marginal' | 'concentrated', number]> = [
    ['rbf marginal', [S, S, S, S], 'marginal', 401],
    ['rbf-cyclic*periodic concentrated (GLS mean)', [S, TERM_WRAPPED, S, S, TERM_PERIODIC], 'concentrated', 517],
  ];
  for (const [what, kinds, kind, n] of cases) {
    const params = Float64Array.from({ length: kinds.length + 1 }, (_, i) => (i < kinds.length ? Math.log(0.3 + 0.1 * i) : Math.log(1e-5)));
    assertSameInBothModes(randomProblem(n, kinds, kind, n), params, what);
  }
});

const glycine = sharedData('ferebus-benchmark/glycine/GLYCINE_C1_TRAINING_SET.csv');

test('glycine C1 (first 600 points, 51 features): two-thread likelihood and gradient equal one thread bit for bit', { skip: noShared || !glycine }, () => {
  assert.ok(linalgTeam(2)?.waitReady(60000), 'the worker started');
  const set = readPropertyCsv(glycine!);
  const n = 600;
  const K = set.nFeatures;
  const p: LikelihoodProblem = {
    x: set.x.slice(0, n * K),
    y: set.y.slice(0, n),
    n,
    nFeatures: K,
    terms: { dim: Int32Array.from({ length: K }, (_, i) => i), kind: new Uint8Array(K) },
    prefactor: new Float64Array(K).fill(1),
    kind: 'concentrated',
    meanValues: new Float64Array(n),
    glsConstantMean: true,
    noise: 1e-10,
    optimiseNoise: false,
  };
  assertSameInBothModes(p, Float64Array.from({ length: K }, (_, i) => Math.log(0.02 + 0.01 * (i % 5))), 'glycine');
});

test('two-thread gradient equals central finite differences (rbf-cyclic, optimised noise, n = 60)', { skip: noShared }, () => {
  assert.ok(linalgTeam(2)?.waitReady(60000), 'the worker started');
  const p = randomProblem(60, [TERM_SQUARE, TERM_WRAPPED, TERM_SQUARE], 'marginal', 3);
  const ev = new LikelihoodEvaluator(p, { threads: 2, minThreadedN: 0, lapack: false });
  assert.ok(ev.team);
  const params = Float64Array.of(Math.log(0.4), Math.log(1.5), Math.log(0.7), Math.log(1e-5));
  assertGradientByFiniteDifferences(ev, params);
});

test('small problems and ATOMGP_THREADS=1 stay on one thread', () => {
  const p = randomProblem(50, [TERM_SQUARE, TERM_SQUARE], 'marginal', 1);
  assert.equal(new LikelihoodEvaluator(p, { threads: 2 }).team, undefined, 'n = 50 is below the threshold');
  const saved = process.env.ATOMGP_THREADS;
  try {
    process.env.ATOMGP_THREADS = '1';
    resetBackendSettings();
    assert.equal(new LikelihoodEvaluator(p, { minThreadedN: 0 }).team, undefined);
  } finally {
    if (saved === undefined) delete process.env.ATOMGP_THREADS;
    else process.env.ATOMGP_THREADS = saved;
    resetBackendSettings();
  }
});
