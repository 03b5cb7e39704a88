/**
 * What every geometry optimiser shares: options, the per-step record given to observers, the
 * result, and an energy/force evaluator in kcal/mol and kcal/mol/Å (from any `Potential`).
 *
 * Convergence: max atomic force |F_i| ≤ fmax (default 1 kcal/mol/Å) and the energy change of the
 * last step |ΔE| ≤ energyTol (default 0.01 kcal/mol; the first evaluation only needs fmax).
 */
import { AtomgpError } from '../errors.js';
import { KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../chem/units.js';
import { createResult, type Potential, type PotentialResult } from '../potentials/potential.js';

export interface OptimizeOptions {
  /** Max force threshold, kcal/mol/Å (default 1). */
  fmaxKcalPerMolPerA?: number;
  /** Energy-change threshold, kcal/mol (default 0.01). */
  energyTolKcalPerMol?: number;
  /** Maximum number of steps (default 1000). */
  maxSteps?: number;
  /** Largest displacement of any atom in one step, Å (default 0.2). */
  maxStepA?: number;
  /** Called after every accepted step (and once for the start geometry, step 0). */
  onStep?: (s: OptimizeStep) => void;
}

export interface OptimizeStep {
  step: number;
  energyKcalPerMol: number;
  fmaxKcalPerMolPerA: number;
  positionsA: Float64Array;
  forcesKcalPerMolPerA: Float64Array;
  atomicEnergiesKcalPerMol: Float64Array;
}

export interface OptimizeResult {
  method: 'lbfgs' | 'fire';
  converged: boolean;
  /** Steps taken (accepted geometry updates). */
  steps: number;
  /** Potential evaluations, including rejected line-search trials. */
  evaluations: number;
  energyKcalPerMol: number;
  initialEnergyKcalPerMol: number;
  fmaxKcalPerMolPerA: number;
  lastEnergyChangeKcalPerMol: number;
  positionsA: Float64Array;
  forcesKcalPerMolPerA: Float64Array;
  /** Why it stopped. */
  message: string;
}

export function resolveOptions(o: OptimizeOptions): Required<Omit<OptimizeOptions, 'onStep'>> & Pick<OptimizeOptions, 'onStep'> {
  const r = {
    fmaxKcalPerMolPerA: o.fmaxKcalPerMolPerA ?? 1,
    energyTolKcalPerMol: o.energyTolKcalPerMol ?? 0.01,
    maxSteps: o.maxSteps ?? 1000,
    maxStepA: o.maxStepA ?? 0.2,
    onStep: o.onStep,
  };
  if (!(r.fmaxKcalPerMolPerA > 0 && Number.isFinite(r.fmaxKcalPerMolPerA))) throw new AtomgpError(`fmax must be a positive number (kcal/mol/Å), got ${r.fmaxKcalPerMolPerA}`);
  if (!(r.energyTolKcalPerMol > 0)) throw new AtomgpError(`energy tolerance must be positive, got ${r.energyTolKcalPerMol}`);
  if (!(Number.isInteger(r.maxSteps) && r.maxSteps >= 0)) throw new AtomgpError(`max steps must be a non-negative integer, got ${r.maxSteps}`);
  if (!(r.maxStepA > 0 && r.maxStepA <= 2)) throw new AtomgpError(`max step must be in (0, 2] Å, got ${r.maxStepA}`);
  return r;
}

/** Energy and forces in kcal/mol units into preallocated buffers. */
export class Evaluator {
  readonly n: number;
  readonly forcesKcalPerMolPerA: Float64Array;
  readonly atomicEnergiesKcalPerMol: Float64Array;
  energyKcalPerMol = 0;
  evaluations = 0;
  private readonly result: PotentialResult;

  constructor(readonly potential: Potential) {
    this.n = potential.nAtoms;
    this.result = createResult(this.n);
    this.forcesKcalPerMolPerA = new Float64Array(3 * this.n);
    this.atomicEnergiesKcalPerMol = new Float64Array(this.n);
  }

  evaluate(positionsA: Float64Array): number {
    this.evaluations++;
    const r = this.result;
    this.potential.compute(positionsA, r, true);
    this.energyKcalPerMol = r.energyHa * KCAL_PER_MOL_PER_HARTREE;
    for (let i = 0; i < 3 * this.n; i++) this.forcesKcalPerMolPerA[i] = r.forcesHaPerBohr[i]! * KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;
    for (let i = 0; i < this.n; i++) this.atomicEnergiesKcalPerMol[i] = r.atomicEnergiesHa[i]! * KCAL_PER_MOL_PER_HARTREE;
    if (!Number.isFinite(this.energyKcalPerMol)) throw new AtomgpError(`the potential returned a non-finite energy (${this.energyKcalPerMol}) during optimisation`);
    return this.energyKcalPerMol;
  }
}

/** Largest atomic force norm. */
export function maxAtomForce(f: Float64Array): number {
  let m = 0;
  for (let i = 0; i < f.length; i += 3) {
    const s = f[i]! * f[i]! + f[i + 1]! * f[i + 1]! + f[i + 2]! * f[i + 2]!;
    if (s > m) m = s;
  }
  return Math.sqrt(m);
}

/** Largest atomic displacement norm of a step vector. */
export function maxAtomStep(d: Float64Array): number {
  return maxAtomForce(d);
}

export function checkStart(potential: Potential, positionsA: Float64Array): void {
  if (positionsA.length !== 3 * potential.nAtoms) {
    throw new AtomgpError(`the geometry has ${positionsA.length / 3} atoms but the potential (${potential.description}) is for ${potential.nAtoms}`);
  }
}
