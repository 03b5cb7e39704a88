import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompiledKernel } from '../../../src/gp/kernel/kernel.js';
import { alfKernel, setupKernel } from '../../../src/gp/kernel/setup.js';
import { jacobiEigenSymmetric } from '../../../src/math/small.js';

test('alfKernel rbf-periodic: rbf over distances and polar angles, periodic over the azimuthal angles 6, 9, …', () => {
  const k = alfKernel('rbf-periodic', 12);
  assert.notEqual(typeof k, 'string');
  if (typeof k === 'string') return;
  assert.equal(k.composition, 'k1*k2');
  assert.deepEqual(k.kernels[0]!.activeDims, [1, 2, 3, 4, 5, 7, 8, 10, 11]);
  assert.equal(k.kernels[0]!.type, 'rbf');
  assert.deepEqual(k.kernels[1]!.activeDims, [6, 9, 12]);
  assert.equal(k.kernels[1]!.type, 'periodic');
  assert.equal(alfKernel('rbf-periodic', 3), 'rbf', 'water has no azimuthal angle');
  assert.equal(alfKernel('rbf-cyclic', 12), 'rbf-cyclic');
  assert.throws(() => alfKernel('cosine' as never, 6), /unknown ALF kernel/);
});

/**
 * Smallest eigenvalue of the kernel matrix of one azimuthal angle (feature 3 of 3, the one
 * rbf-cyclic wraps) at n points spread round the circle.
 */
function smallestEigenvalue(type: 'rbf-cyclic' | 'periodic', theta: number, n: number): number {
  // rbf-cyclic wraps every third *active* feature: all three are active, features 1 and 2 stay 0
  const choice = { kernels: [{ name: 'k1', type, activeDims: [1, 2, 3] }], composition: 'k1' };
  const ks = setupKernel(choice, 3, 4);
  ks.specs[0]!.theta.splice(0, 3, 1, 1, theta);
  const kernel = new CompiledKernel(ks.specs, ks.composition, 3, 4);
  const x = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) x[3 * i + 2] = -Math.PI + (2 * Math.PI * (i + 0.5)) / n;
  const m = kernel.matrix(x, n);
  jacobiEigenSymmetric(m, n, 1e-20, 100); // the diagonal of m ends as the eigenvalues
  return Math.min(...Array.from({ length: n }, (_, i) => m[i * n + i]!));
}

test('on a full circle the wrapped RBF (rbf-cyclic) is indefinite at long lengthscales; the periodic kernel is not', () => {
  for (const theta of [0.01, 0.05, 0.2]) {
    const wrapped = smallestEigenvalue('rbf-cyclic', theta, 40);
    const periodic = smallestEigenvalue('periodic', theta, 40);
    assert.ok(wrapped < -1e-6, `θ ${theta}: smallest eigenvalue of the wrapped RBF ${wrapped}`);
    assert.ok(periodic > -1e-12, `θ ${theta}: smallest eigenvalue of the periodic kernel ${periodic}`);
  }
});
