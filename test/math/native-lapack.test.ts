/**
 * The native LAPACK path (OpenBLAS dpotrf/dpotri/dpotrs and dsyrk/dsymm through koffi) against
 * atomgp's built-in kernels: same factor, same inverse, same jitter decisions, same likelihood and
 * gradient to rounding for every term kind (the BLAS square terms, the wrapped and periodic loops).
 * .ci/run installs libopenblas0-pthread, so under CI=true a missing library is a failure;
 * elsewhere these tests are skipped with the loader's reason.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AtomgpError } from '../../src/errors.js';
import { LikelihoodEvaluator, type LikelihoodProblem } from '../../src/gp/fit/likelihood.js';
import { TERM_PERIODIC, TERM_SQUARE, TERM_WRAPPED } from '../../src/gp/kernel/kernel.js';
import { linalgTeam } from '../../src/math/linalg-team.js';
import { choleskySolve, choleskyWithJitter, inverseLowerFromCholesky } from '../../src/math/linalg.js';
import { nativeLapackStatus, resetNativeLapackForTests } from '../../src/math/native-lapack.js';
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

test('native BLAS products and solve equal plain loops (dsyrk, dsymm, dpotrs)', { skip }, () => {
  const rng = new Rng(7);
  const n = 37;
  const k = 5;
  // X stored by columns: x[j·n + a] = X_aj.
  const x = Float64Array.from({ length: k * n }, () => rng.uniformIn(-1, 1));
  for (const threads of [1, 2]) {
    const c = new Float64Array(n * n).fill(Number.NaN);
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) c[a * n + b] = 12345; // upper triangle untouched
    for (let a = 0; a < n; a++) for (let b = 0; b <= a; b++) c[a * n + b] = 0.5;
    lapack.syrkLower(n, k, -2, x, 3, c, threads);
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        if (b > a) {
          assert.equal(c[a * n + b], 12345, 'strict upper triangle not written');
          continue;
        }
        let s = 0;
        for (let j = 0; j < k; j++) s += x[j * n + a]! * x[j * n + b]!;
        assert.ok(Math.abs(c[a * n + b]! - (1.5 - 2 * s)) < 1e-13, `syrk (${a}, ${b})`);
      }
    }
    // dsymm reads the lower triangle only: poison the upper one.
    const sym = Float64Array.from({ length: n * n }, (_, i) => (i % n > Math.floor(i / n) ? Number.NaN : rng.uniformIn(-1, 1)));
    const m = 3;
    const b = Float64Array.from({ length: m * n }, () => rng.uniformIn(-1, 1));
    const out = new Float64Array(m * n).fill(1);
    lapack.symmLower(n, m, 2, sym, b, 0.5, out, threads);
    for (let j = 0; j < m; j++) {
      for (let a = 0; a < n; a++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += (a >= i ? sym[a * n + i]! : sym[i * n + a]!) * b[j * n + i]!;
        assert.ok(Math.abs(out[j * n + a]! - (2 * s + 0.5)) < 1e-12, `symm (${j}, ${a})`);
      }
    }
  }
  const a = rbfMatrix(n, 3, 9, 1e-3);
  const l = new Float64Array(n * n);
  choleskyWithJitter(a, n, l);
  const rhs = Float64Array.from({ length: n }, () => rng.normal());
  const ref = rhs.slice();
  choleskySolve(l, n, ref);
  const z = rhs.slice();
  lapack.solveFromFactor(l, n, z, 1);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(z[i]! - ref[i]!) < 1e-9 * (1 + Math.abs(ref[i]!)), `solve ${i}: ${z[i]} vs ${ref[i]}`);
});

function mixedProblem(n: number, kinds: number[], kind: 'marginal' | 'concentrated', seed: number): LikelihoodProblem {
  const rng = new Rng(seed);
  const K = 5;
  // Angles in (−3, 3) so that the wrapped differences do wrap; an offset so that centring matters.
  const x = Float64Array.from({ length: n * K }, (_, i) => (i % K === 4 ? 40 : 0) + rng.uniformIn(-3, 3));
  const y = Float64Array.from({ length: n }, (_, i) => -37.5 + Math.sin(x[i * K]!) + 0.3 * x[i * K + 1]! * Math.cos(x[i * K + 2]!) + 0.01 * rng.normal());
  return {
    x,
    y,
    n,
    nFeatures: K,
    terms: { dim: Int32Array.from(kinds, (_, t) => t % K), kind: Uint8Array.from(kinds) },
    prefactor: Float64Array.from(kinds, (k) => (k === TERM_PERIODIC ? 4 : 1)),
    kind,
    meanValues: new Float64Array(n).fill(-37.4),
    glsConstantMean: kind === 'concentrated',
    noise: 1e-6,
    optimiseNoise: true,
  };
}

test('likelihood and gradient with the native LAPACK equal the built-in evaluation (rbf, rbf-cyclic, periodic; GLS; n = 420)', { skip }, () => {
  const S = TERM_SQUARE;
  const W = TERM_WRAPPED;
  const P = TERM_PERIODIC;
  const cases: Array<[string, number[], 'marginal' | 'concentrated', number[], boolean]> = [
    ['rbf marginal', [S, S, S, S, S], 'marginal', [-0.5, -1, -1.2, -3, -4], true],
    ['rbf-cyclic concentrated (GLS)', [S, S, W, S, S], 'concentrated', [-0.7, -1, -0.8, -2, -3], true],
    ['rbf × periodic concentrated (GLS)', [S, P, W, S, P], 'concentrated', [-0.7, -1.5, -0.8, -2, -3], true],
    ['periodic only, fixed noise', [P, P, P], 'marginal', [-0.5, -1, -2], false],
  ];
  assert.ok(linalgTeam(2)?.waitReady(60000), 'the linear-algebra team started');
  for (const [what, kinds, kind, logTheta, optimiseNoise] of cases) {
    const problem = { ...mixedProblem(420, kinds, kind, kinds.length * 31 + 5), optimiseNoise };
    const params = Float64Array.from(optimiseNoise ? [...logTheta, Math.log(1e-5)] : logTheta);
    const reference = new LikelihoodEvaluator(problem, { lapack: false, threads: 1 });
    const gRef = new Float64Array(params.length);
    const rRef = reference.evaluate(params, gRef);
    const gMax = gRef.reduce((m, g) => Math.max(m, Math.abs(g)), 0);
    for (const threads of [1, 2]) {
      const native = new LikelihoodEvaluator(problem, { lapack, threads, minThreadedN: 0 });
      assert.equal(native.team !== undefined, threads === 2, 'the exp and gradient-weight jobs run on the team');
      assert.match(native.linalgDescription, new RegExp(`^native .* threads=${threads}$`));
      const g = new Float64Array(params.length);
      // Twice: the second evaluation starts from the buffers the first one left (inverse in the factor's place).
      for (let rep = 0; rep < 2; rep++) {
        const r = native.evaluate(params, g);
        assert.ok(Math.abs(r.value - rRef.value) < 1e-9 * Math.abs(rRef.value), `${what}, ${threads} threads: log L ${r.value} vs ${rRef.value}`);
        assert.equal(r.jitter, rRef.jitter);
        if (kind === 'concentrated') {
          assert.ok(Math.abs(r.glsMean - rRef.glsMean) < 1e-12 * Math.abs(rRef.glsMean), `${what}: GLS mean`);
          assert.ok(Math.abs(r.signalVariance - rRef.signalVariance) < 1e-9 * rRef.signalVariance, `${what}: σ_f²`);
        }
        for (let i = 0; i < params.length; i++) {
          assert.ok(Math.abs(g[i]! - gRef[i]!) < 1e-7 * (Math.abs(gRef[i]!) + 1e-3 * gMax), `${what}, ${threads} threads, gradient ${i}: ${g[i]} vs ${gRef[i]}`);
        }
      }
      // A value-only evaluation at θ leaves the factor: α agrees with the built-in one.
      const theta = Array.from(logTheta, Math.exp);
      const v = native.evaluateTheta(theta, 1e-5).value;
      const vRef = reference.evaluateTheta(theta, 1e-5).value;
      assert.ok(Math.abs(v - vRef) < 1e-9 * Math.abs(vRef), `${what}: evaluateTheta ${v} vs ${vRef}`);
      for (let a = 0; a < problem.n; a += 41) assert.ok(Math.abs(native.alpha[a]! - reference.alpha[a]!) < 1e-6 * (1 + Math.abs(reference.alpha[a]!)), `${what}: α_${a}`);
    }
  }
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
