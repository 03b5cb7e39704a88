/**
 * Small dense matrices (row-major Float64Array): the symmetric eigenproblem by cyclic Jacobi
 * rotations (inertia tensors, 3 × 3; the quaternion matrix of Kabsch superposition, 4 × 4) and
 * the 3 × 3 inverse (periodic cells). Jacobi is robust for degenerate eigenvalues (linear or
 * symmetric molecules).
 */
import { AtomgpError } from '../errors.js';

/**
 * Eigen-decomposition of the symmetric n × n matrix `a` (row-major, destroyed: its diagonal ends
 * as the eigenvalues) by cyclic Jacobi sweeps over the pairs p < q, until the sum of squares of
 * the upper off-diagonal elements is at most `tol` times that of the diagonal (or `maxSweeps`).
 * Returns the eigenvectors as the columns of `vectors` (row-major), in the order of the diagonal.
 */
export function jacobiEigenSymmetric(a: Float64Array, n: number, tol: number, maxSweeps: number): Float64Array {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    let scale = 0;
    for (let p = 0; p < n; p++) {
      scale += a[p * n + p]! * a[p * n + p]!;
      for (let q = p + 1; q < n; q++) off += a[p * n + q]! * a[p * n + q]!;
    }
    if (off <= tol * scale || off === 0) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        // Rotation angle that zeroes a_pq (the numerically stable form of t = tan φ).
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A ← Jᵀ A J with J the rotation in the (p, q) plane; V ← V J.
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return v;
}

/** Inverse of a 3 × 3 matrix (row-major) by cofactors; `singular(det)` is thrown when |det| ≤ 1e-12. */
export function inverse3(m: Float64Array, singular = (det: number): Error => new AtomgpError(`3 × 3 matrix is singular (determinant ${det})`)): Float64Array {
  const [a, b, c, d, e, f, g, h, i] = Array.from(m) as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (!(Math.abs(det) > 1e-12)) throw singular(det);
  return Float64Array.from([
    A / det,
    -(b * i - c * h) / det,
    (b * f - c * e) / det,
    B / det,
    (a * i - c * g) / det,
    -(a * f - c * d) / det,
    C / det,
    -(a * h - b * g) / det,
    (a * e - b * d) / det,
  ]);
}
