/**
 * The GP model-set potential: one atomic GP per atom of a molecule, E = Σ_A E_A(f_A(r)), forces by
 * the chain rule through the ALF features (features/alf.ts). A system may hold several copies of
 * the molecule (e.g. a water box), atoms listed molecule by molecule in the model's atom order;
 * each molecule's atoms see only their own molecule, as in DL_FFLUX's intramolecular models.
 *
 * Units: positions Å in; energies Ha; forces Ha/bohr. No allocation per call.
 */
import { BOHR_PER_ANGSTROM } from '../chem/units.js';
import { AtomgpError } from '../errors.js';
import { AlfFeaturizer, featureCount } from '../features/alf.js';
import type { GpModel, PeriodicPrefactor } from '../gp/model.js';
import { AtomGp } from '../gp/predictor.js';
import type { Potential, PotentialResult } from './potential.js';

export interface GpMoleculeModels {
  /** Name of the system (e.g. WATER), for messages. */
  systemName: string;
  /** One model per atom of the molecule, in atom order. */
  models: GpModel[];
  /** Element symbols of the molecule's atoms, in atom order. */
  symbols: string[];
  /** Periodic-kernel convention per model (from the consistency check). */
  periodicPrefactors: PeriodicPrefactor[];
}

/**
 * How the atoms of a system map to copies of the molecule: for `nMolecules` copies, atom i of
 * copy m is system atom m·n + i. Checks that the symbols repeat the molecule's pattern.
 */
export function moleculeCopies(moleculeSymbols: readonly string[], systemSymbols: readonly string[], source = 'geometry'): number {
  const n = moleculeSymbols.length;
  const total = systemSymbols.length;
  if (total === 0 || total % n !== 0) {
    throw new AtomgpError(
      `${source}: has ${total} atoms, but the models describe a ${n}-atom molecule (${moleculeSymbols.join(' ')}); ` +
        `expected ${n} atoms, or a multiple of ${n} listed molecule by molecule in the models' atom order`,
    );
  }
  for (let i = 0; i < total; i++) {
    const want = moleculeSymbols[i % n]!;
    const got = systemSymbols[i]!;
    if (want.toLowerCase() !== got.toLowerCase()) {
      const mol = Math.floor(i / n);
      throw new AtomgpError(
        `${source}: atom ${i + 1} is ${got}, but the models expect ${want} there ` +
          `(atom ${(i % n) + 1} of molecule ${mol + 1}; the models' atom order is ${moleculeSymbols.join(' ')})`,
      );
    }
  }
  return total / n;
}

export class GpPotential implements Potential {
  readonly nAtoms: number;
  readonly symbols: readonly string[];
  readonly description: string;
  readonly nMolecules: number;
  readonly atomModels: AtomGp[];
  private readonly featurizers: AlfFeaturizer[];
  private readonly features: Float64Array[];
  private readonly featureGrads: Float64Array[];
  private readonly posBohr: Float64Array;
  private readonly gradBohr: Float64Array;

  /**
   * @param mol the molecule's models
   * @param nMolecules copies of the molecule in the system (default 1)
   */
  constructor(mol: GpMoleculeModels, nMolecules = 1) {
    const n = mol.models.length;
    if (n !== mol.symbols.length) throw new AtomgpError(`${mol.systemName}: ${n} models for ${mol.symbols.length} atoms`);
    const K = featureCount(n);
    for (const m of mol.models) {
      if (m.nFeatures !== K) {
        throw new AtomgpError(`${m.source ?? m.atom}: ${m.nFeatures} features, but a ${n}-atom molecule has ${K}`);
      }
    }
    this.nMolecules = nMolecules;
    this.nAtoms = n * nMolecules;
    const symbols: string[] = [];
    for (let m = 0; m < nMolecules; m++) symbols.push(...mol.symbols);
    this.symbols = symbols;
    this.description = `GP models ${mol.systemName} (${n} atoms${nMolecules > 1 ? ` × ${nMolecules} molecules` : ''})`;
    this.atomModels = mol.models.map((m, i) => new AtomGp(m, mol.periodicPrefactors[i] ?? 4));
    this.featurizers = [];
    for (let m = 0; m < nMolecules; m++) {
      const idx = Array.from({ length: n }, (_, i) => m * n + i);
      for (let i = 0; i < n; i++) {
        const model = mol.models[i]!;
        const label = nMolecules > 1 ? `molecule ${m + 1} atom ${model.atom}` : `atom ${model.atom}`;
        this.featurizers.push(
          new AlfFeaturizer(
            idx,
            model.alf.map((a) => a - 1),
            label,
          ),
        );
      }
    }
    this.features = mol.models.map(() => new Float64Array(K));
    this.featureGrads = mol.models.map(() => new Float64Array(K));
    this.posBohr = new Float64Array(3 * this.nAtoms);
    this.gradBohr = new Float64Array(3 * this.nAtoms);
  }

  compute(positionsA: Float64Array, out: PotentialResult, withForces = true): void {
    const N = this.nAtoms;
    if (positionsA.length !== 3 * N) {
      throw new AtomgpError(`positions have ${positionsA.length / 3} atoms, the potential ${N}`);
    }
    const pos = this.posBohr;
    for (let i = 0; i < 3 * N; i++) {
      const v = positionsA[i]!;
      if (!Number.isFinite(v)) {
        throw new AtomgpError(`coordinate ${'xyz'[i % 3]} of atom ${Math.floor(i / 3) + 1} is not finite (${v})`);
      }
      pos[i] = v * BOHR_PER_ANGSTROM;
    }
    const grad = this.gradBohr;
    if (withForces) grad.fill(0);
    const n = this.atomModels.length;
    const energies = out.atomicEnergiesHa;
    let total = 0;
    for (let m = 0; m < this.nMolecules; m++) {
      for (let i = 0; i < n; i++) {
        const fz = this.featurizers[m * n + i]!;
        const f = this.features[i]!;
        fz.compute(pos, f);
        let e: number;
        if (withForces) {
          const g = this.featureGrads[i]!;
          e = this.atomModels[i]!.predict(f, g);
          fz.backprop(pos, g, grad);
        } else {
          e = this.atomModels[i]!.predict(f);
        }
        energies[m * n + i] = e;
        total += e;
      }
    }
    out.energyHa = total;
    if (withForces) {
      const F = out.forcesHaPerBohr;
      for (let i = 0; i < 3 * N; i++) F[i] = -grad[i]!;
    }
  }
}
