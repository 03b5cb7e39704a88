/**
 * The GP model-set potential: one atomic GP per atom of a molecule, E = Σ_A E_A(f_A(r)), forces by
 * the chain rule through the ALF features (features/alf.ts). A system may hold several copies of
 * the molecule (e.g. a water box); each molecule's atoms see only their own molecule, as in
 * DL_FFLUX's intramolecular models. Atoms are listed molecule by molecule in the models' atom
 * order, or in any order with an `atomOrder` permutation (see `matchMoleculeCopies`, which finds
 * it from the bonds).
 *
 * Units: positions Å in; energies Ha; forces Ha/bohr. No allocation per call.
 */
import { type Bond, DEFAULT_BOND_SCALE, findBonds, fragments } from '../chem/connectivity.js';
import { element } from '../chem/elements.js';
import { ANGSTROM_PER_BOHR, BOHR_PER_ANGSTROM } from '../chem/units.js';
import { AtomgpError } from '../errors.js';
import { AlfFeaturizer, featureCount } from '../features/alf.js';
import type { GpModel, PeriodicPrefactor } from '../gp/model/model.js';
import { ContactRepulsion, parseRepulsion, type RepulsionKind } from '../gp/model/repulsion.js';
import { AtomGp, type AtomGpOptions } from '../gp/predict/predictor.js';
import { PredictTeam, ThreadChooser } from '../gp/predict/team.js';
import { defaultThreads } from '../math/backend.js';
import { linalgTeam } from '../math/linalg-team.js';
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

export interface GpPotentialOptions {
  /** 'auto' (default): WebAssembly SIMD kernel where available; 'ts': the TypeScript pass. */
  backend?: AtomGpOptions['backend'];
  /** Wrapped terms as square terms where exact (AtomGpOptions.squareWrapped; default true). */
  squareWrapped?: boolean;
  /** σ² per model (kernel units) for the predictive variance, e.g. the consistency check's fitted noise. */
  noiseVariances?: readonly number[];
  /**
   * System atom of each model slot: atom i of molecule copy m is system atom atomOrder[m·n + i].
   * Default: the identity (atoms listed molecule by molecule in the models' atom order).
   */
  atomOrder?: ArrayLike<number>;
  /**
   * Threads per call: 1, or ≥ 2 to share every call's kernel work with the worker threads of the
   * linear-algebra team (gp/predict/team.ts; bit-identical results). Default (auto): backend.ts
   * `defaultThreads()` threads (2 on the main thread of a multi-core machine, 1 in worker threads
   * such as ensemble replicas; ATOMGP_THREADS) when one molecule's models hold at least
   * TEAM_MIN_KERNEL_DOUBLES of kernel data, else 1; in auto mode the team serves a call only when
   * it was clearly faster than one thread in the latest probe (ThreadChooser), so a busy second
   * core does not slow the run down much.
   */
  threads?: number;
  /**
   * A repulsive prior-mean term (gp/model/repulsion.ts): 'zbl' adds, for every pair closer than its
   * closest approach in the training set, the ZBL nuclear repulsion beyond its tangent there; zero
   * wherever every distance lies within its training range. Default 'none'.
   */
  repulsion?: RepulsionKind;
}

/**
 * Kernel data (doubles, all atoms of one molecule) from which a call is worth sharing between two
 * threads by default: 2 MB, a few hundred µs of kernel work per call against ≈10-30 µs of hand-off
 * (an aspirin-size set holds 10 MB; ammonia 0.13 MB). See docs/benchmarks.md.
 */
export const TEAM_MIN_KERNEL_DOUBLES = 262144;

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
  /** The threads sharing each call's kernel work, or null for one thread. */
  private readonly team: PredictTeam | null;
  private readonly teamed: Uint8Array;
  /** Auto mode's per-call choice between one thread and the team (null: fixed). */
  readonly threadChooser: ThreadChooser | null;
  /** The repulsive prior-mean term of each model (null: none). */
  readonly repulsion: ContactRepulsion[] | null;

  /**
   * @param mol the molecule's models
   * @param nMolecules copies of the molecule in the system (default 1)
   */
  /** System atom of every model slot (slot m·n + i = atom i of molecule m). */
  readonly atomOrder: Int32Array;

  constructor(mol: GpMoleculeModels, nMolecules = 1, options: GpPotentialOptions = {}) {
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
    this.atomOrder = checkAtomOrder(options.atomOrder, this.nAtoms);
    const symbols: string[] = new Array<string>(this.nAtoms);
    for (let s = 0; s < this.nAtoms; s++) symbols[this.atomOrder[s]!] = mol.symbols[s % n]!;
    this.symbols = symbols;
    this.atomModels = mol.models.map((m, i) => {
      const noise = options.noiseVariances?.[i];
      return new AtomGp(m, mol.periodicPrefactors[i] ?? 4, {
        ...(options.backend ? { backend: options.backend } : {}),
        ...(options.squareWrapped !== undefined ? { squareWrapped: options.squareWrapped } : {}),
        ...(noise !== undefined ? { noiseVariance: noise } : {}),
      });
    });
    // The prediction kernel(s) in the description, so run summaries record what computed them.
    const kernels = [...new Set(this.atomModels.map((a) => a.backend))].join('/');
    const repulsion = options.repulsion === undefined ? 'none' : parseRepulsion(options.repulsion);
    this.repulsion = repulsion === 'zbl' ? mol.models.map((m) => new ContactRepulsion(m, mol.symbols)) : null;
    this.description =
      `GP models ${mol.systemName} (${n} atoms${nMolecules > 1 ? ` × ${nMolecules} molecules` : ''}; ${kernels} kernel` +
      `${repulsion === 'zbl' ? '; ZBL repulsion beyond the training data' : ''})`;
    this.featurizers = [];
    for (let m = 0; m < nMolecules; m++) {
      const idx = Array.from({ length: n }, (_, i) => this.atomOrder[m * n + i]!);
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
    if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
      throw new AtomgpError(`threads must be a positive integer, got ${options.threads}`);
    }
    let kernelDoubles = 0;
    for (const gp of this.atomModels) kernelDoubles += gp.kernelDoubles;
    const threads = options.threads ?? (kernelDoubles >= TEAM_MIN_KERNEL_DOUBLES ? defaultThreads() : 1);
    const team = threads >= 2 && kernelDoubles > 0 ? linalgTeam(threads) : undefined;
    this.team = team ? PredictTeam.create(team, this.atomModels) : null;
    this.teamed = new Uint8Array(n);
    this.threadChooser = this.team && options.threads === undefined ? new ThreadChooser() : null;
  }

  /** State of the molecule being predicted through the team (`pipelineHost`). */
  private callMolecule = 0;
  private callWithForces = true;
  private callTotal = 0;
  private lastEnergies: Float64Array | null = null;

  /**
   * One molecule's atoms through the team (PredictTeam.pipeline): every atom's features and query,
   * then each atom in order: its kernel results (claiming kernel calls while they are not in), its
   * energy, and its gradient's chain rule. The same operations in the same order as one thread.
   */
  private readonly pipelineHost = (team: PredictTeam): void => {
    const n = this.atomModels.length;
    const m = this.callMolecule;
    const withForces = this.callWithForces;
    const pos = this.posBohr;
    const energies = this.lastEnergies!;
    for (let i = 0; i < n; i++) {
      const f = this.features[i]!;
      this.featurizers[m * n + i]!.compute(pos, f);
      this.teamed[i] = team.begin(i, this.atomModels[i]!, f, withForces) ? 1 : 0;
    }
    let total = this.callTotal;
    for (let i = 0; i < n; i++) {
      const viaTeam = this.teamed[i] === 1;
      if (viaTeam) team.await(i);
      total += this.atomEnergy(viaTeam ? team : null, m, i, withForces, energies);
    }
    this.callTotal = total;
  };

  /**
   * Atom i of molecule m from its features (already computed): its energy, stored in system atom
   * order, and with forces its gradient's chain rule into gradBohr. `team`: read its kernel
   * results there (the atom was begun and awaited); null: predict on this thread.
   */
  private atomEnergy(team: PredictTeam | null, m: number, i: number, withForces: boolean, energies: Float64Array): number {
    const n = this.atomModels.length;
    const fz = this.featurizers[m * n + i]!;
    const f = this.features[i]!;
    const gp = this.atomModels[i]!;
    let e: number;
    if (withForces) {
      const g = this.featureGrads[i]!;
      e = team ? team.finish(i, gp, f, g) : gp.predict(f, g);
      if (this.repulsion) e += this.repulsion[i]!.evaluate(f, g);
      fz.backprop(this.posBohr, g, this.gradBohr);
    } else {
      e = team ? team.finish(i, gp, f) : gp.predict(f);
      if (this.repulsion) e += this.repulsion[i]!.evaluate(f);
    }
    energies[this.atomOrder[m * n + i]!] = e;
    return e;
  }

  /** Threads sharing each call (1: this thread alone). */
  get threads(): number {
    return this.team ? this.team.threads : 1;
  }

  /** Blocks until the worker threads of a multi-threaded potential run (tests, benchmarks); true for one thread. */
  waitThreadsReady(timeoutMs = 30000): boolean {
    return this.team ? this.team.waitReady(timeoutMs) : true;
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
    this.lastEnergies = energies;
    let total = 0;
    const chooser = this.threadChooser;
    const team = chooser && !chooser.next() ? null : this.team;
    for (let m = 0; m < this.nMolecules; m++) {
      if (team) {
        // The host side inside the team's job: the worker runs each atom's kernel calls as soon as
        // its query is published, while this thread computes the next features and the chain rule.
        this.callMolecule = m;
        this.callWithForces = withForces;
        this.callTotal = total;
        team.pipeline(this.pipelineHost);
        total = this.callTotal;
        continue;
      }
      for (let i = 0; i < n; i++) {
        this.featurizers[m * n + i]!.compute(pos, this.features[i]!);
        total += this.atomEnergy(null, m, i, withForces, energies);
      }
    }
    chooser?.done();
    out.energyHa = total;
    if (withForces) {
      const F = out.forcesHaPerBohr;
      for (let i = 0; i < 3 * N; i++) F[i] = -grad[i]!;
    }
  }

  /**
   * Predictive standard deviation of every atomic energy (Ha), in system atom order, into `out`
   * (length nAtoms): √s²(x) of each atom's GP at its features (AtomGp.variance). The first call
   * factorises each model's K + σ²I.
   */
  atomicStdHa(positionsA: Float64Array, out: Float64Array): Float64Array {
    const N = this.nAtoms;
    if (positionsA.length !== 3 * N) {
      throw new AtomgpError(`positions have ${positionsA.length / 3} atoms, the potential ${N}`);
    }
    const pos = this.posBohr;
    for (let i = 0; i < 3 * N; i++) pos[i] = positionsA[i]! * BOHR_PER_ANGSTROM;
    const n = this.atomModels.length;
    for (let s = 0; s < N; s++) {
      const i = s % n;
      const f = this.features[i]!;
      this.featurizers[s]!.compute(pos, f);
      out[this.atomOrder[s]!] = this.atomModels[i]!.std(f);
    }
    return out;
  }
}

function checkAtomOrder(order: ArrayLike<number> | undefined, nAtoms: number): Int32Array {
  if (!order) return Int32Array.from({ length: nAtoms }, (_, i) => i);
  if (order.length !== nAtoms) throw new AtomgpError(`atom order has ${order.length} entries for ${nAtoms} atoms`);
  const seen = new Uint8Array(nAtoms);
  const out = Int32Array.from(order);
  for (const a of out) {
    if (!(a >= 0 && a < nAtoms) || seen[a]) throw new AtomgpError(`atom order is not a permutation of 0..${nAtoms - 1} (atom ${a})`);
    seen[a] = 1;
  }
  return out;
}

/**
 * Bonds of the models' molecule, from their training data: the mean over training points of each
 * interatomic distance the features hold (f1, f2 and every R_n), averaged over the models that
 * see the pair, under the covalent-radius rule d < s · (r_a + r_b) of chem/connectivity.ts.
 */
export function moleculeBondsFromModels(models: readonly GpModel[], symbols: readonly string[], scale = DEFAULT_BOND_SCALE): Bond[] {
  const n = symbols.length;
  const sum = new Float64Array(n * n);
  const count = new Float64Array(n * n);
  const add = (a: number, b: number, dBohr: number): void => {
    sum[a * n + b] = sum[a * n + b]! + dBohr;
    sum[b * n + a] = sum[b * n + a]! + dBohr;
    count[a * n + b] = count[a * n + b]! + 1;
    count[b * n + a] = count[b * n + a]! + 1;
  };
  for (const model of models) {
    const K = model.nFeatures;
    const nT = model.nTrain;
    if (nT === 0) continue;
    const alf = model.alf.map((a) => a - 1);
    const mean = (f: number): number => {
      let s = 0;
      for (let j = 0; j < nT; j++) s += model.trainX[j * K + f]!;
      return s / nT;
    };
    const a = alf[0]!;
    if (alf.length >= 2 && K >= 1) add(a, alf[1]!, mean(0));
    if (alf.length >= 3 && K >= 2) add(a, alf[2]!, mean(1));
    let f = 3;
    for (let other = 0; other < n && f < K; other++) {
      if (alf.includes(other)) continue;
      add(a, other, mean(f));
      f += 3;
    }
  }
  const bonds: Bond[] = [];
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      if (count[a * n + b] === 0) continue;
      const dA = (sum[a * n + b]! / count[a * n + b]!) * ANGSTROM_PER_BOHR;
      if (dA < scale * (element(symbols[a]!).covalentRadiusA + element(symbols[b]!).covalentRadiusA)) bonds.push([a, b]);
    }
  }
  return bonds;
}

/**
 * Assign the atoms of a system holding copies of one molecule, in any order, to model slots: bonded
 * fragments (chem/connectivity.ts, minimum image under `cellA`) are matched to the molecule's bond
 * graph (`moleculeBonds`, e.g. from `moleculeBondsFromModels`) by element and bonds. Equivalent
 * atoms (the two H of water, the three H of ammonia) are assigned deterministically: model atoms
 * are taken in breadth-first order from atom 1, and each takes the lowest-numbered unassigned
 * fragment atom of its element whose bonds to the atoms already assigned match the model's
 * (backtracking on a dead end). Returns atomOrder for GpPotential (slot m·n + i → system atom),
 * molecules ordered by their lowest atom index, and the system bonds found.
 * A fragment that matches no copy of the molecule is an error naming its atoms.
 */
export function matchMoleculeCopies(
  moleculeSymbols: readonly string[],
  moleculeBonds: readonly Bond[],
  systemSymbols: readonly string[],
  positionsA: Float64Array,
  options: { cellA?: Float64Array; source?: string; scale?: number } = {},
): { atomOrder: Int32Array; nMolecules: number; bonds: Bond[] } {
  const n = moleculeSymbols.length;
  const N = systemSymbols.length;
  const source = options.source ?? 'geometry';
  const bonds = findBonds(systemSymbols, positionsA, {
    ...(options.cellA ? { cellA: options.cellA } : {}),
    ...(options.scale !== undefined ? { scale: options.scale } : {}),
  });
  const frags = fragments(N, bonds);
  const sysAdj: Set<number>[] = Array.from({ length: N }, () => new Set<number>());
  for (const [i, j] of bonds) {
    sysAdj[i]!.add(j);
    sysAdj[j]!.add(i);
  }
  const molAdj: Set<number>[] = Array.from({ length: n }, () => new Set<number>());
  for (const [i, j] of moleculeBonds) {
    molAdj[i]!.add(j);
    molAdj[j]!.add(i);
  }
  // Breadth-first order over the molecule graph from atom 0 (then any atom not reached).
  const visitOrder: number[] = [];
  const seen = new Uint8Array(n);
  for (let start = 0; start < n; start++) {
    if (seen[start]) continue;
    seen[start] = 1;
    visitOrder.push(start);
    for (let h = visitOrder.length - 1; h < visitOrder.length; h++) {
      for (const nb of [...molAdj[visitOrder[h]!]!].sort((p, q) => p - q)) {
        if (!seen[nb]) {
          seen[nb] = 1;
          visitOrder.push(nb);
        }
      }
    }
  }
  const norm = (s: string): string => s.toLowerCase();
  const formula = (syms: readonly string[]): string => {
    const c = new Map<string, number>();
    for (const s of syms) c.set(s, (c.get(s) ?? 0) + 1);
    return [...c.entries()]
      .sort((p, q) => p[0].localeCompare(q[0]))
      .map(([s, k]) => `${s}${k > 1 ? k : ''}`)
      .join('');
  };
  const molFormula = formula(moleculeSymbols.map((s) => s[0]!.toUpperCase() + s.slice(1).toLowerCase()));
  const describe = (frag: readonly number[]): string => {
    const shown = frag.slice(0, 12).map((a) => `${systemSymbols[a]}${a + 1}`);
    return `${shown.join(' ')}${frag.length > 12 ? ` … (${frag.length} atoms)` : ''}`;
  };
  const order = new Int32Array(N);
  const sorted = [...frags].sort((p, q) => p[0]! - q[0]!);
  for (let m = 0; m < sorted.length; m++) {
    const frag = sorted[m]!;
    const fail = (why: string): never => {
      throw new AtomgpError(
        `${source}: the bonded fragment of atoms ${describe(frag)} does not match the models' molecule ` +
          `${molFormula} (${why}); expected every bonded fragment to be one copy of it ` +
          `(bonds by the covalent-radius rule d < ${options.scale ?? DEFAULT_BOND_SCALE}·(r_a + r_b))`,
      );
    };
    const fragSymbols = frag.map((a) => systemSymbols[a]!);
    if (frag.length !== n) fail(`${frag.length} atom${frag.length === 1 ? '' : 's'}, ${formula(fragSymbols)}, instead of ${n}`);
    let fragBonds = 0;
    for (const a of frag) fragBonds += sysAdj[a]!.size;
    if (fragBonds / 2 !== moleculeBonds.length) fail(`${fragBonds / 2} bonds instead of ${moleculeBonds.length}`);
    const assigned = new Int32Array(n).fill(-1);
    const used = new Set<number>();
    const place = (k: number): boolean => {
      if (k === n) return true;
      const i = visitOrder[k]!;
      for (const a of frag) {
        if (used.has(a) || norm(systemSymbols[a]!) !== norm(moleculeSymbols[i]!)) continue;
        if (sysAdj[a]!.size !== molAdj[i]!.size) continue;
        let ok = true;
        for (let q = 0; q < k && ok; q++) {
          const iq = visitOrder[q]!;
          if (molAdj[i]!.has(iq) !== sysAdj[a]!.has(assigned[iq]!)) ok = false;
        }
        if (!ok) continue;
        assigned[i] = a;
        used.add(a);
        if (place(k + 1)) return true;
        used.delete(a);
        assigned[i] = -1;
      }
      return false;
    };
    if (!place(0)) fail(`elements or bonds differ: ${formula(fragSymbols)}`);
    for (let i = 0; i < n; i++) order[m * n + i] = assigned[i]!;
  }
  return { atomOrder: order, nMolecules: sorted.length, bonds };
}
