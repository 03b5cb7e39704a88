import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AtomgpError } from '../../src/errors.js';
import { inverse3, jacobiEigenSymmetric } from '../../src/math/small.js';
import { Rng } from '../../src/util/rng.js';

function checkEigen(m: Float64Array, n: number): void {
  const a = Float64Array.from(m);
  const v = jacobiEigenSymmetric(a, n, 1e-32, 100);
  for (let k = 0; k < n; k++) {
    const lambda = a[k * n + k]!;
    for (let i = 0; i < n; i++) {
      let mv = 0;
      for (let j = 0; j < n; j++) mv += m[i * n + j]! * v[j * n + k]!;
      assert.ok(Math.abs(mv - lambda * v[i * n + k]!) < 1e-12, `A v = λ v, column ${k} row ${i}`);
    }
    for (let l = 0; l < n; l++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += v[i * n + k]! * v[i * n + l]!;
      assert.ok(Math.abs(dot - (k === l ? 1 : 0)) < 1e-12, `VᵀV = I (${k}, ${l})`);
    }
  }
}

test('Jacobi eigenvalues of [[2,1,0],[1,2,0],[0,0,3]] are 1, 3, 3 (degenerate), with orthonormal eigenvectors', () => {
  const m = Float64Array.of(2, 1, 0, 1, 2, 0, 0, 0, 3);
  const a = Float64Array.from(m);
  jacobiEigenSymmetric(a, 3, 1e-30, 50);
  const values = [a[0]!, a[4]!, a[8]!].sort((x, y) => x - y);
  assert.ok(Math.abs(values[0]! - 1) < 1e-14 && Math.abs(values[1]! - 3) < 1e-14 && Math.abs(values[2]! - 3) < 1e-14, `${values}`);
  checkEigen(m, 3);
});

test('Jacobi on random symmetric 4 × 4 matrices: A v = λ v, VᵀV = I, Σλ = trace', () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 20; trial++) {
    const m = new Float64Array(16);
    for (let i = 0; i < 4; i++) for (let j = 0; j <= i; j++) m[i * 4 + j] = m[j * 4 + i] = rng.uniformIn(-2, 2);
    checkEigen(m, 4);
    const a = Float64Array.from(m);
    jacobiEigenSymmetric(a, 4, 1e-32, 100);
    assert.ok(Math.abs(a[0]! + a[5]! + a[10]! + a[15]! - (m[0]! + m[5]! + m[10]! + m[15]!)) < 1e-12);
  }
});

test('inverse3: M M⁻¹ = I for a skewed cell; a singular matrix raises the caller’s error', () => {
  const m = Float64Array.of(10, 0, 0, 3, 9, 0, -2, 1.5, 8);
  const inv = inverse3(m);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += m[i * 3 + k]! * inv[k * 3 + j]!;
      assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-14, `(${i}, ${j}) = ${s}`);
    }
  }
  assert.throws(() => inverse3(Float64Array.of(1, 2, 3, 2, 4, 6, 0, 0, 1), (det) => new AtomgpError(`cell volume ${det}`)), /cell volume 0/);
  assert.throws(() => inverse3(new Float64Array(9)), AtomgpError);
});
