/**
 * Study stage for peptides: geometry optimisation of backbone conformers on the model and on the
 * reference (the paper's alanine-dipeptide test: C7eq 0.7 kcal/mol below C5, forces below
 * 1 kcal/mol/Å in ~20 steps). Starts: the relaxed minimum with (φ, ψ) of the first residue set to
 * C7eq (−83°, 73°) and C5 (−157°, 165°) (analysis/dihedrals.ts setDihedral), and each of them with
 * seeded random displacements of 0.05 Å RMS. From every start L-BFGS preconditioned by Lindh's model
 * Hessian (the same optimiser on both surfaces) runs on the default prior's models and on the
 * reference to fmax 0.05 kcal/mol/Å; reported per start: the step at which fmax
 * first fell below 1 kcal/mol/Å, energies relative to each surface's own C7eq minimum, (φ, ψ) of
 * the minima, the RMSD between the model's and the reference's minimum (Kabsch), and the
 * wall-time ratio model/reference. ΔE(C5 − C7eq) on both surfaces from the unperturbed starts.
 */
import { join } from 'node:path';
import { detectBackbone, dihedralOf, setDihedral } from '../../analysis/dihedrals.js';
import { randomDisplacement } from '../../analysis/distort.js';
import { kabschRmsd } from '../../analysis/kabsch.js';
import type { Bond } from '../../chem/connectivity.js';
import { BOHR_PER_ANGSTROM, KCAL_PER_MOL_PER_HARTREE } from '../../chem/units.js';
import { readXyz } from '../../io/xyz.js';
import { type LbfgsPreconditioner, lbfgs } from '../../optimize/lbfgs.js';
import { createResult, type Potential } from '../../potentials/potential.js';
import { Rng } from '../../util/rng.js';

export const CONFORMER_STARTS: ReadonlyArray<{ name: string; phiDeg: number; psiDeg: number }> = [
  { name: 'C7eq', phiDeg: -83, psiDeg: 73 },
  { name: 'C5', phiDeg: -157, psiDeg: 165 },
];

export interface OptimisedSide {
  converged: boolean;
  steps: number;
  /** First step with fmax < 1 kcal/mol/Å (null: never). */
  steps_to_fmax_1: number | null;
  /** Relative to this surface's minimum from the unperturbed C7eq start, kcal/mol. */
  energy_kcal_per_mol: number;
  phi_deg: number;
  psi_deg: number;
  wall_s: number;
}

export interface OptimisationEntry {
  start: string;
  model: OptimisedSide;
  reference: OptimisedSide;
  /** Kabsch RMSD between the two minima over all atoms, Å (the criterion). */
  rmsd_A: number;
  /** The same over the heavy atoms only, Å (hydrogens, e.g. methyl rotors, left out; for reading). */
  rmsd_heavy_A: number;
  /**
   * Max |F| of the reference at the model's minimum, kcal/mol/Å: how far the model's minimum is
   * from a stationary point of the reference, from one reference call (the check a user without
   * the reference's own optimisation can make).
   */
  reference_fmax_at_model_minimum_kcal_per_mol_per_A: number;
}

export interface OptimisationResult {
  prior: string;
  /** The optimiser, as printed in reports. */
  optimiser: string;
  entries: OptimisationEntry[];
  /** E(C5) − E(C7eq) at the minima from the unperturbed starts, kcal/mol. */
  delta_e_model_kcal_per_mol: number;
  delta_e_reference_kcal_per_mol: number;
  /** Model wall time / reference wall time over all starts. */
  wall_time_ratio: number;
}

const FMAX = 0.05;
const deg = (rad: number): number => (rad * 180) / Math.PI;

function optimise(p: Potential, start: Float64Array, phi: Quad, psi: Quad, preconditioner: LbfgsPreconditioner, path?: { stride: number; frames: Float64Array[] }): { side: Omit<OptimisedSide, 'energy_kcal_per_mol'>; energy: number; x: Float64Array } {
  let first: number | null = null;
  const t0 = performance.now();
  const r = lbfgs(p, start, {
    fmaxKcalPerMolPerA: FMAX,
    maxSteps: 2000,
    preconditioner,
    onStep: (s) => {
      if (first === null && s.fmaxKcalPerMolPerA < 1) first = s.step;
      if (path && path.stride > 0 && s.step % path.stride === 0) path.frames.push(Float64Array.from(s.positionsA));
    },
  });
  const wall = (performance.now() - t0) / 1000;
  return {
    side: { converged: r.converged, steps: r.steps, steps_to_fmax_1: first, phi_deg: deg(dihedralOf(r.positionsA, phi)), psi_deg: deg(dihedralOf(r.positionsA, psi)), wall_s: wall },
    energy: r.energyKcalPerMol,
    x: r.positionsA,
  };
}

type Quad = readonly [number, number, number, number];

/** Max |F| of `p` at `x`, kcal/mol/Å. */
function fmaxAt(p: Potential, x: Float64Array): number {
  const out = createResult(x.length / 3);
  p.compute(x, out, true);
  let m = 0;
  for (let i = 0; i < x.length; i += 3) {
    const f = Math.hypot(out.forcesHaPerBohr[i]!, out.forcesHaPerBohr[i + 1]!, out.forcesHaPerBohr[i + 2]!);
    if (f > m) m = f;
  }
  return m * KCAL_PER_MOL_PER_HARTREE * BOHR_PER_ANGSTROM;
}

/**
 * The study's starts: the relaxed minimum with (φ, ψ) of the first residue set to each of
 * CONFORMER_STARTS, then each of them with seeded random displacements of 0.05 Å RMS.
 */
export function conformerStarts(minimumA: Float64Array, bonds: readonly Bond[], phi: Quad, psi: Quad, seed: number): Array<{ name: string; x: Float64Array }> {
  const rng = new Rng(seed);
  const starts: Array<{ name: string; x: Float64Array }> = [];
  for (const c of CONFORMER_STARTS) {
    const x = setDihedral(setDihedral(minimumA, bonds, phi, (c.phiDeg * Math.PI) / 180), bonds, psi, (c.psiDeg * Math.PI) / 180);
    starts.push({ name: c.name, x });
  }
  for (const c of CONFORMER_STARTS) starts.push({ name: `${c.name} + 0.05 Å random`, x: randomDisplacement(Float64Array.from(starts.find((s) => s.name === c.name)!.x), 0.05, rng) }); // in place: on a copy
  return starts;
}

/**
 * The geometries a refinement round labels on the reference: from every conformer start, the
 * model's optimisation path every `stride`-th step (0: none) and the minimum it reached.
 */
export function optimisationPathFrames(dir: string, symbols: readonly string[], bonds: readonly Bond[], model: Potential, seed: number, stride: number, preconditioner: LbfgsPreconditioner = 'lindh'): Float64Array[] {
  const residues = detectBackbone(symbols, bonds);
  if (residues.length === 0) return [];
  const { phi, psi } = residues[0]!;
  const minimum = readXyz(join(dir, 'molecule.xyz'))[0]!.positionsA;
  const frames: Float64Array[] = [];
  for (const s of conformerStarts(minimum, bonds, phi, psi, seed)) {
    const path = { stride, frames: [] as Float64Array[] };
    const r = optimise(model, s.x, phi, psi, preconditioner, path);
    // the start (step 0) is a rigid rotation of the minimum, not a geometry the model put there
    frames.push(...path.frames.slice(stride > 0 ? 1 : 0), Float64Array.from(r.x));
  }
  return frames;
}

function heavyOnly(positionsA: Float64Array, symbols: readonly string[]): Float64Array {
  const out: number[] = [];
  symbols.forEach((s, i) => {
    if (s !== 'H') out.push(positionsA[3 * i]!, positionsA[3 * i + 1]!, positionsA[3 * i + 2]!);
  });
  return Float64Array.from(out);
}

/** The optimisation table of one peptide (null when the molecule has no backbone residue). */
export function optimisationStage(dir: string, symbols: readonly string[], bonds: readonly Bond[], prior: string, model: Potential, reference: Potential, seed: number, preconditioner: LbfgsPreconditioner = 'lindh'): OptimisationResult | null {
  const residues = detectBackbone(symbols, bonds);
  if (residues.length === 0) return null;
  const { phi, psi } = residues[0]!;
  const minimum = readXyz(join(dir, 'molecule.xyz'))[0]!.positionsA;
  const starts = conformerStarts(minimum, bonds, phi, psi, seed);
  const raw = starts.map((s) => ({ name: s.name, m: optimise(model, s.x, phi, psi, preconditioner), r: optimise(reference, s.x, phi, psi, preconditioner) }));
  const m0 = raw[0]!.m.energy;
  const r0 = raw[0]!.r.energy;
  const entries: OptimisationEntry[] = raw.map((e) => ({
    start: e.name,
    model: { ...e.m.side, energy_kcal_per_mol: e.m.energy - m0 },
    reference: { ...e.r.side, energy_kcal_per_mol: e.r.energy - r0 },
    rmsd_A: kabschRmsd(e.r.x, e.m.x),
    rmsd_heavy_A: kabschRmsd(heavyOnly(e.r.x, symbols), heavyOnly(e.m.x, symbols)),
    reference_fmax_at_model_minimum_kcal_per_mol_per_A: fmaxAt(reference, e.m.x),
  }));
  const wallModel = raw.reduce((a, e) => a + e.m.side.wall_s, 0);
  const wallRef = raw.reduce((a, e) => a + e.r.side.wall_s, 0);
  return {
    prior,
    optimiser: preconditioner === 'lindh' ? 'L-BFGS preconditioned by the Lindh model Hessian' : 'L-BFGS',
    entries,
    delta_e_model_kcal_per_mol: raw[1]!.m.energy - m0,
    delta_e_reference_kcal_per_mol: raw[1]!.r.energy - r0,
    wall_time_ratio: wallRef > 0 ? wallModel / wallRef : Number.NaN,
  };
}
