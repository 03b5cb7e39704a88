/**
 * Restoring-force analysis: do the forces of a model "stretch short bonds and compress long ones"?
 * (The paper's test of a prior mean: from a distorted start, MF5-like models push every displaced
 * bond back; MIN-like models pull stretched bonds further out.)
 *
 * For a bond i-j with unit vector u = (r_j − r_i)/|r_j − r_i|, the bond force is the projection
 * (F_j − F_i)·u / 2, in kcal/mol/Å: positive pushes the atoms apart (stretching), negative pulls
 * them together (compressing). For an isolated pair potential it is −dE/dr exactly; in a molecule
 * the other terms acting on i and j add their own projections.
 */
import { AtomgpError } from '../errors.js';
import type { Bond } from '../chem/connectivity.js';
import { KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR } from '../chem/units.js';

/** `restoring`: the force drives the bond back towards its reference; `diverging`: away from it (or zero); `at-reference`: |Δr| ≤ tolerance. */
export type BondVerdict = 'restoring' | 'diverging' | 'at-reference';

export interface BondForceRecord {
  /** 0-based atoms of the bond. */
  i: number;
  j: number;
  lengthA: number;
  referenceA: number;
  /** length − reference, Å. */
  deltaA: number;
  /** (F_j − F_i)·u/2, kcal/mol/Å; positive = stretching. */
  bondForceKcalPerMolPerA: number;
  verdict: BondVerdict;
}

export interface RestoringSummary {
  bonds: BondForceRecord[];
  /** Bonds further than the tolerance from their reference. */
  nDisplaced: number;
  nRestoring: number;
  /** nRestoring / nDisplaced; null when no bond is displaced. */
  fractionRestoring: number | null;
  /** Largest |bond force| over all bonds, kcal/mol/Å, and the index of that bond in `bonds`. */
  maxAbsForceKcalPerMolPerA: number;
  maxAbsForceBond: number;
}

/** Lengths (Å) of `bonds` in `positionsA`. */
export function bondLengthsA(positionsA: Float64Array, bonds: readonly Bond[]): Float64Array {
  const n = positionsA.length / 3;
  const out = new Float64Array(bonds.length);
  bonds.forEach(([i, j], b) => {
    if (!Number.isInteger(i) || !Number.isInteger(j) || i < 0 || j < 0 || i >= n || j >= n) {
      throw new AtomgpError(`bond (${i + 1}, ${j + 1}) refers to an atom outside 1..${n}`);
    }
    const dx = positionsA[3 * j]! - positionsA[3 * i]!;
    const dy = positionsA[3 * j + 1]! - positionsA[3 * i + 1]!;
    const dz = positionsA[3 * j + 2]! - positionsA[3 * i + 2]!;
    out[b] = Math.sqrt(dx * dx + dy * dy + dz * dz);
  });
  return out;
}

/**
 * Project the forces (Ha/bohr, as a `Potential` returns them) on every bond and judge each bond
 * against its reference length (e.g. the undistorted start). A bond within `tolA` of its
 * reference is `at-reference`; otherwise it is `restoring` when a long bond is compressed
 * (force < 0) or a short one stretched (force > 0), else `diverging`.
 */
export function restoringForces(
  positionsA: Float64Array,
  forcesHaPerBohr: Float64Array,
  bonds: readonly Bond[],
  referenceLengthsA: ArrayLike<number>,
  tolA = 0.01,
): RestoringSummary {
  if (forcesHaPerBohr.length !== positionsA.length) {
    throw new AtomgpError(`restoring forces: ${positionsA.length / 3} atoms have ${positionsA.length} coordinates but ${forcesHaPerBohr.length} force components`);
  }
  if (referenceLengthsA.length !== bonds.length) {
    throw new AtomgpError(`restoring forces: ${bonds.length} bonds but ${referenceLengthsA.length} reference lengths`);
  }
  if (!(tolA >= 0)) throw new AtomgpError(`restoring forces: tolerance must be ≥ 0 Å, got ${tolA}`);
  const lengths = bondLengthsA(positionsA, bonds);
  const f = forcesHaPerBohr;
  const records: BondForceRecord[] = [];
  let nDisplaced = 0;
  let nRestoring = 0;
  let maxAbs = 0;
  let maxBond = -1;
  bonds.forEach(([i, j], b) => {
    const r = lengths[b]!;
    const ref = referenceLengthsA[b]!;
    if (!(r > 0)) throw new AtomgpError(`restoring forces: atoms ${i + 1} and ${j + 1} coincide`);
    const ux = (positionsA[3 * j]! - positionsA[3 * i]!) / r;
    const uy = (positionsA[3 * j + 1]! - positionsA[3 * i + 1]!) / r;
    const uz = (positionsA[3 * j + 2]! - positionsA[3 * i + 2]!) / r;
    const projHa = 0.5 * ((f[3 * j]! - f[3 * i]!) * ux + (f[3 * j + 1]! - f[3 * i + 1]!) * uy + (f[3 * j + 2]! - f[3 * i + 2]!) * uz);
    const force = projHa * KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;
    const delta = r - ref;
    let verdict: BondVerdict = 'at-reference';
    if (Math.abs(delta) > tolA) {
      nDisplaced++;
      verdict = (delta > 0 && force < 0) || (delta < 0 && force > 0) ? 'restoring' : 'diverging';
      if (verdict === 'restoring') nRestoring++;
    }
    // NaN forces count as the largest possible: a broken model must not look calm.
    const a = Number.isNaN(force) ? Infinity : Math.abs(force);
    if (a > maxAbs || maxBond < 0) {
      maxAbs = a;
      maxBond = b;
    }
    records.push({ i, j, lengthA: r, referenceA: ref, deltaA: delta, bondForceKcalPerMolPerA: force, verdict });
  });
  return {
    bonds: records,
    nDisplaced,
    nRestoring,
    fractionRestoring: nDisplaced > 0 ? nRestoring / nDisplaced : null,
    maxAbsForceKcalPerMolPerA: maxAbs,
    maxAbsForceBond: maxBond,
  };
}

/**
 * First time (fs) after which the bond length stays within `tolA` of `targetA` for the rest of the
 * series: the time of the first sample of the final run of in-tolerance samples. `null` when the
 * last sample is outside the tolerance (the bond never settled). Non-finite lengths count as outside.
 */
export function bondRelaxationTime(timesFs: ArrayLike<number>, lengthsA: ArrayLike<number>, targetA: number, tolA: number): number | null {
  if (timesFs.length !== lengthsA.length) throw new AtomgpError(`relaxation time: ${timesFs.length} times but ${lengthsA.length} lengths`);
  if (!(tolA >= 0)) throw new AtomgpError(`relaxation time: tolerance must be ≥ 0 Å, got ${tolA}`);
  let k = lengthsA.length;
  while (k > 0 && Math.abs(lengthsA[k - 1]! - targetA) <= tolA) k--;
  return k === lengthsA.length ? null : timesFs[k]!;
}

/**
 * First time (fs) the bond length comes within `tolA` of `targetA` — the relaxation time of a bond
 * released from a distorted start (the robustness study's `relaxation_time_ps`, recorded during
 * the run by dynamics/monitor.ts `BondReturnWatch` with the same rule). `null` when it never does.
 * Unlike `bondRelaxationTime` it does not ask the bond to stay there: thermal vibration at high
 * temperature may carry it out of a tight band again. Non-finite lengths count as outside.
 */
export function bondFirstReturnTime(timesFs: ArrayLike<number>, lengthsA: ArrayLike<number>, targetA: number, tolA: number): number | null {
  if (timesFs.length !== lengthsA.length) throw new AtomgpError(`return time: ${timesFs.length} times but ${lengthsA.length} lengths`);
  if (!(tolA >= 0)) throw new AtomgpError(`return time: tolerance must be ≥ 0 Å, got ${tolA}`);
  for (let k = 0; k < lengthsA.length; k++) if (Math.abs(lengthsA[k]! - targetA) <= tolA) return timesFs[k]!;
  return null;
}
