/**
 * The one contract at the centre of atomgp. Anything that gives energies and forces for a fixed
 * list of atoms implements `Potential`: the GP model set, analytic test potentials, reference
 * methods. Dynamics, optimisers, sampling and analysis accept any of them.
 *
 * Units: positions in Å (flat, x0 y0 z0 x1 …); energies in Ha; forces in Ha/bohr (FFLUX's units).
 * Results go into caller-owned buffers; implementations do not allocate per call.
 */
export interface PotentialResult {
  /** Total energy, Ha. */
  energyHa: number;
  /** Per-atom energies, Ha (length N). For potentials without a split, a documented partition. */
  atomicEnergiesHa: Float64Array;
  /** Forces −∂E/∂r, Ha/bohr, flat length 3N. */
  forcesHaPerBohr: Float64Array;
}

export interface Potential {
  /** Number of atoms this potential is set up for. */
  readonly nAtoms: number;
  /** Element symbols in atom order. */
  readonly symbols: readonly string[];
  /** Short human-readable description (for logs and reports). */
  readonly description: string;
  /**
   * Evaluate at `positionsA` (Å, length 3N) and write into `out`. When `withForces` is false,
   * forces may be left untouched (cheaper energy-only evaluation).
   */
  compute(positionsA: Float64Array, out: PotentialResult, withForces?: boolean): void;
}

/** Allocate a result record for `nAtoms` atoms (once, outside hot loops). */
export function createResult(nAtoms: number): PotentialResult {
  return { energyHa: 0, atomicEnergiesHa: new Float64Array(nAtoms), forcesHaPerBohr: new Float64Array(3 * nAtoms) };
}
