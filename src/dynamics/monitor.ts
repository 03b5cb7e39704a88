/**
 * Stability monitor: the explicit definition of a "crashed" simulation (science.md §5). A step
 * fails, with the first reason found in this order, when
 *
 *  1. `non-finite`     any position, velocity, force or the potential energy is NaN or ±∞;
 *  2. `bond-stretched` a bond of the start geometry (covalent radii, d < 1.2 (r_a + r_b)) is longer
 *                      than `bondStretchFactor` (default 2) × its start length;
 *  3. `close-contact`  two atoms not bonded at the start are closer than `minNonBondedA`
 *                      (default 0.5 Å);
 *  4. `fragments-apart` a fragment (connected component of the start bonds; only when there are
 *                      several) is further from every other fragment (closest atom pair) than its
 *                      start separation + `fragmentSeparationA` (default 10 Å);
 *  5. `energy-runaway` |E_pot − E_pot(start)| > `energyRunawayKcalPerMolPerAtom` (default 50) × N;
 *  6. `conserved-drift` |H − H(start)| > `conservedDriftKcalPerMolPerAtom` (default 10) × N, where H
 *                      is the integrator's conserved quantity (a failing integration).
 *
 * A threshold of 0 or Infinity switches that check off (not for non-finite values). Checks cost
 * O(N² + bonds) per checked step and allocate nothing unless a failure is found.
 */
import { type Bond, findBonds, fragments } from '../chem/connectivity.js';
import type { MolecularDynamics } from './md.js';
import type { MdState } from './state.js';

export type FailureKind = 'non-finite' | 'bond-stretched' | 'close-contact' | 'fragments-apart' | 'energy-runaway' | 'conserved-drift';

export interface MonitorOptions {
  bondStretchFactor: number;
  minNonBondedA: number;
  fragmentSeparationA: number;
  energyRunawayKcalPerMolPerAtom: number;
  conservedDriftKcalPerMolPerAtom: number;
  /** Check every this many steps (default 1). */
  checkEvery: number;
  /** Frames kept for the failure report (default 10). */
  keepFrames: number;
}

export const DEFAULT_MONITOR_OPTIONS: MonitorOptions = {
  bondStretchFactor: 2,
  minNonBondedA: 0.5,
  fragmentSeparationA: 10,
  energyRunawayKcalPerMolPerAtom: 50,
  conservedDriftKcalPerMolPerAtom: 10,
  checkEvery: 1,
  keepFrames: 10,
};

export interface Failure {
  kind: FailureKind;
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

export class StabilityMonitor {
  readonly options: MonitorOptions;
  readonly symbols: readonly string[];
  readonly bonds: Bond[];
  readonly fragments: number[][];
  private readonly bondStartA: Float64Array;
  private readonly bonded: Uint8Array;
  private readonly fragmentOf: Int32Array;
  private readonly fragmentStartSeparationA: Float64Array;
  private readonly fragmentSeparation: Float64Array;
  private readonly epot0: number;
  private readonly conserved0: number;
  /** Ring buffer of the last frames. */
  private readonly ring: SavedFrame[] = [];
  private ringNext = 0;

  constructor(
    symbols: readonly string[],
    startPositionsA: Float64Array,
    epot0KcalPerMol: number,
    conserved0KcalPerMol: number,
    options: Partial<MonitorOptions> = {},
  ) {
    this.options = { ...DEFAULT_MONITOR_OPTIONS, ...options };
    this.symbols = symbols;
    const n = symbols.length;
    this.bonds = findBonds(symbols, startPositionsA);
    this.bondStartA = new Float64Array(this.bonds.length);
    this.bonded = new Uint8Array(n * n);
    this.bonds.forEach(([i, j], k) => {
      this.bondStartA[k] = dist(startPositionsA, i, j);
      this.bonded[i * n + j] = 1;
      this.bonded[j * n + i] = 1;
    });
    this.fragments = fragments(n, this.bonds);
    this.fragmentOf = new Int32Array(n);
    this.fragments.forEach((f, k) => {
      for (const a of f) this.fragmentOf[a] = k;
    });
    this.fragmentSeparation = new Float64Array(this.fragments.length);
    this.fragmentStartSeparationA = new Float64Array(this.fragments.length);
    this.fragmentSeparations(startPositionsA);
    this.fragmentStartSeparationA.set(this.fragmentSeparation);
    this.epot0 = epot0KcalPerMol;
    this.conserved0 = conserved0KcalPerMol;
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

  private label(i: number): string {
    return `${this.symbols[i]}${i + 1}`;
  }

  /** Closest distance of every fragment to any atom outside it (into `fragmentSeparation`). */
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
        const [i, j] = this.bonds[k]!;
        const d = dist(x, i, j);
        if (d > o.bondStretchFactor * this.bondStartA[k]!) {
          return fail(
            'bond-stretched',
            `bond ${this.label(i)}-${this.label(j)} is ${d.toFixed(3)} Å, more than ${o.bondStretchFactor}× its start length ${this.bondStartA[k]!.toFixed(3)} Å`,
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
    if (on(o.fragmentSeparationA) && this.fragments.length > 1) {
      this.fragmentSeparations(x);
      for (let k = 0; k < this.fragments.length; k++) {
        if (this.fragmentSeparation[k]! > this.fragmentStartSeparationA[k]! + o.fragmentSeparationA) {
          const atoms = this.fragments[k]!.map((a) => this.label(a)).join(' ');
          return fail(
            'fragments-apart',
            `fragment [${atoms}] is ${this.fragmentSeparation[k]!.toFixed(2)} Å from the rest (start ${this.fragmentStartSeparationA[k]!.toFixed(2)} Å, limit +${o.fragmentSeparationA} Å)`,
          );
        }
      }
    }
    if (on(o.energyRunawayKcalPerMolPerAtom)) {
      const de = state.epotKcalPerMol - this.epot0;
      if (Math.abs(de) > o.energyRunawayKcalPerMolPerAtom * n) {
        return fail('energy-runaway', `potential energy moved ${de.toFixed(2)} kcal/mol from its start value (limit ±${o.energyRunawayKcalPerMolPerAtom} kcal/mol per atom × ${n})`);
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
