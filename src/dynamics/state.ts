/**
 * MD state and the pure helpers around it (kinetic energy, temperature, Maxwell–Boltzmann
 * velocities, removal of centre-of-mass translation and rotation).
 *
 * Internal MD units: positions Å, time fs, velocities Å/fs, masses amu, energies kcal/mol, forces
 * kcal/mol/Å. A force of 1 kcal/mol/Å on 1 amu accelerates it by 4.184e-4 Å/fs², so
 * a = F/m · ACCEL and K = ½ m v² / ACCEL with ACCEL = A_PER_FS2_PER_KCAL_PER_MOL_PER_A_PER_AMU.
 */
import { A_PER_FS2_PER_KCAL_PER_MOL_PER_A_PER_AMU, BOLTZMANN_KCAL_PER_MOL_PER_K } from '../chem/units.js';
import { jacobiEigenSymmetric } from '../math/small.js';
import type { Rng } from '../util/rng.js';

export const ACCEL = A_PER_FS2_PER_KCAL_PER_MOL_PER_A_PER_AMU;
export const KB = BOLTZMANN_KCAL_PER_MOL_PER_K;

/** Which rigid-body motions are removed from the velocities (and not counted as degrees of freedom). */
export type MotionRemoval = 'none' | 'translation' | 'translation+rotation';

/** Running sums for the summary; part of the state so that a resumed run reports the same numbers. */
export interface MdStats {
  samples: number;
  sumTemperatureK: number;
  sumEpotKcalPerMol: number;
  conserved0KcalPerMol: number;
  epot0KcalPerMol: number;
  maxAbsDriftKcalPerMol: number;
  /** Steps the step guard took again in substeps, those still beyond it at 2^10, the deepest level, and the force calls spent. */
  guardedSteps: number;
  guardUnresolvedSteps: number;
  guardMaxLevel: number;
  guardForceCalls: number;
}

/**
 * Everything that evolves during a run. Plain record, arrays preallocated once; a checkpoint is
 * exactly this record (plus the settings fingerprint).
 */
export interface MdState {
  nAtoms: number;
  massesAmu: Float64Array;
  positionsA: Float64Array;
  velocitiesAPerFs: Float64Array;
  forcesKcalPerMolPerA: Float64Array;
  /** Per-atom energies of the last evaluation, kcal/mol. */
  atomicEnergiesKcalPerMol: Float64Array;
  epotKcalPerMol: number;
  step: number;
  timeFs: number;
  /**
   * Thermostat variables: NHC → [ξ_1..ξ_M, vξ_1..vξ_M] (ξ dimensionless, vξ in 1/fs);
   * Langevin → [heat given to the bath, kcal/mol]; NVE → empty.
   */
  thermostat: Float64Array;
  /** Degrees of freedom used for the temperature. */
  nDof: number;
  /** `Rng.getState()` of src/util/rng.ts (words and the cached normal, which may be NaN). */
  rngState: number[];
  stats: MdStats;
}

export function createState(positionsA: Float64Array, massesAmu: Float64Array, thermostatLength: number): MdState {
  const n = massesAmu.length;
  return {
    nAtoms: n,
    massesAmu: Float64Array.from(massesAmu),
    positionsA: Float64Array.from(positionsA),
    velocitiesAPerFs: new Float64Array(3 * n),
    forcesKcalPerMolPerA: new Float64Array(3 * n),
    atomicEnergiesKcalPerMol: new Float64Array(n),
    epotKcalPerMol: 0,
    step: 0,
    timeFs: 0,
    thermostat: new Float64Array(thermostatLength),
    nDof: 3 * n,
    rngState: [],
    stats: { samples: 0, sumTemperatureK: 0, sumEpotKcalPerMol: 0, conserved0KcalPerMol: 0, epot0KcalPerMol: 0, maxAbsDriftKcalPerMol: 0, guardedSteps: 0, guardUnresolvedSteps: 0, guardMaxLevel: 0, guardForceCalls: 0 },
  };
}

/** Kinetic energy, kcal/mol. */
export function kineticEnergyKcalPerMol(velocitiesAPerFs: Float64Array, massesAmu: Float64Array): number {
  let s = 0;
  for (let i = 0; i < massesAmu.length; i++) {
    const vx = velocitiesAPerFs[3 * i]!;
    const vy = velocitiesAPerFs[3 * i + 1]!;
    const vz = velocitiesAPerFs[3 * i + 2]!;
    s += massesAmu[i]! * (vx * vx + vy * vy + vz * vz);
  }
  return (0.5 * s) / ACCEL;
}

/** Instantaneous temperature (K) from the kinetic energy and the degrees of freedom. */
export function temperatureK(ekinKcalPerMol: number, nDof: number): number {
  return nDof > 0 ? (2 * ekinKcalPerMol) / (nDof * KB) : 0;
}

/**
 * Number of rigid-body rotations of a geometry: 3, 2 for a linear molecule, 0 for one atom
 * (eigenvalues of the inertia tensor above a relative tolerance).
 */
export function rotationalModes(positionsA: Float64Array, massesAmu: Float64Array): number {
  if (massesAmu.length < 2) return 0;
  const inertia = inertiaTensor(positionsA, massesAmu);
  const { values } = symmetricEigen3(inertia);
  const max = Math.max(...values);
  return values.filter((v) => v > 1e-8 * max).length;
}

/** Degrees of freedom after removing the given motions: 3N, 3N − 3, or 3N − 3 − rotations (3N−6; 3N−5 if linear). */
export function degreesOfFreedom(positionsA: Float64Array, massesAmu: Float64Array, removal: MotionRemoval): number {
  const n = massesAmu.length;
  if (removal === 'none') return 3 * n;
  if (removal === 'translation') return Math.max(3 * n - 3, 0);
  return Math.max(3 * n - 3 - rotationalModes(positionsA, massesAmu), 0);
}

/** Inertia tensor about the centre of mass (amu Å², row-major 3×3). */
export function inertiaTensor(positionsA: Float64Array, massesAmu: Float64Array): Float64Array {
  const c = centre(positionsA, massesAmu);
  const t = new Float64Array(9);
  for (let i = 0; i < massesAmu.length; i++) {
    const m = massesAmu[i]!;
    const x = positionsA[3 * i]! - c[0]!;
    const y = positionsA[3 * i + 1]! - c[1]!;
    const z = positionsA[3 * i + 2]! - c[2]!;
    t[0]! += m * (y * y + z * z);
    t[4]! += m * (x * x + z * z);
    t[8]! += m * (x * x + y * y);
    t[1]! -= m * x * y;
    t[2]! -= m * x * z;
    t[5]! -= m * y * z;
  }
  t[3] = t[1]!;
  t[6] = t[2]!;
  t[7] = t[5]!;
  return t;
}

function centre(positionsA: Float64Array, massesAmu: Float64Array): [number, number, number] {
  let mx = 0;
  let my = 0;
  let mz = 0;
  let total = 0;
  for (let i = 0; i < massesAmu.length; i++) {
    const m = massesAmu[i]!;
    mx += m * positionsA[3 * i]!;
    my += m * positionsA[3 * i + 1]!;
    mz += m * positionsA[3 * i + 2]!;
    total += m;
  }
  return [mx / total, my / total, mz / total];
}

/** Total linear momentum (amu Å/fs). */
export function linearMomentum(velocitiesAPerFs: Float64Array, massesAmu: Float64Array): [number, number, number] {
  const p: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < massesAmu.length; i++) {
    p[0] += massesAmu[i]! * velocitiesAPerFs[3 * i]!;
    p[1] += massesAmu[i]! * velocitiesAPerFs[3 * i + 1]!;
    p[2] += massesAmu[i]! * velocitiesAPerFs[3 * i + 2]!;
  }
  return p;
}

/** Angular momentum about the centre of mass (amu Å²/fs). */
export function angularMomentum(
  positionsA: Float64Array,
  velocitiesAPerFs: Float64Array,
  massesAmu: Float64Array,
): [number, number, number] {
  const c = centre(positionsA, massesAmu);
  const l: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < massesAmu.length; i++) {
    const m = massesAmu[i]!;
    const x = positionsA[3 * i]! - c[0];
    const y = positionsA[3 * i + 1]! - c[1];
    const z = positionsA[3 * i + 2]! - c[2];
    const vx = velocitiesAPerFs[3 * i]!;
    const vy = velocitiesAPerFs[3 * i + 1]!;
    const vz = velocitiesAPerFs[3 * i + 2]!;
    l[0] += m * (y * vz - z * vy);
    l[1] += m * (z * vx - x * vz);
    l[2] += m * (x * vy - y * vx);
  }
  return l;
}

/**
 * Remove centre-of-mass translation and (optionally) rigid rotation from the velocities, in place.
 * Both are orthogonal projections in the mass-weighted metric, so applying them to a thermal
 * velocity leaves a thermal velocity of the remaining degrees of freedom. Linear molecules: the
 * inertia tensor is inverted on its non-zero eigenvalues only.
 */
export function removeRigidMotion(
  positionsA: Float64Array,
  velocitiesAPerFs: Float64Array,
  massesAmu: Float64Array,
  removal: MotionRemoval,
): void {
  if (removal === 'none') return;
  const n = massesAmu.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += massesAmu[i]!;
  const p = linearMomentum(velocitiesAPerFs, massesAmu);
  for (let i = 0; i < n; i++) {
    velocitiesAPerFs[3 * i]! -= p[0] / total;
    velocitiesAPerFs[3 * i + 1]! -= p[1] / total;
    velocitiesAPerFs[3 * i + 2]! -= p[2] / total;
  }
  if (removal !== 'translation+rotation' || n < 2) return;
  const l = angularMomentum(positionsA, velocitiesAPerFs, massesAmu);
  const { values, vectors } = symmetricEigen3(inertiaTensor(positionsA, massesAmu));
  const max = Math.max(...values);
  // ω = I⁺ L (pseudo-inverse over the non-zero principal moments)
  const w: [number, number, number] = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    if (values[k]! <= 1e-8 * max) continue;
    const ex = vectors[3 * 0 + k]!;
    const ey = vectors[3 * 1 + k]!;
    const ez = vectors[3 * 2 + k]!;
    const proj = (ex * l[0] + ey * l[1] + ez * l[2]) / values[k]!;
    w[0] += proj * ex;
    w[1] += proj * ey;
    w[2] += proj * ez;
  }
  const c = centre(positionsA, massesAmu);
  for (let i = 0; i < n; i++) {
    const x = positionsA[3 * i]! - c[0];
    const y = positionsA[3 * i + 1]! - c[1];
    const z = positionsA[3 * i + 2]! - c[2];
    velocitiesAPerFs[3 * i]! -= w[1] * z - w[2] * y;
    velocitiesAPerFs[3 * i + 1]! -= w[2] * x - w[0] * z;
    velocitiesAPerFs[3 * i + 2]! -= w[0] * y - w[1] * x;
  }
}

/**
 * Maxwell–Boltzmann velocities at `temperatureK` from `rng`, with the chosen rigid motions removed
 * and then rescaled so that the instantaneous temperature (over `nDof`) is exactly T.
 */
export function maxwellBoltzmannVelocities(
  positionsA: Float64Array,
  massesAmu: Float64Array,
  temperatureKelvin: number,
  rng: Rng,
  removal: MotionRemoval,
  nDof: number,
  out: Float64Array,
): void {
  const kT = KB * temperatureKelvin;
  for (let i = 0; i < massesAmu.length; i++) {
    const sigma = Math.sqrt((kT * ACCEL) / massesAmu[i]!);
    out[3 * i] = sigma * rng.normal();
    out[3 * i + 1] = sigma * rng.normal();
    out[3 * i + 2] = sigma * rng.normal();
  }
  removeRigidMotion(positionsA, out, massesAmu, removal);
  const t = temperatureK(kineticEnergyKcalPerMol(out, massesAmu), nDof);
  const scale = t > 0 ? Math.sqrt(temperatureKelvin / t) : 0;
  for (let i = 0; i < out.length; i++) out[i]! *= scale;
}

/**
 * Eigen-decomposition of a symmetric 3×3 matrix (row-major) by cyclic Jacobi rotations.
 * Returns eigenvalues and eigenvectors as the columns of `vectors` (row-major).
 */
export function symmetricEigen3(m: Float64Array): { values: number[]; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const vectors = jacobiEigenSymmetric(a, 3, 1e-30, 50);
  return { values: [a[0]!, a[4]!, a[8]!], vectors };
}
