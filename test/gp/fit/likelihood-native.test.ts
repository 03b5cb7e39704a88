/**
 * The likelihood evaluator's native path (BLAS square terms, dpotrf in place, dpotrs, dpotri in
 * place; likelihood.ts) on its own terms: its gradient against central finite differences of its
 * own value for a mixed kernel, and the Cholesky fallback with jitter when the kernel matrix built
 * in the factor's buffer is singular. Skipped (with the loader's reason) without the library,
 * a failure under CI=true as in native-lapack.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TERM_PERIODIC, TERM_SQUARE, TERM_WRAPPED } from '../../../src/gp/kernel/kernel.js';
import { LikelihoodEvaluator, type LikelihoodProblem } from '../../../src/gp/fit/likelihood.js';
import { nativeLapackStatus } from '../../../src/math/native-lapack.js';
import { Rng } from '../../../src/util/rng.js';
import { assertGradientByFiniteDifferences } from '../../helpers/gradient.js';

const status = nativeLapackStatus();
if (!status.lapack && process.env.CI === 'true') throw new Error(`native LAPACK missing under CI: ${status.reason}`);
const skip = status.lapack ? false : `native LAPACK unavailable: ${status.reason}`;
const lapack = status.lapack!;

function problem(n: number, kinds: number[], seed: number): LikelihoodProblem {
  const rng = new Rng(seed);
  const K = kinds.length;
  const x = Float64Array.from({ length: n * K }, (_, i) => (i % K === 0 ? 5 : 0) + rng.uniformIn(-3, 3));
  const y = Float64Array.from({ length: n }, (_, i) => Math.sin(x[i * K + 1]!) + 0.2 * x[i * K]! + 0.01 * rng.normal());
  return {
    x,
    y,
    n,
    nFeatures: K,
    terms: { dim: Int32Array.from(kinds, (_, t) => t), kind: Uint8Array.from(kinds) },
    prefactor: Float64Array.from(kinds, (k) => (k === TERM_PERIODIC ? 4 : 1)),
    kind: 'concentrated',
    meanValues: new Float64Array(n),
    glsConstantMean: true,
    noise: 1e-6,
    optimiseNoise: true,
  };
}

test('native gradient equals central finite differences (rbf × rbf-cyclic × periodic, GLS, optimised noise, n = 90)', { skip }, () => {
  const kinds = [TERM_SQUARE, TERM_WRAPPED, TERM_SQUARE, TERM_PERIODIC];
  const ev = new LikelihoodEvaluator(problem(90, kinds, 4), { lapack, threads: 1 });
  assert.ok(ev.native, 'the evaluator uses the native path');
  const params = Float64Array.of(Math.log(0.4), Math.log(1.5), Math.log(0.7), Math.log(0.3), Math.log(1e-4));
  assertGradientByFiniteDifferences(ev, params);
});

test('native path: an indefinite kernel matrix takes the same jitter, value and gradient as the built-in path', { skip }, () => {
  // Duplicate points make R singular; σ² = −3e-8 then makes K = R + σ²I indefinite by a margin,
  // so that jitter 1e-10, 1e-9 and 1e-8 fail and 1e-7 succeeds on any rounding: the in-place
  // native factorisation fails and the jitter loop (which copies from R) must take over.
  const p = { ...problem(120, [TERM_SQUARE, TERM_SQUARE, TERM_SQUARE], 8), noise: -3e-8, optimiseNoise: false };
  for (const [to, from] of [
    [30, 10],
    [31, 11],
  ] as const) {
    for (let j = 0; j < 3; j++) p.x[to * 3 + j] = p.x[from * 3 + j]!;
  }
  const params = Float64Array.of(Math.log(0.3), Math.log(0.5), Math.log(0.2));
  const ref = new LikelihoodEvaluator(p, { lapack: false, threads: 1 });
  const gRef = new Float64Array(3);
  const rRef = ref.evaluate(params, gRef);
  assert.ok(Math.abs(rRef.jitter - 1e-7) < 1e-20, `built-in jitter ${rRef.jitter}`);
  for (const threads of [1, 2]) {
    const ev = new LikelihoodEvaluator(p, { lapack, threads, minThreadedN: 0 });
    const g = new Float64Array(3);
    const r = ev.evaluate(params, g);
    assert.equal(r.jitter, rRef.jitter);
    assert.ok(Math.abs(r.value - rRef.value) < 1e-8 * Math.abs(rRef.value), `log L ${r.value} vs ${rRef.value}`);
    const gMax = gRef.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(g[i]! - gRef[i]!) < 1e-6 * gMax, `gradient ${i}: ${g[i]} vs ${gRef[i]}`);
    // R keeps its unit diagonal and the kernel values (the factor's buffer was overwritten).
    assert.equal(ev.r[5 * 120 + 5], 1);
    assert.equal(ev.r[31 * 120 + 11], 1, 'duplicate pair: R = 1 (exponent clamped at 0)');
    assert.ok(Math.abs(ev.r[77 * 120 + 3]! - ref.r[77 * 120 + 3]!) < 1e-13, 'R agrees with the built-in one');
  }
});
