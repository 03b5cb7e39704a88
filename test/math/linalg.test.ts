import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  choleskyInPlace,
  choleskySolve,
  choleskyWithJitter,
  inverseFromCholesky,
  inverseLowerFromCholesky,
  logDetFromCholesky,
  matVec,
} from '../../src/math/linalg.js';
import { AtomgpError } from '../../src/errors.js';
import { allocateMatrices, kernelFor, wasmAvailable } from '../../src/math/linalg-wasm.js';
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

/** Textbook unblocked Cholesky (the pre-blocking algorithm), as the reference for the fast paths. */
function referenceCholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = i === j ? Math.sqrt(s) : s / l[j * n + j]!;
    }
  }
  return l;
}

test('blocked Cholesky and the lower-triangle inverse agree with the unblocked algorithm within 1e-10 (random SPD, n = 203, 260)', () => {
  // Sizes that are not multiples of the panel (64), tile (48) or register (4) blocks.
  for (const n of [203, 260]) {
    const a = spd(n, n + 1);
    // Condition it like a kernel matrix: scale to unit diagonal.
    const d = Float64Array.from({ length: n }, (_, i) => 1 / Math.sqrt(a[i * n + i]!));
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = a[i * n + j]! * d[i]! * d[j]!;
    const ref = referenceCholesky(a, n);
    const l = a.slice();
    assert.equal(choleskyInPlace(l, n), 0);
    let maxL = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) maxL = Math.max(maxL, Math.abs(l[i * n + j]! - ref[i * n + j]!));
    assert.ok(maxL < 1e-10, `max |ΔL| = ${maxL}`);
    // The strict upper triangle is left as it was.
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) assert.equal(l[i * n + j], a[i * n + j]);
    const full = new Float64Array(n * n);
    inverseFromCholesky(ref, n, full);
    const lower = new Float64Array(n * n).fill(7);
    inverseLowerFromCholesky(l, n, lower);
    let maxInv = 0;
    let scale = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        maxInv = Math.max(maxInv, Math.abs(lower[i * n + j]! - full[i * n + j]!));
        scale = Math.max(scale, Math.abs(full[i * n + j]!));
      }
      for (let j = i + 1; j < n; j++) assert.equal(lower[i * n + j], 7, 'upper triangle untouched');
    }
    assert.ok(maxInv < 1e-10 * scale, `max |Δ inverse| = ${maxInv} (scale ${scale})`);
  }
});

test('a non-positive pivot deep inside a blocked panel is reported at its row', () => {
  const n = 150;
  const a = spd(n, 3);
  // Make row 100 a copy of row 99 (and the column too): the matrix becomes singular at row 101.
  for (let j = 0; j < n; j++) {
    a[100 * n + j] = a[99 * n + j]!;
    a[j * n + 100] = a[j * n + 99]!;
  }
  a[100 * n + 100] = a[99 * n + 99]!;
  const info = choleskyInPlace(a.slice(), n);
  assert.equal(info, 101);
});

test('the wasm SIMD path (matrices in wasm memory) agrees with the unblocked algorithm within 1e-10', { skip: !wasmAvailable() && 'no wasm SIMD' }, () => {
  for (const n of [67, 203]) {
    const a = spd(n, 2 * n);
    const d = Float64Array.from({ length: n }, (_, i) => 1 / Math.sqrt(a[i * n + i]!));
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = a[i * n + j]! * d[i]! * d[j]!;
    const [l, inv, work] = allocateMatrices([n * n, n * n, n * n]);
    assert.ok(kernelFor(l!, inv!, work!), 'the arrays take the wasm path');
    l!.set(a);
    assert.equal(choleskyInPlace(l!, n), 0);
    const ref = referenceCholesky(a, n);
    let maxL = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) maxL = Math.max(maxL, Math.abs(l![i * n + j]! - ref[i * n + j]!));
    assert.ok(maxL < 1e-10, `max |ΔL| = ${maxL}`);
    const full = new Float64Array(n * n);
    inverseFromCholesky(ref, n, full);
    inverseLowerFromCholesky(l!, n, inv!, work!);
    let maxInv = 0;
    let scale = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        maxInv = Math.max(maxInv, Math.abs(inv![i * n + j]! - full[i * n + j]!));
        scale = Math.max(scale, Math.abs(full[i * n + j]!));
      }
    }
    assert.ok(maxInv < 1e-10 * scale, `max |Δ inverse| = ${maxInv} (scale ${scale})`);
    // The symmetric inverse computed through the wasm path also satisfies A A⁻¹ = I.
    const both = new Float64Array(n * n);
    inverseFromCholesky(l!, n, both, work!);
    for (let i = 0; i < n; i += 17) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k]! * both[k * n + i]!;
      assert.ok(Math.abs(s - 1) < 1e-10);
    }
  }
});
