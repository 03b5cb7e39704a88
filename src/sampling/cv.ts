/**
 * Collective variables (CVs) for enhanced sampling: a distance (Å), a bond angle (radians, 0..π),
 * a dihedral (radians, (−π, π], periodic) and a distance difference d(a, h) − d(h, b) (Å: a
 * proton-transfer coordinate, negative with h on a, positive on b), each with its exact gradient with respect to the
 * Cartesian positions (Å), so a bias V(s) becomes forces −∂V/∂s · ∂s/∂r.
 *
 * Conventions match src/chem/molecule.ts: the angle i-j-k is at atom j; the dihedral i-j-k-l has
 * the IUPAC sign. Atom indices in a `CvSpec` are 0-based.
 */
import { angleWithGradient, dihedralWithGradient, distanceWithGradient } from '../chem/internal-coordinates.js';
import { AtomgpError } from '../errors.js';

export type CvKind = 'dihedral' | 'distance' | 'angle' | 'distance-difference';

export interface CvSpec {
  kind: CvKind;
  /**
   * 0-based atom indices: 2 for a distance, 3 for an angle (centre in the middle), 4 for a
   * dihedral, 3 for a distance difference [a, h, b]: d(a, h) − d(h, b).
   */
  atoms: number[];
  label?: string;
}

const ATOMS_PER_KIND: Record<CvKind, number> = { distance: 2, angle: 3, dihedral: 4, 'distance-difference': 3 };

/** Whether the CV is an angle on a circle (differences are taken modulo 2π). */
export function isPeriodicCv(spec: CvSpec): boolean {
  return spec.kind === 'dihedral';
}

/** Unit of the CV's values (and of its hill widths). */
export function cvUnit(spec: CvSpec): 'rad' | 'Å' {
  return spec.kind === 'distance' || spec.kind === 'distance-difference' ? 'Å' : 'rad';
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
    if (need === undefined) throw new AtomgpError(`${where}: unknown kind '${s.kind}', expected dihedral, distance, angle or distance-difference`);
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
      return distanceWithGradient(positionsA, a[0]!, a[1]!, gradOut);
    case 'angle':
      return angleWithGradient(positionsA, a[0]!, a[1]!, a[2]!, gradOut);
    case 'dihedral':
      return dihedralWithGradient(positionsA, a[0]!, a[1]!, a[2]!, a[3]!, gradOut);
    case 'distance-difference':
      return distanceDifference(positionsA, a[0]!, a[1]!, a[2]!, gradOut);
    default:
      throw new AtomgpError(`unknown collective variable kind '${(spec as CvSpec).kind}'`);
  }
}

/** d(a, h) − d(h, b), Å; its gradient (dimensionless) into `g` at a, h and b. No allocation. */
function distanceDifference(x: Float64Array, a: number, h: number, b: number, g: Float64Array | undefined): number {
  const dAH = distanceWithGradient(x, a, h, g);
  if (!g) return dAH - distanceWithGradient(x, h, b, undefined);
  // ∂d(a,h)/∂r_h is the unit vector from a to h; keep it before d(h,b) writes h's entries
  const hx = g[3 * h]!;
  const hy = g[3 * h + 1]!;
  const hz = g[3 * h + 2]!;
  const dHB = distanceWithGradient(x, h, b, g);
  g[3 * h] = hx - g[3 * h]!;
  g[3 * h + 1] = hy - g[3 * h + 1]!;
  g[3 * h + 2] = hz - g[3 * h + 2]!;
  g[3 * b] = -g[3 * b]!;
  g[3 * b + 1] = -g[3 * b + 1]!;
  g[3 * b + 2] = -g[3 * b + 2]!;
  return dAH - dHB;
}
