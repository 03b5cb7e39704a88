/** Restoring forces at the distorted start, per prior mean (analysis/restoring.ts projections). */
import { restoringForces } from '../../analysis/restoring.js';
import type { Bond } from '../../chem/connectivity.js';
import { KCAL_PER_MOL_PER_HARTREE } from '../../chem/units.js';
import { createResult, type Potential } from '../../potentials/potential.js';

export interface RestoringEntry {
  prior: string;
  /** E(distorted) − E(start), kcal/mol: positive when the distortion is uphill. */
  energy_rise_kcal_per_mol: number;
  n_displaced: number;
  n_restoring: number;
  fraction_restoring: number | null;
  max_abs_force_kcal_per_mol_per_A: number;
  bonds: Array<{
    atoms: [number, number];
    length_A: number;
    reference_A: number;
    force_kcal_per_mol_per_A: number;
    /** null for bonds at their reference length (nothing to restore). */
    restoring: boolean | null;
    verdict: string;
  }>;
}

/** Forces of `potential` at the distorted start projected on the bonds of the undistorted start. */
export function restoringEntry(prior: string, potential: Potential, startA: Float64Array, distortedA: Float64Array, bonds: readonly Bond[]): RestoringEntry {
  const res = createResult(potential.nAtoms);
  potential.compute(startA, res, false);
  const e0 = res.energyHa;
  potential.compute(distortedA, res, true);
  const reference = bonds.map(([i, j]) => Math.hypot(startA[3 * j]! - startA[3 * i]!, startA[3 * j + 1]! - startA[3 * i + 1]!, startA[3 * j + 2]! - startA[3 * i + 2]!));
  const s = restoringForces(distortedA, res.forcesHaPerBohr, bonds, reference);
  return {
    prior,
    energy_rise_kcal_per_mol: (res.energyHa - e0) * KCAL_PER_MOL_PER_HARTREE,
    n_displaced: s.nDisplaced,
    n_restoring: s.nRestoring,
    fraction_restoring: s.fractionRestoring,
    max_abs_force_kcal_per_mol_per_A: s.maxAbsForceKcalPerMolPerA,
    bonds: s.bonds.map((b) => ({
      atoms: [b.i + 1, b.j + 1],
      length_A: b.lengthA,
      reference_A: b.referenceA,
      force_kcal_per_mol_per_A: b.bondForceKcalPerMolPerA,
      restoring: b.verdict === 'at-reference' ? null : b.verdict === 'restoring',
      verdict: b.verdict,
    })),
  };
}
