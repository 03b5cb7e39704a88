/**
 * Optimal superposition (Kabsch problem) by Horn's quaternion method: the best rotation is the
 * unit quaternion that is the eigenvector of the largest eigenvalue of a symmetric 4×4 matrix
 * built from the weighted cross-covariance. A unit quaternion is always a proper rotation, so
 * mirror images are never "superimposed" by a reflection (the sign trap of SVD-based Kabsch).
 * The 4×4 eigenproblem is solved by cyclic Jacobi rotations, which is robust for degenerate
 * eigenvalues (linear or symmetric molecules). The RMSD is then computed from the rotated
 * coordinates directly, so identical structures give ~1e-15 Å rather than the ~1e-8 Å left by
 * the closed-form "G_a + G_b − 2λ" expression.
 *
 * Weights are masses when given (mass-weighted RMSD = sqrt(Σ m |Δr|² / Σ m)); else all 1.
 */
import { AtomgpError } from '../errors.js';
import { jacobiEigenSymmetric } from '../math/small.js';

export interface Superposition {
  /** Row-major 3×3 proper rotation R: aligned = R (mobile − mobileCentre) + referenceCentre. */
  rotation: Float64Array;
  referenceCentreA: Float64Array;
  mobileCentreA: Float64Array;
  /** RMSD after the superposition, Å. */
  rmsdA: number;
}

function weightsOf(n: number, masses: ArrayLike<number> | undefined): Float64Array {
  const w = new Float64Array(n);
  if (!masses) return w.fill(1);
  if (masses.length !== n) throw new AtomgpError(`superposition: ${n} atoms but ${masses.length} masses`);
  for (let i = 0; i < n; i++) {
    const m = masses[i]!;
    if (!(m >= 0) || !Number.isFinite(m)) throw new AtomgpError(`superposition: atom ${i + 1} has mass ${m}; expected a finite non-negative weight`);
    w[i] = m;
  }
  return w;
}

function centre(x: Float64Array, w: Float64Array, total: number): Float64Array {
  const c = new Float64Array(3);
  for (let i = 0; i < w.length; i++) {
    c[0]! += w[i]! * x[3 * i]!;
    c[1]! += w[i]! * x[3 * i + 1]!;
    c[2]! += w[i]! * x[3 * i + 2]!;
  }
  c[0]! /= total;
  c[1]! /= total;
  c[2]! /= total;
  return c;
}

/** Eigen-decomposition of a symmetric 4×4 matrix (row-major, destroyed): eigenvalues and eigenvectors as columns of v. */
function jacobi4(a: Float64Array): { values: Float64Array; vectors: Float64Array } {
  const vectors = jacobiEigenSymmetric(a, 4, 1e-32, 100);
  return { values: Float64Array.of(a[0]!, a[5]!, a[10]!, a[15]!), vectors };
}

function check(referenceA: Float64Array, mobileA: Float64Array): number {
  if (referenceA.length !== mobileA.length) {
    throw new AtomgpError(`superposition: the structures differ in size (${referenceA.length / 3} vs ${mobileA.length / 3} atoms)`);
  }
  if (referenceA.length % 3 !== 0 || referenceA.length === 0) throw new AtomgpError(`superposition: expected 3N > 0 coordinates, got ${referenceA.length}`);
  for (let k = 0; k < referenceA.length; k++) {
    if (!Number.isFinite(referenceA[k]!) || !Number.isFinite(mobileA[k]!)) {
      throw new AtomgpError(`superposition: atom ${Math.floor(k / 3) + 1} has a non-finite coordinate`);
    }
  }
  return referenceA.length / 3;
}

/** Best proper rotation and translation taking `mobileA` onto `referenceA` (both Å, same atom order). */
export function superpose(referenceA: Float64Array, mobileA: Float64Array, masses?: ArrayLike<number>): Superposition {
  const n = check(referenceA, mobileA);
  const w = weightsOf(n, masses);
  let total = 0;
  for (let i = 0; i < n; i++) total += w[i]!;
  if (!(total > 0)) throw new AtomgpError('superposition: the weights sum to zero');
  const cr = centre(referenceA, w, total);
  const cm = centre(mobileA, w, total);
  // S_ab = Σ w m_a r_b (m: centred mobile, r: centred reference).
  let sxx = 0;
  let sxy = 0;
  let sxz = 0;
  let syx = 0;
  let syy = 0;
  let syz = 0;
  let szx = 0;
  let szy = 0;
  let szz = 0;
  for (let i = 0; i < n; i++) {
    const wi = w[i]!;
    const mx = mobileA[3 * i]! - cm[0]!;
    const my = mobileA[3 * i + 1]! - cm[1]!;
    const mz = mobileA[3 * i + 2]! - cm[2]!;
    const rx = referenceA[3 * i]! - cr[0]!;
    const ry = referenceA[3 * i + 1]! - cr[1]!;
    const rz = referenceA[3 * i + 2]! - cr[2]!;
    sxx += wi * mx * rx;
    sxy += wi * mx * ry;
    sxz += wi * mx * rz;
    syx += wi * my * rx;
    syy += wi * my * ry;
    syz += wi * my * rz;
    szx += wi * mz * rx;
    szy += wi * mz * ry;
    szz += wi * mz * rz;
  }
  // Horn (1987), eq. for N; its top eigenvector is the rotation quaternion (q0, q1, q2, q3).
  const nmat = Float64Array.of(
    sxx + syy + szz, syz - szy, szx - sxz, sxy - syx,
    syz - szy, sxx - syy - szz, sxy + syx, szx + sxz,
    szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy,
    sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz,
  );
  const { values, vectors } = jacobi4(nmat);
  let best = 0;
  for (let k = 1; k < 4; k++) if (values[k]! > values[best]!) best = k;
  let q0 = vectors[best]!;
  let q1 = vectors[4 + best]!;
  let q2 = vectors[8 + best]!;
  let q3 = vectors[12 + best]!;
  const qn = Math.hypot(q0, q1, q2, q3);
  q0 /= qn;
  q1 /= qn;
  q2 /= qn;
  q3 /= qn;
  const rotation = Float64Array.of(
    q0 * q0 + q1 * q1 - q2 * q2 - q3 * q3, 2 * (q1 * q2 - q0 * q3), 2 * (q1 * q3 + q0 * q2),
    2 * (q1 * q2 + q0 * q3), q0 * q0 - q1 * q1 + q2 * q2 - q3 * q3, 2 * (q2 * q3 - q0 * q1),
    2 * (q1 * q3 - q0 * q2), 2 * (q2 * q3 + q0 * q1), q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3,
  );
  const aligned = applySuperposition(mobileA, rotation, cm, cr);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const dx = aligned[3 * i]! - referenceA[3 * i]!;
    const dy = aligned[3 * i + 1]! - referenceA[3 * i + 1]!;
    const dz = aligned[3 * i + 2]! - referenceA[3 * i + 2]!;
    sum += w[i]! * (dx * dx + dy * dy + dz * dz);
  }
  return { rotation, referenceCentreA: cr, mobileCentreA: cm, rmsdA: Math.sqrt(sum / total) };
}

function applySuperposition(mobileA: Float64Array, r: Float64Array, cm: Float64Array, cr: Float64Array): Float64Array {
  const out = new Float64Array(mobileA.length);
  for (let i = 0; i < mobileA.length / 3; i++) {
    const x = mobileA[3 * i]! - cm[0]!;
    const y = mobileA[3 * i + 1]! - cm[1]!;
    const z = mobileA[3 * i + 2]! - cm[2]!;
    out[3 * i] = r[0]! * x + r[1]! * y + r[2]! * z + cr[0]!;
    out[3 * i + 1] = r[3]! * x + r[4]! * y + r[5]! * z + cr[1]!;
    out[3 * i + 2] = r[6]! * x + r[7]! * y + r[8]! * z + cr[2]!;
  }
  return out;
}

/** RMSD (Å) between two structures after optimal superposition (proper rotations only). */
export function kabschRmsd(aA: Float64Array, bA: Float64Array, masses?: ArrayLike<number>): number {
  return superpose(aA, bA, masses).rmsdA;
}

/** `mobile` rotated and translated onto `reference` (new array, Å). */
export function alignTo(reference: Float64Array, mobile: Float64Array, masses?: ArrayLike<number>): Float64Array {
  const s = superpose(reference, mobile, masses);
  return applySuperposition(mobile, s.rotation, s.mobileCentreA, s.referenceCentreA);
}

/** RMSD (Å) without any superposition (same frame), optionally weighted. */
export function plainRmsd(aA: Float64Array, bA: Float64Array, masses?: ArrayLike<number>): number {
  const n = check(aA, bA);
  const w = weightsOf(n, masses);
  let sum = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const dx = aA[3 * i]! - bA[3 * i]!;
    const dy = aA[3 * i + 1]! - bA[3 * i + 1]!;
    const dz = aA[3 * i + 2]! - bA[3 * i + 2]!;
    sum += w[i]! * (dx * dx + dy * dy + dz * dz);
    total += w[i]!;
  }
  return Math.sqrt(sum / total);
}
