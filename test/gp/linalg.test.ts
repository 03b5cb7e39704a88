import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  choleskyInPlace,
  choleskySolve,
  choleskyWithJitter,
  inverseFromCholesky,
  logDetFromCholesky,
  matVec,
} from '../../src/gp/linalg.js';
import { AtomgpError } from '../../src/errors.js';
import { Rng } from '../../src/util/rng.js';

/** Random SPD matrix A = B Bᵀ + n I (both triangles). */
function spd(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const b = Float64Array.from({ length: n * n }, () => rng.normal());
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = i === j ? n : 0;
      for (let k = 0; k < n; k++) s += b[i * n + k]! * b[j * n + k]!;
      a[i * n + j] = s;
    }
  }
  return a;
}

for (const n of [1, 2, 3, 4, 5, 8, 13, 37]) {
  test(`Cholesky of a ${n} × ${n} SPD matrix: L Lᵀ = A, solve and inverse agree with direct multiplication`, () => {
    const a = spd(n, n);
    const l = a.slice();
    assert.equal(choleskyInPlace(l, n), 0);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let k = 0; k <= j; k++) s += l[i * n + k]! * l[j * n + k]!;
        assert.ok(Math.abs(s - a[i * n + j]!) < 1e-10 * n, `(LLᵀ)_${i}${j}`);
      }
    }
    const rng = new Rng(99);
    const xTrue = Float64Array.from({ length: n }, () => rng.normal());
    const b = new Float64Array(n);
    matVec(a, n, xTrue, b);
    choleskySolve(l, n, b);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(b[i]! - xTrue[i]!) < 1e-10, `x_${i}`);
    const inv = new Float64Array(n * n);
    inverseFromCholesky(l, n, inv);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[i * n + k]! * inv[k * n + j]!;
        assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-10, `(A A⁻¹)_${i}${j} = ${s}`);
      }
    }
  });
}

test('log-determinant from the Cholesky factor equals log det of a diagonal and a 2 × 2 matrix', () => {
  const d = Float64Array.of(2, 0, 0, 0, 3, 0, 0, 0, 5);
  choleskyInPlace(d, 3);
  assert.ok(Math.abs(logDetFromCholesky(d, 3) - Math.log(30)) < 1e-14);
  const a = Float64Array.of(4, 1, 1, 3);
  choleskyInPlace(a, 2);
  assert.ok(Math.abs(logDetFromCholesky(a, 2) - Math.log(11)) < 1e-14);
});

test('non-positive-definite pivots are reported with their 1-based row', () => {
  const a = Float64Array.of(1, 2, 2, 1);
  assert.equal(choleskyInPlace(a, 2), 2);
});

test('adaptive jitter factorises a singular matrix (duplicate rows) and reports the jitter used', () => {
  // Rank-1 matrix of ones: singular; jitter 1e-10 × mean diagonal is enough.
  const n = 6;
  const a = new Float64Array(n * n).fill(1);
  const f = new Float64Array(n * n);
  const jitter = choleskyWithJitter(a, n, f);
  assert.ok(jitter >= 1e-10 && jitter <= 1e-4, `jitter ${jitter}`);
});

test('adaptive jitter gives a clear AtomgpError when even the largest jitter fails', () => {
  const a = Float64Array.of(1, 0, 0, -1);
  assert.throws(() => choleskyWithJitter(a, 2, new Float64Array(4), { what: 'test matrix' }), (e: unknown) => {
    assert.ok(e instanceof AtomgpError);
    assert.match(e.message, /test matrix \(2 × 2\) is not positive definite/);
    return true;
  });
});
