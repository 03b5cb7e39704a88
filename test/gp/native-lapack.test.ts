/**
 * The native LAPACK path (OpenBLAS dpotrf/dpotri through koffi) against atomgp's built-in kernels:
 * same factor, same inverse, same jitter decisions, same likelihood and gradient to rounding.
 * .ci/run installs libopenblas0-pthread, so under CI=true a missing library is a failure;
 * elsewhere these tests are skipped with the loader's reason.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AtomgpError } from '../../src/errors.js';
import { LikelihoodEvaluator, type LikelihoodProblem } from '../../src/gp/likelihood.js';
import { choleskyWithJitter, inverseLowerFromCholesky } from '../../src/gp/linalg.js';
import { nativeLapackStatus, resetNativeLapackForTests } from '../../src/gp/native-lapack.js';
import { Rng } from '../../src/util/rng.js';

const status = nativeLapackStatus();
if (!status.lapack && process.env.CI === 'true') throw new Error(`native LAPACK missing under CI: ${status.reason}`);
const skip = status.lapack ? false : `native LAPACK unavailable: ${status.reason}`;
const lapack = status.lapack!;

/** RBF kernel matrix of n random points in d dimensions (lower triangle and diagonal), plus noise. */
function rbfMatrix(n: number, d: number, seed: number, noise: number): Float64Array {
  const rng = new Rng(seed);
  const x = Float64Array.from({ length: n * d }, () => rng.uniformIn(0, 2));
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (x[i * d + k]! - x[j * d + k]!) ** 2;
      a[i * n + j] = Math.exp(-0.5 * s) + (i === j ? noise : 0);
    }
  }
  return a;
}

function maxLowerDiff(a: Float64Array, b: Float64Array, n: number): { abs: number; scale: number } {
  let abs = 0;
  let scale = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      abs = Math.max(abs, Math.abs(a[i * n + j]! - b[i * n + j]!));
      scale = Math.max(scale, Math.abs(b[i * n + j]!));
    }
  }
  return { abs, scale };
}

test('native Cholesky and inverse equal the built-in kernels to rounding (n = 257, both thread counts)', { skip }, () => {
  const n = 257;
  const a = rbfMatrix(n, 6, 3, 1e-6);
  const ref = new Float64Array(n * n);
  assert.equal(choleskyWithJitter(a, n, ref), 0);
  const refInv = new Float64Array(n * n);
  inverseLowerFromCholesky(ref, n, refInv);
  for (const threads of [1, 2]) {
    const l = new Float64Array(n * n);
    assert.equal(choleskyWithJitter(a, n, l, { lapack, threads }), 0);
    const dl = maxLowerDiff(l, ref, n);
    assert.ok(dl.abs < 1e-12 * dl.scale, `factor differs by ${dl.abs}`);
    const inv = new Float64Array(n * n);
    inverseLowerFromCholesky(l, n, inv, undefined, undefined, { lapack, threads });
    const di = maxLowerDiff(inv, refInv, n);
    // The inverse of a matrix with condition ~1e6 carries ~1e6 × rounding.
    assert.ok(di.abs < 1e-8 * di.scale, `inverse differs by ${di.abs} (scale ${di.scale})`);
    // And it is an inverse: (A · A⁻¹) e_0 = e_0 with the symmetric matrices from their lower triangles.
    const sym = (m: Float64Array, i: number, j: number) => (i >= j ? m[i * n + j]! : m[j * n + i]!);
    for (const col of [0, 100, 256]) {
      for (const row of [0, 1, 128, 256]) {
        let s = 0;
        for (let k = 0; k < n; k++) s += sym(a, row, k) * sym(inv, k, col);
        assert.ok(Math.abs(s - (row === col ? 1 : 0)) < 1e-6, `(A A⁻¹)_${row},${col} = ${s}`);
      }
    }
  }
});

test('native Cholesky takes the same jitter as the built-in one on a singular matrix (duplicate point)', { skip }, () => {
  const n = 40;
  const a = rbfMatrix(n, 3, 5, 0);
  // Point 7 duplicates point 3: rows and columns equal, the matrix is singular without jitter.
  for (let j = 0; j < n; j++) {
    const v = j === 7 ? 1 : 3 >= j ? a[3 * n + j]! : a[j * n + 3]!;
    if (j <= 7) a[7 * n + j] = v;
    else a[j * n + 7] = v;
  }
  const ref = new Float64Array(n * n);
  const l = new Float64Array(n * n);
  const jRef = choleskyWithJitter(a, n, ref, { initial: 1e-12 });
  const jNative = choleskyWithJitter(a, n, l, { initial: 1e-12, lapack });
  assert.ok(jRef > 0, 'the duplicate needs jitter');
  assert.equal(jNative, jRef);
  const d = maxLowerDiff(l, ref, n);
  assert.ok(d.abs < 1e-6 * d.scale, `factor differs by ${d.abs}`);
  assert.throws(() => choleskyWithJitter(a, n, l, { initial: 1e-30, max: 1e-28, lapack }), (e: unknown) => e instanceof AtomgpError && /not positive definite/.test(e.message));
});

test('likelihood and gradient with the native LAPACK equal the built-in evaluation (n = 420, two threads)', { skip }, () => {
  const rng = new Rng(11);
  const n = 420;
  const K = 5;
  const x = Float64Array.from({ length: n * K }, () => rng.uniformIn(0, 3));
  const y = Float64Array.from({ length: n }, (_, i) => Math.sin(x[i * K]!) + 0.3 * x[i * K + 1]! * x[i * K + 2]! + 0.01 * rng.normal());
  const problem: LikelihoodProblem = {
    x,
    y,
    n,
    nFeatures: K,
    terms: { dim: Int32Array.from([0, 1, 2, 3, 4]), kind: new Uint8Array(K) },
    prefactor: new Float64Array(K).fill(1),
    kind: 'marginal',
    meanValues: new Float64Array(n),
    noise: 1e-6,
    optimiseNoise: true,
  };
  const params = Float64Array.from([-0.5, -1, -1.2, -3, -4, Math.log(1e-5)]);
  const builtin = new LikelihoodEvaluator(problem, { lapack: false, threads: 2, minThreadedN: 0 });
  const native = new LikelihoodEvaluator(problem, { lapack, threads: 2, minThreadedN: 0 });
  assert.match(native.linalgDescription, /^native .* threads=2$/);
  assert.match(builtin.linalgDescription, /^builtin/);
  const g1 = new Float64Array(6);
  const g2 = new Float64Array(6);
  const v1 = builtin.evaluate(params, g1).value;
  const v2 = native.evaluate(params, g2).value;
  assert.ok(Math.abs(v1 - v2) < 1e-9 * Math.abs(v1), `log L ${v1} vs ${v2}`);
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(g1[i]! - g2[i]!) < 1e-7 * (Math.abs(g1[i]!) + 1), `gradient ${i}: ${g1[i]} vs ${g2[i]}`);
});

test('ATOMGP_LAPACK: off gives the built-in kernels; a library that cannot be loaded is a clear error', () => {
  const saved = process.env.ATOMGP_LAPACK;
  try {
    process.env.ATOMGP_LAPACK = 'off';
    resetNativeLapackForTests();
    assert.equal(nativeLapackStatus().lapack, undefined);
    assert.match(nativeLapackStatus().reason, /switched off/);
    process.env.ATOMGP_LAPACK = '/nonexistent/libnolapack.so';
    resetNativeLapackForTests();
    assert.throws(() => nativeLapackStatus(), (e: unknown) => e instanceof AtomgpError && /ATOMGP_LAPACK=\/nonexistent\/libnolapack\.so: .*cannot be loaded/.test(e.message));
  } finally {
    if (saved === undefined) delete process.env.ATOMGP_LAPACK;
    else process.env.ATOMGP_LAPACK = saved;
    resetNativeLapackForTests();
  }
});
