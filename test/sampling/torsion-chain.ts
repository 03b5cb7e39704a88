// Test fixture shared by wtmetad.test.ts and bias.test.ts: a butane-like C4 chain with a two-well torsion.
import { KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../../src/chem/units.js';
import { AnalyticPotential } from '../../src/potentials/analytic.js';
import type { Potential, PotentialResult } from '../../src/potentials/potential.js';
import { type CvSpec, evaluateCv } from '../../src/sampling/cv.js';

export const BARRIER_KCAL = 9;
export const THETA0 = (112 * Math.PI) / 180;
export const BOND_A = 1.53;

/**
 * Butane-like C4 chain: harmonic bonds and angles (analytic.ts) plus a two-well torsion
 * U(φ) = (B/2)(1 − cos 2φ), minima at φ = 0 and π, barriers B = 9 kcal/mol at ±π/2.
 */
export class TorsionChain implements Potential {
  readonly nAtoms = 4;
  readonly symbols = ['C', 'C', 'C', 'C'];
  readonly description = 'C4 chain with a 9 kcal/mol two-well torsion';
  private readonly base = new AnalyticPotential({
    symbols: ['C', 'C', 'C', 'C'],
    harmonicBonds: [0, 1, 2].map((i) => ({ i, j: i + 1, kKcalPerMolPerA2: 600, r0A: BOND_A })),
    harmonicAngles: [0, 1].map((i) => ({ i, j: i + 1, k: i + 2, kKcalPerMolPerRad2: 100, theta0Rad: THETA0 })),
  });
  private readonly g = new Float64Array(12);
  private readonly cv: CvSpec = { kind: 'dihedral', atoms: [0, 1, 2, 3] };
  compute(x: Float64Array, out: PotentialResult, withForces = true): void {
    this.base.compute(x, out, withForces);
    const phi = evaluateCv(this.cv, x, this.g);
    const eKcal = 0.5 * BARRIER_KCAL * (1 - Math.cos(2 * phi));
    out.energyHa += eKcal / KCAL_PER_MOL_PER_HARTREE;
    for (let a = 0; a < 4; a++) out.atomicEnergiesHa[a] = out.atomicEnergiesHa[a]! + eKcal / 4 / KCAL_PER_MOL_PER_HARTREE;
    if (!withForces) return;
    const dE = BARRIER_KCAL * Math.sin(2 * phi);
    for (let i = 0; i < 12; i++) out.forcesHaPerBohr[i] = out.forcesHaPerBohr[i]! - (dE * this.g[i]!) / KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;
  }
}

export function chain(phi: number, L = BOND_A, theta = THETA0): Float64Array {
  const s = Math.sin(theta);
  const c = Math.cos(theta);
  return Float64Array.from([L * c, L * s, 0, 0, 0, 0, L, 0, 0, L - L * c, L * s * Math.cos(phi), L * s * Math.sin(phi)]);
}

export const DIHEDRAL: CvSpec = { kind: 'dihedral', atoms: [0, 1, 2, 3], label: 'phi' };
