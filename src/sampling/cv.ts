/**
 * Collective variables (CVs) for enhanced sampling: a distance (Å), a bond angle (radians, 0..π)
 * and a dihedral (radians, (−π, π], periodic), each with its exact gradient with respect to the
 * Cartesian positions (Å), so a bias V(s) becomes forces −∂V/∂s · ∂s/∂r.
 *
 * Conventions match src/chem/molecule.ts: the angle i-j-k is at atom j; the dihedral i-j-k-l has
 * the IUPAC sign. Atom indices in a `CvSpec` are 0-based.
 */
import { AtomgpError } from '../errors.js';

export type CvKind = 'dihedral' | 'distance' | 'angle';

export interface CvSpec {
  kind: CvKind;
  /** 0-based atom indices: 2 for a distance, 3 for an angle (centre in the middle), 4 for a dihedral. */
  atoms: number[];
  label?: string;
}

const ATOMS_PER_KIND: Record<CvKind, number> = { distance: 2, angle: 3, dihedral: 4 };

/** Whether the CV is an angle on a circle (differences are taken modulo 2π). */
export function isPeriodicCv(spec: CvSpec): boolean {
  return spec.kind === 'dihedral';
}

/** Unit of the CV's values (and of its hill widths). */
export function cvUnit(spec: CvSpec): 'rad' | 'Å' {
  return spec.kind === 'distance' ? 'Å' : 'rad';
}

/** Readable name: the label, or e.g. `dihedral 1-2-3-4` (1-based atoms, as users count). */
export function cvName(spec: CvSpec): string {
  return spec.label ?? `${spec.kind} ${spec.atoms.map((a) => a + 1).join('-')}`;
}

/** Wrap an angle difference into (−π, π]. */
export function wrapAngle(d: number): number {
  const twoPi = 2 * Math.PI;
  let w = d - twoPi * Math.floor((d + Math.PI) / twoPi);
  if (w <= -Math.PI) w += twoPi;
  return w;
}

/** a − b for this CV: wrapped into (−π, π] for a dihedral, plain otherwise. */
export function cvDifference(spec: CvSpec, a: number, b: number): number {
  return isPeriodicCv(spec) ? wrapAngle(a - b) : a - b;
}

/**
 * Check CV definitions against a system of `nAtoms` atoms: known kind, the right number of
 * integer atom indices in 0..nAtoms−1, all distinct. Errors name the CV (1-based position).
 */
export function validateCvs(specs: readonly CvSpec[], nAtoms: number): void {
  specs.forEach((s, c) => {
    const where = `collective variable ${c + 1}${s.label ? ` (${s.label})` : ''}`;
    const need = ATOMS_PER_KIND[s.kind];
    if (need === undefined) throw new AtomgpError(`${where}: unknown kind '${s.kind}', expected dihedral, distance or angle`);
    if (!Array.isArray(s.atoms) || s.atoms.length !== need) {
      throw new AtomgpError(`${where}: a ${s.kind} needs ${need} atom indices, got ${Array.isArray(s.atoms) ? s.atoms.length : 'none'}`);
    }
    for (const a of s.atoms) {
      if (!Number.isInteger(a) || a < 0 || a >= nAtoms) {
        throw new AtomgpError(`${where}: atom index ${a} is outside 0..${nAtoms - 1} (CV atom indices are 0-based)`);
      }
    }
    if (new Set(s.atoms).size !== need) throw new AtomgpError(`${where}: atoms must be distinct, got ${s.atoms.join(' ')} (0-based)`);
  });
}

/**
 * Value of the CV at `positionsA` (flat Å, length 3N). With `gradOut` (length 3N) the gradient
 * ∂s/∂r is written there (dimensionless for a distance, rad/Å for an angle or dihedral) and every
 * entry not belonging to the CV's atoms is set to 0. No allocation.
 * Indices are not checked here (hot path): call `validateCvs` once beforehand.
 */
export function evaluateCv(spec: CvSpec, positionsA: Float64Array, gradOut?: Float64Array): number {
  if (gradOut) gradOut.fill(0);
  const a = spec.atoms;
  switch (spec.kind) {
    case 'distance':
      return distance(positionsA, a[0]!, a[1]!, gradOut);
    case 'angle':
      return angle(positionsA, a[0]!, a[1]!, a[2]!, gradOut);
    case 'dihedral':
      return dihedral(positionsA, a[0]!, a[1]!, a[2]!, a[3]!, gradOut);
    default:
      throw new AtomgpError(`unknown collective variable kind '${(spec as CvSpec).kind}'`);
  }
}

function distance(x: Float64Array, i: number, j: number, g: Float64Array | undefined): number {
  const dx = x[3 * j]! - x[3 * i]!;
  const dy = x[3 * j + 1]! - x[3 * i + 1]!;
  const dz = x[3 * j + 2]! - x[3 * i + 2]!;
  const r = Math.sqrt(dx * dx + dy * dy + dz * dz);
  if (g && r > 0) {
    g[3 * j] = dx / r;
    g[3 * j + 1] = dy / r;
    g[3 * j + 2] = dz / r;
    g[3 * i] = -dx / r;
    g[3 * i + 1] = -dy / r;
    g[3 * i + 2] = -dz / r;
  }
  return r;
}

function angle(x: Float64Array, i: number, j: number, k: number, g: Float64Array | undefined): number {
  const ux = x[3 * i]! - x[3 * j]!;
  const uy = x[3 * i + 1]! - x[3 * j + 1]!;
  const uz = x[3 * i + 2]! - x[3 * j + 2]!;
  const vx = x[3 * k]! - x[3 * j]!;
  const vy = x[3 * k + 1]! - x[3 * j + 1]!;
  const vz = x[3 * k + 2]! - x[3 * j + 2]!;
  const cx = uy * vz - uz * vy;
  const cy = uz * vx - ux * vz;
  const cz = ux * vy - uy * vx;
  const cross = Math.sqrt(cx * cx + cy * cy + cz * cz);
  const dot = ux * vx + uy * vy + uz * vz;
  // atan2 keeps full precision near 0 and π, where acos of the cosine loses digits.
  const theta = Math.atan2(cross, dot);
  if (g) {
    const ru2 = ux * ux + uy * uy + uz * uz;
    const rv2 = vx * vx + vy * vy + vz * vz;
    // dθ/du = (cosθ û − v̂)/(|u| sinθ) = ((u·v) u/|u|² − v)/|u × v|, likewise for v; singular at sinθ = 0.
    const inv = cross > 1e-300 ? 1 / cross : 0;
    const giX = ((dot / ru2) * ux - vx) * inv;
    const giY = ((dot / ru2) * uy - vy) * inv;
    const giZ = ((dot / ru2) * uz - vz) * inv;
    const gkX = ((dot / rv2) * vx - ux) * inv;
    const gkY = ((dot / rv2) * vy - uy) * inv;
    const gkZ = ((dot / rv2) * vz - uz) * inv;
    g[3 * i] = giX;
    g[3 * i + 1] = giY;
    g[3 * i + 2] = giZ;
    g[3 * k] = gkX;
    g[3 * k + 1] = gkY;
    g[3 * k + 2] = gkZ;
    g[3 * j] = -giX - gkX;
    g[3 * j + 1] = -giY - gkY;
    g[3 * j + 2] = -giZ - gkZ;
  }
  return theta;
}

function dihedral(x: Float64Array, i: number, j: number, k: number, l: number, g: Float64Array | undefined): number {
  const b1x = x[3 * j]! - x[3 * i]!;
  const b1y = x[3 * j + 1]! - x[3 * i + 1]!;
  const b1z = x[3 * j + 2]! - x[3 * i + 2]!;
  const b2x = x[3 * k]! - x[3 * j]!;
  const b2y = x[3 * k + 1]! - x[3 * j + 1]!;
  const b2z = x[3 * k + 2]! - x[3 * j + 2]!;
  const b3x = x[3 * l]! - x[3 * k]!;
  const b3y = x[3 * l + 1]! - x[3 * k + 1]!;
  const b3z = x[3 * l + 2]! - x[3 * k + 2]!;
  // m = b1 × b2, n = b2 × b3
  const mx = b1y * b2z - b1z * b2y;
  const my = b1z * b2x - b1x * b2z;
  const mz = b1x * b2y - b1y * b2x;
  const nx = b2y * b3z - b2z * b3y;
  const ny = b2z * b3x - b2x * b3z;
  const nz = b2x * b3y - b2y * b3x;
  const b2sq = b2x * b2x + b2y * b2y + b2z * b2z;
  const b2len = Math.sqrt(b2sq);
  const yy = b2len * (b1x * nx + b1y * ny + b1z * nz);
  const xx = mx * nx + my * ny + mz * nz;
  let phi = Math.atan2(yy, xx);
  if (phi === -Math.PI) phi = Math.PI;
  if (g) {
    const m2 = mx * mx + my * my + mz * mz;
    const n2 = nx * nx + ny * ny + nz * nz;
    // Blondel & Karplus (1996): singularity-free except for collinear triples (m or n = 0).
    const fi = m2 > 1e-300 ? -b2len / m2 : 0;
    const fl = n2 > 1e-300 ? b2len / n2 : 0;
    const giX = fi * mx;
    const giY = fi * my;
    const giZ = fi * mz;
    const glX = fl * nx;
    const glY = fl * ny;
    const glZ = fl * nz;
    const p = b2sq > 0 ? (b1x * b2x + b1y * b2y + b1z * b2z) / b2sq : 0;
    const q = b2sq > 0 ? (b3x * b2x + b3y * b2y + b3z * b2z) / b2sq : 0;
    // ∂φ/∂r_j = −(1 + p) ∂φ/∂r_i + q ∂φ/∂r_l with p = b1·b2/|b2|², q = b3·b2/|b2|²;
    // translation invariance gives ∂φ/∂r_k = −(∂φ/∂r_i + ∂φ/∂r_j + ∂φ/∂r_l).
    const gjX = -(1 + p) * giX + q * glX;
    const gjY = -(1 + p) * giY + q * glY;
    const gjZ = -(1 + p) * giZ + q * glZ;
    g[3 * i] = giX;
    g[3 * i + 1] = giY;
    g[3 * i + 2] = giZ;
    g[3 * l] = glX;
    g[3 * l + 1] = glY;
    g[3 * l + 2] = glZ;
    g[3 * j] = gjX;
    g[3 * j + 1] = gjY;
    g[3 * j + 2] = gjZ;
    g[3 * k] = -giX - glX - gjX;
    g[3 * k + 1] = -giY - glY - gjY;
    g[3 * k + 2] = -giZ - glZ - gjZ;
  }
  return phi;
}
