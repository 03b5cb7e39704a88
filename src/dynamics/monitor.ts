/**
 * Stability monitor: the explicit definition of a "crashed" simulation (science.md §5). The bonds,
 * their reference lengths, the fragments and the energy baseline come from the *reference*: the
 * start geometry by default, or an explicit `MonitorReference` (an undistorted geometry and/or a
 * bond list with lengths, and its potential energy) when the start is deliberately distorted. A
 * step fails, with the first reason found in this order, when
 *
 *  1. `non-finite`     any position, velocity, force or the potential energy is NaN or ±∞;
 *  2. `bond-stretched` a reference bond (given, or found in the reference geometry by covalent
 *                      radii, d < 1.2 (r_a + r_b)) is longer than `bondStretchFactor` (default 2)
 *                      × its reference length;
 *  3. `bond-compressed` a reference bond is shorter than `bondCompressFactor` (default 0.7) × its
 *                      reference length. Squeezing a bond to 0.7 r0 costs far more than thermal
 *                      energy: on the built-in force field's Morse bonds 79 (C-H), 121 (O-H),
 *                      130 (N-H) kcal/mol, i.e. ≥ 40 k_BT at 1000 K, and 200-280 kcal/mol for
 *                      bonds between heavy atoms, so only a hole or a soft wall of the model gets
 *                      there (science.md §8: 0.6-0.75; 0.7 keeps ≥ 40 k_BT on the softest X-H
 *                      bond at 1000 K and catches the O-H squeezed to 0.59 r0 of issue 16);
 *  4. `close-contact`  two atoms not bonded in the reference are closer than `minNonBondedA`
 *                      (default 0.5 Å);
 *  5. `bond-formed`    two heavy atoms (not H) not bonded in the reference come within
 *                      `newBondFactor` (default 1.2, the factor that finds the reference bonds)
 *                      × the sum of their covalent radii: a covalent bond the reference molecule does
 *                      not have, i.e. a reaction the model was never trained for (aspirin's ester
 *                      O and carboxyl O at 0.93-1.58 Å in two 1-ns runs at 1000 K, where GFN2-xTB
 *                      lies 60-480 kcal/mol above the model: docs/study.md). Hydrogen is left out:
 *                      proton transfer between heavy atoms is real chemistry at these temperatures
 *                      (malondialdehyde's reference transfers its proton at 1000 K), and X–H bonds
 *                      are watched by 2 and 3;
 *  6. `fragments-apart` a fragment (connected component of the reference bonds; only when there
 *                      are several) is further from every other fragment (closest atom pair) than
 *                      its separation in the reference geometry + `fragmentSeparationA` (default 10 Å);
 *  energy, `energyCriterion` 'strict' (the default):
 *  7. `hole`           E_pot < E_min − `holeDepthKcalPerMol` (default 5 kcal/mol, total): below the
 *                      model's own global minimum E_min (`MonitorReference.epotMinimumKcalPerMol`,
 *                      the lowest minimum found by optimising, see minimum.ts; else min(E_start,
 *                      E_ref)). A molecule's energy can never fall below its minimum; 5 kcal/mol
 *                      leaves room for a minimum search that missed a slightly deeper conformer
 *                      and is far below the holes that wreck runs (tens to hundreds of kcal/mol);
 *  8. `energy-runaway` E_pot > max(E_start, E_ref, E_min) + U_max, U_max = k_B T ·
 *                      Q⁻¹(n/2, `energyRunawayTailProbability`) (at least 1 kcal/mol), n = 3N − 6
 *                      internal degrees of freedom (3N − 5 linear): the energy above its minimum
 *                      that a harmonic molecule at T exceeds with probability 1e-12 per
 *                      independent sample (canonical E_pot − E_min ~ Gamma(n/2, k_B T): mean
 *                      (n/2) k_B T, sd √(n/2) k_B T). 9 atoms at 1000 K: 102 kcal/mol; 3 atoms at
 *                      300 K: 18 kcal/mol. T and n come from the run (`MonitorThermal`); without
 *                      them there is no upward bound;
 *  energy, `energyCriterion` 'per-atom' (the old band, an option only):
 *  7'. `energy-runaway` E_pot > max(E_start, E_ref) + L, or, with `energyRunawayDirection` 'both'
 *                      (the default), E_pot < min(E_start, E_ref) − L (a hole of the model);
 *                      with 'up' only the rise counts. L = `energyRunawayKcalPerMolPerAtom`
 *                      (default 50) × N; E_start = E_pot(start); E_ref = the reference energy
 *                      (E_start when none is given, which makes this |E_pot − E_start| > L). A
 *                      distorted start begins above the undistorted E_ref and falls towards it:
 *                      never a failure; rising L above its own start, or falling L below the
 *                      undistorted geometry, is;
 *  9. `conserved-drift` |H − H(start)| > `conservedDriftKcalPerMolPerAtom` (default 10) × N, where H
 *                      is the integrator's conserved quantity (a failing integration).
 *
 * A threshold of 0 or Infinity switches that check off (not for non-finite values). Checks cost
 * O(N² + bonds) per checked step and allocate nothing unless a failure is found.
 *
 * `BondReturnWatch` (below) is the companion observer for distorted starts: the first time each
 * distorted bond comes back within a tolerance of its reference length.
 */
import { type Bond, DEFAULT_BOND_SCALE, findBonds, fragments } from '../chem/connectivity.js';
import { element } from '../chem/elements.js';
import { AtomgpError } from '../errors.js';
import { gammaUpperQuantile } from './canonical.js';
import type { MolecularDynamics } from './md.js';
import { KB, type MdState } from './state.js';

export type FailureKind = 'non-finite' | 'bond-stretched' | 'bond-compressed' | 'close-contact' | 'bond-formed' | 'fragments-apart' | 'hole' | 'energy-runaway' | 'conserved-drift';

export type EnergyCriterion = 'strict' | 'per-atom';
export const ENERGY_CRITERIA: readonly EnergyCriterion[] = ['strict', 'per-atom'];

export type EnergyRunawayDirection = 'both' | 'up';
export const ENERGY_RUNAWAY_DIRECTIONS: readonly EnergyRunawayDirection[] = ['both', 'up'];

/**
 * What the monitor measures against, instead of the start geometry (plain data: it travels to
 * worker threads and into summaries). Bonds: `bonds`, else those found in `positionsA`, else in the
 * start. Lengths: `lengthsA`, else measured in `positionsA`, else in the start. Fragment
 * separations: in `positionsA`, else in the start. Energy baseline: `epotKcalPerMol`, else E_pot(start).
 */
export interface MonitorReference {
  /** Reference (e.g. undistorted) geometry, Å, 3N numbers in the order of the start's atoms. */
  positionsA?: ArrayLike<number>;
  /** Bonds to watch (0-based atom pairs). */
  bonds?: Bond[];
  /** Reference length of each bond, Å. */
  lengthsA?: ArrayLike<number>;
  /** Potential energy of the reference geometry, kcal/mol. */
  epotKcalPerMol?: number;
  /** The model's global minimum energy E_min, kcal/mol (strict energy criteria; minimum.ts). */
  epotMinimumKcalPerMol?: number;
  /**
   * Labile hydrogens [donor, H, acceptor] (0-based) whose transfer is sampled on purpose: the
   * donor–H bond counts as stretched only when H is beyond the stretch limit from both the donor
   * and the acceptor, and H closer to the acceptor than the compression limit is compressed.
   */
  labileHydrogens?: ReadonlyArray<readonly [number, number, number]>;
}

/** The run's temperature and the internal degrees of freedom of E_pot (3N − 6), for the upward energy bound. */
export interface MonitorThermal {
  temperatureK: number;
  nInternalDof: number;
}

export interface MonitorOptions {
  bondStretchFactor: number;
  /** Fail below this fraction of a bond's reference length (0 switches it off). */
  bondCompressFactor: number;
  minNonBondedA: number;
  /** Fail when two non-bonded heavy atoms come within this × the sum of their covalent radii (0 switches it off). */
  newBondFactor: number;
  fragmentSeparationA: number;
  /** 'strict' (hole below E_min, canonical upward bound) or 'per-atom' (the old ±L·N band). */
  energyCriterion: EnergyCriterion;
  /** Strict: depth below E_min that is a hole, kcal/mol (total). */
  holeDepthKcalPerMol: number;
  /** Strict: probability of the canonical harmonic E_pot − E_min above the upward bound. */
  energyRunawayTailProbability: number;
  /** Per-atom band: L / N, kcal/mol per atom. */
  energyRunawayKcalPerMolPerAtom: number;
  conservedDriftKcalPerMolPerAtom: number;
  /** 'both': a rise and a fall beyond the limit count; 'up': only a rise (a falling energy never fails). */
  energyRunawayDirection: EnergyRunawayDirection;
  /** Check every this many steps (default 1). */
  checkEvery: number;
  /** Frames kept for the failure report (default 10). */
  keepFrames: number;
}

export const DEFAULT_MONITOR_OPTIONS: MonitorOptions = {
  bondStretchFactor: 2,
  bondCompressFactor: 0.7,
  minNonBondedA: 0.5,
  newBondFactor: DEFAULT_BOND_SCALE,
  fragmentSeparationA: 10,
  energyCriterion: 'strict',
  holeDepthKcalPerMol: 5,
  energyRunawayTailProbability: 1e-12,
  energyRunawayKcalPerMolPerAtom: 50,
  conservedDriftKcalPerMolPerAtom: 10,
  energyRunawayDirection: 'both',
  checkEvery: 1,
  keepFrames: 10,
};

export interface Failure {
  kind: FailureKind;
  /**
   * Set when the failure happened before the run proper: in its equilibration (step and time then
   * count from its start), or in the search for the model's minimum (no minimum at the intact
   * molecule: kind 'hole', step 0).
   */
  phase?: 'equilibration' | 'minimum-search';
  step: number;
  timeFs: number;
  /** Human-readable reason naming atoms 1-based with their symbols. */
  reason: string;
}

/** A copy of the state at one step, kept for the failure report. */
export interface SavedFrame {
  step: number;
  timeFs: number;
  epotKcalPerMol: number;
  positionsA: Float64Array;
  velocitiesAPerFs: Float64Array;
  forcesKcalPerMolPerA: Float64Array;
}

const on = (x: number): boolean => x > 0 && Number.isFinite(x);

/**
 * The distance below which two atoms not bonded in the reference count as a new bond (`bond-formed`):
 * `factor` × the sum of their covalent radii for two heavy atoms, 0 (never) when either is H.
 */
export function newBondDistanceA(a: string, b: string, factor: number): number {
  const ea = element(a);
  const eb = element(b);
  return ea.z > 1 && eb.z > 1 ? factor * (ea.covalentRadiusA + eb.covalentRadiusA) : 0;
}

export class StabilityMonitor {
  readonly options: MonitorOptions;
  readonly symbols: readonly string[];
  readonly bonds: Bond[];
  readonly fragments: number[][];
  /** Reference length of each bond, Å. */
  readonly bondReferenceA: Float64Array;
  private readonly bonded: Uint8Array;
  /** Squared new-bond distance of every non-bonded heavy-atom pair (0: not watched), Å². */
  private readonly newBondA2: Float64Array;
  private readonly fragmentOf: Int32Array;
  private readonly fragmentStartSeparationA: Float64Array;
  private readonly fragmentSeparation: Float64Array;
  /** Reference energy E_ref, kcal/mol (E_pot(start) unless given). */
  readonly epotReferenceKcalPerMol: number;
  /** The energy band that is no runaway: [min(E_start, E_ref), max(E_start, E_ref)], kcal/mol. */
  private readonly epotLow: number;
  private readonly epotHigh: number;
  private readonly conserved0: number;
  /** Strict criteria: E_min (kcal/mol), the upward baseline max(E_start, E_ref, E_min) and U_max (Infinity: no upward bound). */
  readonly epotMinimumKcalPerMol: number;
  readonly epotMinimumGiven: boolean;
  private readonly epotUpBase: number;
  readonly epotRunawayMarginKcalPerMol: number;
  /** Per bond: the acceptor of a labile hydrogen's donor bond, else −1. */
  private readonly labileAcceptor: Int32Array;
  /** Ring buffer of the last frames. */
  private readonly ring: SavedFrame[] = [];
  private ringNext = 0;

  constructor(
    symbols: readonly string[],
    startPositionsA: Float64Array,
    epot0KcalPerMol: number,
    conserved0KcalPerMol: number,
    options: Partial<MonitorOptions> = {},
    reference: MonitorReference = {},
    thermal?: MonitorThermal,
  ) {
    this.options = { ...DEFAULT_MONITOR_OPTIONS, ...options };
    if (!ENERGY_RUNAWAY_DIRECTIONS.includes(this.options.energyRunawayDirection)) {
      throw new AtomgpError(`monitor: energy-runaway direction must be ${ENERGY_RUNAWAY_DIRECTIONS.join(' or ')}, got '${String(this.options.energyRunawayDirection)}'`);
    }
    if (!ENERGY_CRITERIA.includes(this.options.energyCriterion)) {
      throw new AtomgpError(`monitor: energy criterion must be ${ENERGY_CRITERIA.join(' or ')}, got '${String(this.options.energyCriterion)}'`);
    }
    const f = this.options.bondCompressFactor;
    if (!(f >= 0 && f < 1)) throw new AtomgpError(`monitor: bond compression factor must be in [0, 1) (0 switches it off), got ${f}`);
    const p = this.options.energyRunawayTailProbability;
    if (!(p > 0 && p < 1)) throw new AtomgpError(`monitor: energy-runaway tail probability must be in (0, 1), got ${p}`);
    if (!(this.options.holeDepthKcalPerMol >= 0)) throw new AtomgpError(`monitor: hole depth must be ≥ 0 kcal/mol, got ${this.options.holeDepthKcalPerMol}`);
    this.symbols = symbols;
    const n = symbols.length;
    const refA = referencePositions(n, startPositionsA, reference.positionsA);
    this.bonds = reference.bonds ? checkedBonds(n, reference.bonds) : findBonds(symbols, refA);
    this.bondReferenceA = new Float64Array(this.bonds.length);
    this.bonded = new Uint8Array(n * n);
    if (reference.lengthsA && reference.lengthsA.length !== this.bonds.length) {
      throw new AtomgpError(`monitor reference: ${this.bonds.length} bonds but ${reference.lengthsA.length} reference lengths`);
    }
    this.bonds.forEach(([i, j], k) => {
      const len = reference.lengthsA ? reference.lengthsA[k]! : dist(refA, i, j);
      if (!(len > 0 && Number.isFinite(len))) throw new AtomgpError(`monitor reference: bond ${symbols[i]}${i + 1}-${symbols[j]}${j + 1} has reference length ${len} Å (expected a positive number)`);
      this.bondReferenceA[k] = len;
      this.bonded[i * n + j] = 1;
      this.bonded[j * n + i] = 1;
    });
    const nb = this.options.newBondFactor;
    if (!(nb >= 0 && Number.isFinite(nb))) throw new AtomgpError(`monitor: new-bond factor must be a number ≥ 0 (0 switches it off), got ${nb}`);
    this.newBondA2 = new Float64Array(n * n);
    if (nb > 0) {
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          if (this.bonded[i * n + j]) continue;
          const d = newBondDistanceA(symbols[i]!, symbols[j]!, nb);
          this.newBondA2[i * n + j] = d * d;
        }
      }
    }
    this.labileAcceptor = new Int32Array(this.bonds.length).fill(-1);
    for (const [donor, h, acceptor] of reference.labileHydrogens ?? []) {
      const k = this.bonds.findIndex(([i, j]) => (i === donor && j === h) || (i === h && j === donor));
      if (k < 0 || !(acceptor >= 0 && acceptor < n) || acceptor === donor || acceptor === h) throw new AtomgpError(`monitor reference: labile hydrogen ${h + 1} is not bonded to donor ${donor + 1}, or acceptor ${acceptor + 1} is not another atom`);
      this.labileAcceptor[k] = acceptor;
    }
    this.fragments = fragments(n, this.bonds);
    this.fragmentOf = new Int32Array(n);
    this.fragments.forEach((f, k) => {
      for (const a of f) this.fragmentOf[a] = k;
    });
    this.fragmentSeparation = new Float64Array(this.fragments.length);
    this.fragmentStartSeparationA = new Float64Array(this.fragments.length);
    this.fragmentSeparations(refA);
    this.fragmentStartSeparationA.set(this.fragmentSeparation);
    const e = reference.epotKcalPerMol;
    if (e !== undefined && !Number.isFinite(e)) throw new AtomgpError(`monitor reference: energy ${e} kcal/mol is not a finite number`);
    this.epotReferenceKcalPerMol = e ?? epot0KcalPerMol;
    this.epotLow = Math.min(epot0KcalPerMol, this.epotReferenceKcalPerMol);
    this.epotHigh = Math.max(epot0KcalPerMol, this.epotReferenceKcalPerMol);
    this.conserved0 = conserved0KcalPerMol;
    const emin = reference.epotMinimumKcalPerMol;
    if (emin !== undefined && !Number.isFinite(emin)) throw new AtomgpError(`monitor reference: minimum energy ${emin} kcal/mol is not a finite number`);
    this.epotMinimumGiven = emin !== undefined;
    this.epotMinimumKcalPerMol = emin ?? this.epotLow;
    this.epotUpBase = Math.max(this.epotHigh, this.epotMinimumKcalPerMol);
    this.epotRunawayMarginKcalPerMol =
      thermal && thermal.nInternalDof > 0 && thermal.temperatureK >= 0
        ? Math.max(1, KB * thermal.temperatureK * gammaUpperQuantile(thermal.nInternalDof / 2, p))
        : Number.POSITIVE_INFINITY;
    for (let k = 0; k < this.options.keepFrames; k++) {
      this.ring.push({
        step: -1,
        timeFs: 0,
        epotKcalPerMol: 0,
        positionsA: new Float64Array(3 * n),
        velocitiesAPerFs: new Float64Array(3 * n),
        forcesKcalPerMolPerA: new Float64Array(3 * n),
      });
    }
  }

  /** The energy criteria in numbers (for summaries), kcal/mol. */
  energyCriteria(minimumSource?: string): { criterion: string; epotMinimumKcalPerMol: number; epotMinimumSource: string; holeBelowKcalPerMol: number; runawayAboveKcalPerMol: number } {
    const o = this.options;
    if (o.energyCriterion === 'per-atom') {
      const l = on(o.energyRunawayKcalPerMolPerAtom) ? o.energyRunawayKcalPerMolPerAtom * this.symbols.length : Number.POSITIVE_INFINITY;
      return {
        criterion: `per-atom band ±${o.energyRunawayKcalPerMolPerAtom} kcal/mol per atom${o.energyRunawayDirection === 'up' ? ' (rises only)' : ''}`,
        epotMinimumKcalPerMol: this.epotLow,
        epotMinimumSource: 'lowest of start and reference',
        holeBelowKcalPerMol: o.energyRunawayDirection === 'both' ? this.epotLow - l : Number.NEGATIVE_INFINITY,
        runawayAboveKcalPerMol: this.epotHigh + l,
      };
    }
    return {
      criterion: `strict: hole ${o.holeDepthKcalPerMol} kcal/mol below E_min; runaway above max(E_start, E_ref, E_min) + k_BT·Q⁻¹(n/2, ${o.energyRunawayTailProbability})`,
      epotMinimumKcalPerMol: this.epotMinimumKcalPerMol,
      epotMinimumSource: this.epotMinimumGiven ? (minimumSource ?? 'given') : 'lowest of start and reference (no minimum search)',
      holeBelowKcalPerMol: on(o.holeDepthKcalPerMol) ? this.epotMinimumKcalPerMol - o.holeDepthKcalPerMol : Number.NEGATIVE_INFINITY,
      runawayAboveKcalPerMol: this.epotUpBase + this.epotRunawayMarginKcalPerMol,
    };
  }

  private label(i: number): string {
    return `${this.symbols[i]}${i + 1}`;
  }

  /** Closest distance of every fragment to any atom outside it (into `fragmentSeparation`). */
  /** Bond k's length; for a labile hydrogen's donor bond, H's distance to the nearer of donor and acceptor. */
  private bondLengthA(x: Float64Array, k: number): number {
    const [i, j] = this.bonds[k]!;
    const acceptor = this.labileAcceptor[k]!;
    const d = dist(x, i, j);
    return acceptor < 0 ? d : Math.min(d, dist(x, this.symbols[i] === 'H' ? i : j, acceptor));
  }

  /** Bond k's atoms; for a labile hydrogen's donor bond, H and whichever of donor and acceptor is nearer. */
  private nearerPartner(x: Float64Array, k: number): readonly [number, number] {
    const bond = this.bonds[k]!;
    const acceptor = this.labileAcceptor[k]!;
    if (acceptor < 0) return bond;
    const h = this.symbols[bond[0]] === 'H' ? bond[0] : bond[1];
    return dist(x, bond[0], bond[1]) <= dist(x, h, acceptor) ? bond : [h, acceptor];
  }

  private fragmentSeparations(x: Float64Array): void {
    const sep = this.fragmentSeparation;
    sep.fill(Number.POSITIVE_INFINITY);
    const n = this.symbols.length;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const fi = this.fragmentOf[i]!;
        const fj = this.fragmentOf[j]!;
        if (fi === fj) continue;
        const d = dist(x, i, j);
        if (d < sep[fi]!) sep[fi] = d;
        if (d < sep[fj]!) sep[fj] = d;
      }
    }
  }

  /** Record the state in the ring buffer of recent frames. */
  remember(state: MdState): void {
    if (this.ring.length === 0) return;
    const f = this.ring[this.ringNext]!;
    f.step = state.step;
    f.timeFs = state.timeFs;
    f.epotKcalPerMol = state.epotKcalPerMol;
    f.positionsA.set(state.positionsA);
    f.velocitiesAPerFs.set(state.velocitiesAPerFs);
    f.forcesKcalPerMolPerA.set(state.forcesKcalPerMolPerA);
    this.ringNext = (this.ringNext + 1) % this.ring.length;
  }

  /** The remembered frames, oldest first. */
  lastFrames(): SavedFrame[] {
    const out: SavedFrame[] = [];
    for (let k = 0; k < this.ring.length; k++) {
      const f = this.ring[(this.ringNext + k) % this.ring.length]!;
      if (f.step >= 0) out.push(f);
    }
    return out;
  }

  /** Check a state; returns the failure (first reason in the documented order) or undefined. */
  check(state: MdState, conservedKcalPerMol: number): Failure | undefined {
    const o = this.options;
    const x = state.positionsA;
    const n = state.nAtoms;
    const fail = (kind: FailureKind, reason: string): Failure => ({ kind, step: state.step, timeFs: state.timeFs, reason });
    if (!Number.isFinite(state.epotKcalPerMol)) return fail('non-finite', `potential energy is ${state.epotKcalPerMol}`);
    for (let i = 0; i < 3 * n; i++) {
      if (!Number.isFinite(x[i]!) || !Number.isFinite(state.velocitiesAPerFs[i]!) || !Number.isFinite(state.forcesKcalPerMolPerA[i]!)) {
        const a = Math.floor(i / 3);
        return fail('non-finite', `atom ${this.label(a)} has a non-finite position, velocity or force`);
      }
    }
    if (on(o.bondStretchFactor)) {
      for (let k = 0; k < this.bonds.length; k++) {
        const d = this.bondLengthA(x, k);
        if (d > o.bondStretchFactor * this.bondReferenceA[k]!) {
          const [i, j] = this.nearerPartner(x, k);
          return fail(
            'bond-stretched',
            `bond ${this.label(i)}-${this.label(j)} is ${d.toFixed(3)} Å, more than ${o.bondStretchFactor}× its reference length ${this.bondReferenceA[k]!.toFixed(3)} Å`,
          );
        }
      }
    }
    if (on(o.bondCompressFactor)) {
      for (let k = 0; k < this.bonds.length; k++) {
        const d = this.bondLengthA(x, k);
        if (d < o.bondCompressFactor * this.bondReferenceA[k]!) {
          const [i, j] = this.nearerPartner(x, k);
          return fail(
            'bond-compressed',
            `bond ${this.label(i)}-${this.label(j)} is ${d.toFixed(3)} Å, less than ${o.bondCompressFactor}× its reference length ${this.bondReferenceA[k]!.toFixed(3)} Å`,
          );
        }
      }
    }
    if (on(o.minNonBondedA)) {
      const min2 = o.minNonBondedA * o.minNonBondedA;
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          if (this.bonded[i * n + j]) continue;
          const dx = x[3 * i]! - x[3 * j]!;
          const dy = x[3 * i + 1]! - x[3 * j + 1]!;
          const dz = x[3 * i + 2]! - x[3 * j + 2]!;
          const d2 = dx * dx + dy * dy + dz * dz;
          if (d2 < min2) {
            return fail('close-contact', `non-bonded atoms ${this.label(i)} and ${this.label(j)} are ${Math.sqrt(d2).toFixed(3)} Å apart (< ${o.minNonBondedA} Å)`);
          }
        }
      }
    }
    if (on(o.newBondFactor)) {
      const w = this.newBondA2;
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          const lim2 = w[i * n + j]!;
          if (lim2 === 0) continue;
          const dx = x[3 * i]! - x[3 * j]!;
          const dy = x[3 * i + 1]! - x[3 * j + 1]!;
          const dz = x[3 * i + 2]! - x[3 * j + 2]!;
          const d2 = dx * dx + dy * dy + dz * dz;
          if (d2 < lim2) {
            return fail(
              'bond-formed',
              `heavy atoms ${this.label(i)} and ${this.label(j)}, not bonded in the reference, are ${Math.sqrt(d2).toFixed(3)} Å apart: within ${o.newBondFactor}× their covalent radii (${Math.sqrt(lim2).toFixed(3)} Å), a bond the molecule does not have`,
            );
          }
        }
      }
    }
    if (on(o.fragmentSeparationA) && this.fragments.length > 1) {
      this.fragmentSeparations(x);
      for (let k = 0; k < this.fragments.length; k++) {
        if (this.fragmentSeparation[k]! > this.fragmentStartSeparationA[k]! + o.fragmentSeparationA) {
          const atoms = this.fragments[k]!.map((a) => this.label(a)).join(' ');
          return fail(
            'fragments-apart',
            `fragment [${atoms}] is ${this.fragmentSeparation[k]!.toFixed(2)} Å from the rest (reference ${this.fragmentStartSeparationA[k]!.toFixed(2)} Å, limit +${o.fragmentSeparationA} Å)`,
          );
        }
      }
    }
    if (o.energyCriterion === 'strict') {
      const e = state.epotKcalPerMol;
      const from = this.epotMinimumGiven ? "the model's global minimum" : 'the lowest of start and reference (no minimum given)';
      if (on(o.holeDepthKcalPerMol) && e < this.epotMinimumKcalPerMol - o.holeDepthKcalPerMol) {
        return fail(
          'hole',
          `potential energy ${e.toFixed(2)} kcal/mol is ${(this.epotMinimumKcalPerMol - e).toFixed(2)} kcal/mol below ${from} (${this.epotMinimumKcalPerMol.toFixed(2)} kcal/mol; limit ${o.holeDepthKcalPerMol} kcal/mol)`,
        );
      }
      if (e > this.epotUpBase + this.epotRunawayMarginKcalPerMol) {
        return fail(
          'energy-runaway',
          `potential energy rose ${(e - this.epotUpBase).toFixed(2)} kcal/mol above max(E_start, E_ref, E_min) = ${this.epotUpBase.toFixed(2)} kcal/mol (limit ${this.epotRunawayMarginKcalPerMol.toFixed(2)} kcal/mol: canonical tail probability ${o.energyRunawayTailProbability})`,
        );
      }
    } else if (on(o.energyRunawayKcalPerMolPerAtom)) {
      const e = state.epotKcalPerMol;
      const limit = o.energyRunawayKcalPerMolPerAtom * n;
      const per = `${o.energyRunawayKcalPerMolPerAtom} kcal/mol per atom × ${n}`;
      if (e > this.epotHigh + limit) {
        const from = this.epotHigh === this.epotReferenceKcalPerMol && this.epotLow !== this.epotHigh ? 'the reference geometry' : 'the start';
        return fail('energy-runaway', `potential energy rose ${(e - this.epotHigh).toFixed(2)} kcal/mol above that of ${from} (${this.epotHigh.toFixed(2)} kcal/mol; limit ${per})`);
      }
      if (o.energyRunawayDirection === 'both' && e < this.epotLow - limit) {
        const from = this.epotLow === this.epotReferenceKcalPerMol && this.epotLow !== this.epotHigh ? 'the reference geometry' : 'the start';
        return fail('energy-runaway', `potential energy fell ${(this.epotLow - e).toFixed(2)} kcal/mol below that of ${from} (${this.epotLow.toFixed(2)} kcal/mol; limit ${per})`);
      }
    }
    if (on(o.conservedDriftKcalPerMolPerAtom)) {
      const dh = conservedKcalPerMol - this.conserved0;
      if (!(Math.abs(dh) <= o.conservedDriftKcalPerMolPerAtom * n)) {
        return fail('conserved-drift', `conserved quantity drifted ${dh.toFixed(2)} kcal/mol (limit ±${o.conservedDriftKcalPerMolPerAtom} kcal/mol per atom × ${n})`);
      }
    }
    return undefined;
  }
}

function dist(x: Float64Array, i: number, j: number): number {
  const dx = x[3 * i]! - x[3 * j]!;
  const dy = x[3 * i + 1]! - x[3 * j + 1]!;
  const dz = x[3 * i + 2]! - x[3 * j + 2]!;
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}

/** The reference geometry as a Float64Array (the start when none is given), checked for size and finiteness. */
function referencePositions(n: number, startA: Float64Array, refA: ArrayLike<number> | undefined): Float64Array {
  if (refA === undefined) return startA;
  if (refA.length !== 3 * n) throw new AtomgpError(`monitor reference geometry has ${refA.length / 3} atoms, the start has ${n}`);
  const out = Float64Array.from(refA);
  for (let k = 0; k < out.length; k++) {
    if (!Number.isFinite(out[k]!)) throw new AtomgpError(`monitor reference geometry: atom ${Math.floor(k / 3) + 1} has a non-finite coordinate`);
  }
  return out;
}

/** Bonds given explicitly: 0-based, distinct atoms inside 0..n−1, each stored as [min, max]. */
function checkedBonds(n: number, bonds: readonly Bond[]): Bond[] {
  return bonds.map(([i, j]) => {
    if (!Number.isInteger(i) || !Number.isInteger(j) || i < 0 || j < 0 || i >= n || j >= n || i === j) {
      throw new AtomgpError(`monitor reference: bond (${i + 1}, ${j + 1}) is not a pair of two different atoms within 1..${n}`);
    }
    return i < j ? ([i, j] as const) : ([j, i] as const);
  });
}

export interface BondReturnSettings {
  bonds: Bond[];
  referenceLengthsA: number[];
  /** Tolerance, Å (e.g. 0.1). */
  tolA: number;
}

/**
 * The first time each watched bond comes back within `tolA` of its reference length (a bond
 * released from a stretched start: how fast the potential pulls it back). Observe every step;
 * allocation-free. A bond within the tolerance at the first observed step gets that step's time.
 */
export class BondReturnWatch {
  readonly settings: BondReturnSettings;
  /** First return time per bond, fs; null while the bond has not come back. */
  readonly timesFs: (number | null)[];
  private pending: number;

  constructor(nAtoms: number, settings: BondReturnSettings, earlierTimesFs?: readonly (number | null)[]) {
    checkedBonds(nAtoms, settings.bonds);
    if (settings.referenceLengthsA.length !== settings.bonds.length) {
      throw new AtomgpError(`bond return times: ${settings.bonds.length} bonds but ${settings.referenceLengthsA.length} reference lengths`);
    }
    if (!(settings.tolA >= 0 && Number.isFinite(settings.tolA))) throw new AtomgpError(`bond return times: tolerance must be a number ≥ 0 Å, got ${settings.tolA}`);
    if (earlierTimesFs && earlierTimesFs.length !== settings.bonds.length) throw new AtomgpError('bond return times: the saved times do not match the bonds');
    this.settings = settings;
    this.timesFs = earlierTimesFs ? [...earlierTimesFs] : settings.bonds.map(() => null);
    this.pending = this.timesFs.filter((t) => t === null).length;
  }

  observe(positionsA: Float64Array, timeFs: number): void {
    if (this.pending === 0) return;
    const { bonds, referenceLengthsA, tolA } = this.settings;
    for (let k = 0; k < bonds.length; k++) {
      if (this.timesFs[k] !== null) continue;
      const [i, j] = bonds[k]!;
      if (Math.abs(dist(positionsA, i, j) - referenceLengthsA[k]!) <= tolA) {
        this.timesFs[k] = timeFs;
        this.pending--;
      }
    }
  }
}

export interface MonitorAttachOptions {
  /** Keep running after a failure (the first failure is still recorded). */
  continueOnFailure?: boolean;
  /** Called once, at the first failure, with the failure and the last frames. */
  onFailure?: (failure: Failure, lastFrames: SavedFrame[]) => void;
}

/**
 * Attach a monitor to a run: remembers every step, checks every `checkEvery` steps, and on the
 * first failure records it, calls `onFailure` and (unless continuing) stops the run.
 * Returns a getter for the first failure.
 */
export function attachMonitor(md: MolecularDynamics, monitor: StabilityMonitor, options: MonitorAttachOptions = {}): () => Failure | undefined {
  let first: Failure | undefined;
  const every = monitor.options.checkEvery;
  md.attach((m) => {
    monitor.remember(m.state);
    if (first !== undefined || m.state.step % every !== 0) return;
    const f = monitor.check(m.state, m.conservedKcalPerMol);
    if (f === undefined) return;
    first = f;
    options.onFailure?.(f, monitor.lastFrames());
    if (!options.continueOnFailure) m.stop(`${f.kind}: ${f.reason}`);
  }, 1);
  return () => first;
}
