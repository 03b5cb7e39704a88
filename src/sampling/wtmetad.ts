/**
 * Well-tempered metadynamics (WTMetaD; Barducci, Bussi & Parrinello, PRL 100, 020603 (2008)) on
 * top of the existing MD engine (src/dynamics): science.md §6.
 *
 * Bias on the collective variables s (cv.ts), a sum of Gaussian hills
 *   V(s) = Σ_i w_i Π_c exp(−(s_c − s_ic)² / (2 σ_c²)),
 * with periodic (minimum-image) differences for dihedrals. Every `strideSteps` steps a hill is
 * added at the current s with the well-tempered height w = w0 exp(−V(s) / (k_B ΔT)), where
 * ΔT = (γ − 1) T and γ = (T + ΔT)/T is the bias factor. In the long-time limit
 * V(s) → −(1 − 1/γ) F(s), so F(s) ≈ −γ/(γ − 1) V(s) + const (`biasOnGrid`).
 *
 * Units: the bias lives in kcal/mol (hill heights in kcal/mol, widths in the CV's unit: radians or
 * Å), like the MD engine's internals. `BiasedPotential` (bias.ts) converts to the Potential contract's Ha
 * and Ha/bohr at its boundary. The MD runs with Langevin (BAOAB) or Nosé–Hoover chains from
 * src/dynamics; the bias enters only through the wrapped potential.
 */
import { BOLTZMANN_KCAL_PER_MOL_PER_K } from '../chem/units.js';
import { DEFAULT_INTEGRATOR_SETTINGS, type IntegratorSettings, thermostatLength } from '../dynamics/integrators.js';
import { MolecularDynamics } from '../dynamics/md.js';
import { attachMonitor, type Failure, type MonitorOptions, StabilityMonitor } from '../dynamics/monitor.js';
import type { MdState } from '../dynamics/state.js';
import { AtomgpError } from '../errors.js';
import type { Potential } from '../potentials/potential.js';
import { BiasedPotential, type BondWalls, bondWallsFromStart } from './bias.js';
import { type CvSpec, cvName, cvUnit, isPeriodicCv, validateCvs, wrapAngle } from './cv.js';

/** Hills further than this many (squared, halved) widths contribute < e^−40 ≈ 4e−18 of their height: skipped. */
const GAUSSIAN_EXPONENT_CUTOFF = 40;

export interface BiasSettings {
  /** Simulation temperature T, K. */
  temperatureK: number;
  /** γ = (T + ΔT)/T > 1; `Infinity` gives plain (untempered) metadynamics with constant heights. */
  biasFactor: number;
  /** w0, kcal/mol. */
  initialHeightKcalPerMol: number;
  /** σ per CV, in the CV's unit (rad or Å). Dihedral widths must be below π/2. */
  widths: readonly number[];
}

/** A plain, JSON-friendly copy of a bias (to save it, report it or continue from it). */
export interface BiasSnapshot {
  cvs: CvSpec[];
  settings: { temperatureK: number; biasFactor: number; initialHeightKcalPerMol: number; widths: number[] };
  /** Hill centres, row-major nHills × nCvs. */
  centres: number[];
  heightsKcalPerMol: number[];
  /** MD step at which each hill was deposited. */
  steps: number[];
}

export class MetadynamicsBias {
  readonly cvs: readonly CvSpec[];
  readonly settings: Readonly<BiasSettings>;
  readonly nCvs: number;
  /** k_B ΔT, kcal/mol (Infinity for plain metadynamics). */
  readonly kDeltaTKcalPerMol: number;
  private readonly periodic: Uint8Array;
  /** 1/(2σ²) per CV. */
  private readonly halfInvVar: Float64Array;
  private readonly diff: Float64Array;
  private centres: Float64Array;
  private heights: Float64Array;
  private steps: Float64Array;
  private count = 0;

  constructor(cvs: readonly CvSpec[], settings: BiasSettings, initialCapacity = 256) {
    if (cvs.length === 0) throw new AtomgpError('metadynamics needs at least one collective variable');
    const { temperatureK, biasFactor, initialHeightKcalPerMol, widths } = settings;
    if (!(Number.isFinite(temperatureK) && temperatureK > 0)) throw new AtomgpError(`metadynamics temperature ${temperatureK} K: expected > 0`);
    if (!(biasFactor > 1)) throw new AtomgpError(`bias factor γ = ${biasFactor}: expected γ > 1 (γ = (T + ΔT)/T; typical 5-20; Infinity for plain metadynamics)`);
    if (!(Number.isFinite(initialHeightKcalPerMol) && initialHeightKcalPerMol > 0)) {
      throw new AtomgpError(`hill height ${initialHeightKcalPerMol} kcal/mol: expected a positive number (typical 0.2-1.5 kcal/mol)`);
    }
    if (widths.length !== cvs.length) throw new AtomgpError(`${widths.length} hill widths for ${cvs.length} collective variables: give one width per CV`);
    this.cvs = cvs.map((c) => ({ ...c, atoms: [...c.atoms] }));
    this.nCvs = cvs.length;
    this.periodic = new Uint8Array(this.nCvs);
    this.halfInvVar = new Float64Array(this.nCvs);
    cvs.forEach((cv, c) => {
      const w = widths[c]!;
      const limit = isPeriodicCv(cv) ? Math.PI / 2 : Number.POSITIVE_INFINITY;
      if (!(Number.isFinite(w) && w > 0 && w < limit)) {
        throw new AtomgpError(
          `hill width ${w} ${cvUnit(cv)} for ${cvName(cv)}: expected a positive number${isPeriodicCv(cv) ? ' below π/2 rad (typical 0.1-0.35 rad)' : ' (typical 0.05-0.2 Å)'}`,
        );
      }
      this.periodic[c] = isPeriodicCv(cv) ? 1 : 0;
      this.halfInvVar[c] = 1 / (2 * w * w);
    });
    this.settings = { temperatureK, biasFactor, initialHeightKcalPerMol, widths: [...widths] };
    this.kDeltaTKcalPerMol = BOLTZMANN_KCAL_PER_MOL_PER_K * (biasFactor - 1) * temperatureK;
    this.diff = new Float64Array(this.nCvs);
    const cap = Math.max(1, Math.floor(initialCapacity));
    this.centres = new Float64Array(cap * this.nCvs);
    this.heights = new Float64Array(cap);
    this.steps = new Float64Array(cap);
  }

  get nHills(): number {
    return this.count;
  }

  /** γ/(γ − 1): F(s) ≈ −(γ/(γ − 1)) V(s) + const (1 for plain metadynamics). */
  get freeEnergyFactor(): number {
    const g = this.settings.biasFactor;
    return Number.isFinite(g) ? g / (g - 1) : 1;
  }

  /**
   * V(s), kcal/mol. With `gradOut` (length nCvs) also ∂V/∂s_c (kcal/mol per rad or per Å).
   * No allocation; O(nHills × nCvs).
   */
  evaluate(s: ArrayLike<number>, gradOut?: Float64Array): number {
    const d = this.nCvs;
    const diff = this.diff;
    const hiv = this.halfInvVar;
    const per = this.periodic;
    const cen = this.centres;
    if (gradOut) gradOut.fill(0);
    let v = 0;
    for (let h = 0; h < this.count; h++) {
      let e = 0;
      const base = h * d;
      for (let c = 0; c < d; c++) {
        let ds = s[c]! - cen[base + c]!;
        if (per[c] === 1) ds = wrapAngle(ds);
        diff[c] = ds;
        e += ds * ds * hiv[c]!;
      }
      if (e > GAUSSIAN_EXPONENT_CUTOFF) continue;
      const g = this.heights[h]! * Math.exp(-e);
      v += g;
      if (gradOut) for (let c = 0; c < d; c++) gradOut[c] = gradOut[c]! - 2 * g * diff[c]! * hiv[c]!;
    }
    return v;
  }

  /** Height a hill deposited at s would get now: w0 exp(−V(s)/(k_B ΔT)), kcal/mol. */
  heightAt(s: ArrayLike<number>): number {
    const w0 = this.settings.initialHeightKcalPerMol;
    return Number.isFinite(this.kDeltaTKcalPerMol) ? w0 * Math.exp(-this.evaluate(s) / this.kDeltaTKcalPerMol) : w0;
  }

  /** Deposit a well-tempered hill at s (at MD step `step`); returns its height, kcal/mol. */
  deposit(s: ArrayLike<number>, step = this.count): number {
    const w = this.heightAt(s);
    this.addHill(s, w, step);
    return w;
  }

  /** Add a hill with an explicit height (restoring a saved bias). */
  addHill(s: ArrayLike<number>, heightKcalPerMol: number, step = this.count): void {
    for (let c = 0; c < this.nCvs; c++) {
      if (!Number.isFinite(s[c]!)) throw new AtomgpError(`cannot deposit a hill at a non-finite value of ${cvName(this.cvs[c]!)}`);
    }
    if (this.count === this.heights.length) this.grow();
    const d = this.nCvs;
    for (let c = 0; c < d; c++) this.centres[this.count * d + c] = this.periodic[c] === 1 ? wrapAngle(s[c]!) : s[c]!;
    this.heights[this.count] = heightKcalPerMol;
    this.steps[this.count] = step;
    this.count++;
  }

  /** Replace the hills by saved copies, bit for bit (centres as stored, not wrapped again). */
  restoreHills(centres: Float64Array, heightsKcalPerMol: Float64Array, steps: Float64Array): void {
    const count = heightsKcalPerMol.length;
    if (centres.length !== count * this.nCvs || steps.length !== count) throw new AtomgpError(`saved hills: ${centres.length} centre values and ${steps.length} steps for ${count} hills × ${this.nCvs} CVs`);
    for (let k = 0; k < centres.length; k++) {
      if (!Number.isFinite(centres[k]!)) throw new AtomgpError('saved hills: a non-finite hill centre');
    }
    while (this.heights.length < count) this.grow();
    this.centres.set(centres);
    this.heights.set(heightsKcalPerMol);
    this.steps.set(steps);
    this.count = count;
  }

  private grow(): void {
    const cap = 2 * this.heights.length;
    const centres = new Float64Array(cap * this.nCvs);
    centres.set(this.centres);
    const heights = new Float64Array(cap);
    heights.set(this.heights);
    const steps = new Float64Array(cap);
    steps.set(this.steps);
    this.centres = centres;
    this.heights = heights;
    this.steps = steps;
  }

  /** Copies of the hills: centres (row-major nHills × nCvs), heights (kcal/mol), deposition steps. */
  hills(): { centres: Float64Array; heightsKcalPerMol: Float64Array; steps: Float64Array } {
    return {
      centres: this.centres.slice(0, this.count * this.nCvs),
      heightsKcalPerMol: this.heights.slice(0, this.count),
      steps: this.steps.slice(0, this.count),
    };
  }

  snapshot(): BiasSnapshot {
    const h = this.hills();
    return {
      cvs: this.cvs.map((c) => ({ ...c, atoms: [...c.atoms] })),
      settings: { ...this.settings, widths: [...this.settings.widths] },
      centres: Array.from(h.centres),
      heightsKcalPerMol: Array.from(h.heightsKcalPerMol),
      steps: Array.from(h.steps),
    };
  }

  static fromSnapshot(snap: BiasSnapshot): MetadynamicsBias {
    const bias = new MetadynamicsBias(snap.cvs, snap.settings, Math.max(snap.heightsKcalPerMol.length, 1));
    const d = snap.cvs.length;
    if (snap.centres.length !== d * snap.heightsKcalPerMol.length) {
      throw new AtomgpError(`bias snapshot: ${snap.centres.length} centre values for ${snap.heightsKcalPerMol.length} hills × ${d} CVs`);
    }
    for (let h = 0; h < snap.heightsKcalPerMol.length; h++) {
      bias.addHill(snap.centres.slice(h * d, (h + 1) * d), snap.heightsKcalPerMol[h]!, snap.steps[h] ?? h);
    }
    return bias;
  }
}

export type WtmetadThermostat = 'langevin' | 'nvt';

export interface WtmetadOptions {
  /** Reference potential (xtb, built-in force field, an analytic test potential, a GP model set). */
  potential: Potential;
  symbols: string[];
  massesAmu: Float64Array;
  startPositionsA: Float64Array;
  cvs: CvSpec[];
  temperatureK: number;
  /** γ = (T + ΔT)/T > 1 (typical 5-20). */
  biasFactor: number;
  /** w0, kcal/mol. */
  hillHeightKcalPerMol: number;
  /** σ per CV, rad (angles, dihedrals) or Å (distances). */
  hillWidths: number[];
  /** Deposit a hill every this many steps. */
  strideSteps: number;
  timestepFs: number;
  /** Total MD steps. */
  steps: number;
  /** Harvest a frame every this many steps (step 0, the start geometry, included). */
  harvestEvery: number;
  seed: number;
  /** 'langevin' (BAOAB; default, good for sampling) or 'nvt' (Nosé–Hoover chains). */
  thermostat?: WtmetadThermostat;
  /** Other integrator settings (friction, τ, chain length, …); defaults from src/dynamics. */
  integrator?: Partial<Omit<IntegratorSettings, 'ensemble' | 'timestepFs' | 'temperatureK'>>;
  /**
   * Stability monitor (src/dynamics/monitor.ts). Default: its defaults, except that the
   * conserved-quantity check is off (depositing hills changes the Hamiltonian by design). Note
   * the energy-runaway check sees the biased energy. `false` switches the monitor off.
   */
  monitor?: Partial<MonitorOptions> | false;
  /** Throw a `WtmetadFailure` (carrying the partial result) instead of returning a flagged result. */
  throwOnFailure?: boolean;
  /** Continue from an existing bias (its CVs and settings must match these options). */
  initialBias?: MetadynamicsBias;
  /** Continue a run with these options from its checkpoint (`WtmetadRun.checkpoint`), bit for bit. */
  resumeFrom?: WtmetadCheckpoint;
  /**
   * Upper walls on the start bonds (`BondWalls`), or `{ factor, kKcalPerMolPerA2 }` to build them
   * from the start geometry; default none. The pipeline uses `DEFAULT_BOND_WALL`.
   */
  bondWalls?: BondWalls | { factor?: number; kKcalPerMolPerA2?: number };
  onProgress?: (step: number, nFrames: number) => void;
  /** Steps between progress calls (default 100). */
  progressEvery?: number;
}

/** One harvested geometry with its unbiased reference labels. */
export interface HarvestedFrame {
  step: number;
  timeFs: number;
  positionsA: Float64Array;
  /** Unbiased reference energy, Ha. */
  energyHa: number;
  /** Unbiased reference forces, Ha/bohr. */
  forcesHaPerBohr: Float64Array;
  /** Reference atomic energies, Ha (the potential's own split). */
  atomicEnergiesHa: Float64Array;
  /** CV values, rad or Å. */
  cvValues: Float64Array;
  /** Bias at this frame when it was harvested (before a hill deposited at the same step), kcal/mol. */
  biasKcalPerMol: number;
}

export interface WtmetadResult {
  frames: HarvestedFrame[];
  /** The bias at the end (hills, settings); `bias.hills()` for the arrays. */
  bias: MetadynamicsBias;
  hills: { centres: Float64Array; heightsKcalPerMol: Float64Array; steps: Float64Array };
  stepsRequested: number;
  stepsCompleted: number;
  /** False when the monitor stopped the run (frames harvested before the failure are kept). */
  completed: boolean;
  failure: Failure | null;
  /** A ready-to-throw error describing the failure (null when the run completed). */
  error: AtomgpError | null;
  meanTemperatureK: number;
  wallSeconds: number;
  /** Set when a stop request (a signal) ended the run early. */
  interrupted?: string;
}

/** Thrown by `runWtmetad` with `throwOnFailure`; `result` holds the frames harvested before the failure. */
export class WtmetadFailure extends AtomgpError {
  constructor(
    message: string,
    readonly result: WtmetadResult,
  ) {
    super(message);
  }
}

function positiveInteger(name: string, v: number, allowZero = false): void {
  if (!Number.isInteger(v) || v < (allowZero ? 0 : 1)) throw new AtomgpError(`${name} must be an integer ≥ ${allowZero ? 0 : 1}, got ${v}`);
}

/**
 * Everything a WTMetaD run needs to continue bit for bit: the MD state (positions, velocities,
 * forces, thermostat, RNG, running sums), the hills and the frames harvested so far. Taken between
 * steps (`WtmetadRun.checkpoint`), so the observers of `state.step` have already run.
 */
export interface WtmetadCheckpoint {
  state: MdState;
  /** Hill centres (row-major nHills × nCvs, as stored: periodic ones already wrapped), heights (kcal/mol), deposition steps. */
  hills: { centres: Float64Array; heightsKcalPerMol: Float64Array; steps: Float64Array };
  frames: HarvestedFrame[];
}

/** A prepared WTMetaD run: advance it (in one go or in chunks), checkpoint it, then finish it. */
export interface WtmetadRun {
  readonly md: MolecularDynamics;
  /** The run reached its steps or the monitor stopped it. */
  readonly done: boolean;
  advance(untilStep: number): void;
  /** A deep copy of the run's state now (between steps). */
  checkpoint(): WtmetadCheckpoint;
  /** The result; `interrupted` names the signal that ended the run early. */
  finish(interrupted?: string): WtmetadResult;
}

/**
 * Prepare a WTMetaD run on `o.potential` that harvests labelled frames. The MD is src/dynamics'
 * `MolecularDynamics`; the bias acts through a `BiasedPotential`; harvesting, deposition, the
 * monitor and progress are observers. Per step, in this order: monitor check, harvest (every
 * `harvestEvery`), hill deposition (every `strideSteps`, forces updated for the new hill at once).
 * With `resumeFrom` the run continues from a checkpoint of a run with the same options: nothing is
 * recomputed, so the frames, hills and final state equal those of an uninterrupted run bit for bit
 * (for a reference without hidden state between calls; xtb's library reuses its last wavefunction
 * as the next SCF guess, so a continued xtb run differs at the level of the SCF convergence).
 */
export function startWtmetad(o: WtmetadOptions): WtmetadRun {
  const n = o.symbols.length;
  if (o.potential.nAtoms !== n) {
    throw new AtomgpError(`the start geometry has ${n} atoms but the potential (${o.potential.description}) is for ${o.potential.nAtoms}`);
  }
  for (let i = 0; i < n; i++) {
    if (o.potential.symbols[i]!.toLowerCase() !== o.symbols[i]!.toLowerCase()) {
      throw new AtomgpError(`atom ${i + 1} of the start geometry is ${o.symbols[i]} but the potential expects ${o.potential.symbols[i]} there`);
    }
  }
  if (o.startPositionsA.length !== 3 * n || o.massesAmu.length !== n) {
    throw new AtomgpError(`WTMetaD: ${n} atoms need ${3 * n} coordinates and ${n} masses, got ${o.startPositionsA.length} and ${o.massesAmu.length}`);
  }
  validateCvs(o.cvs, n);
  positiveInteger('number of steps', o.steps, true);
  positiveInteger('hill deposition stride (steps)', o.strideSteps);
  positiveInteger('harvest interval (steps)', o.harvestEvery);
  if (o.initialBias && o.resumeFrom) throw new AtomgpError('WTMetaD: give either an initial bias or a checkpoint to continue from, not both');
  let bias: MetadynamicsBias;
  if (o.initialBias) {
    bias = o.initialBias;
    const same = JSON.stringify(bias.cvs.map((c) => [c.kind, c.atoms])) === JSON.stringify(o.cvs.map((c) => [c.kind, c.atoms]));
    if (!same || bias.settings.temperatureK !== o.temperatureK || bias.settings.biasFactor !== o.biasFactor) {
      throw new AtomgpError('WTMetaD: the initial bias was built for other CVs, temperature or bias factor than this run');
    }
  } else {
    bias = new MetadynamicsBias(o.cvs, {
      temperatureK: o.temperatureK,
      biasFactor: o.biasFactor,
      initialHeightKcalPerMol: o.hillHeightKcalPerMol,
      widths: o.hillWidths,
    });
  }
  const cp = o.resumeFrom;
  if (cp) {
    const h = cp.hills;
    if (cp.state.nAtoms !== n || h.centres.length !== h.heightsKcalPerMol.length * bias.nCvs || h.steps.length !== h.heightsKcalPerMol.length) {
      throw new AtomgpError(`WTMetaD checkpoint: ${cp.state.nAtoms} atoms and ${h.heightsKcalPerMol.length} hills on ${h.centres.length / Math.max(1, h.heightsKcalPerMol.length)} CVs do not fit this run (${n} atoms, ${bias.nCvs} CVs)`);
    }
    if (cp.state.step > o.steps) throw new AtomgpError(`WTMetaD checkpoint at step ${cp.state.step} is beyond the ${o.steps} steps asked for`);
    bias.restoreHills(h.centres, h.heightsKcalPerMol, h.steps);
  }
  const walls =
    o.bondWalls === undefined
      ? undefined
      : 'pairs' in o.bondWalls
        ? o.bondWalls
        : bondWallsFromStart(o.symbols, o.startPositionsA, o.bondWalls.factor, o.bondWalls.kKcalPerMolPerA2);
  const biased = new BiasedPotential(o.potential, bias, walls);
  const settings: IntegratorSettings = {
    ...DEFAULT_INTEGRATOR_SETTINGS,
    ...o.integrator,
    ensemble: o.thermostat ?? 'langevin',
    timestepFs: o.timestepFs,
    temperatureK: o.temperatureK,
    // the bias grows by a hill at every deposition, so the conserved quantity jumps by design
    stepGuardKcalPerMol: 0,
  };
  if (settings.ensemble !== 'langevin' && settings.ensemble !== 'nvt') {
    throw new AtomgpError(`WTMetaD thermostat '${settings.ensemble}': expected langevin or nvt`);
  }
  if (cp && cp.state.thermostat.length !== thermostatLength(settings, n)) throw new AtomgpError('WTMetaD checkpoint: its thermostat does not fit this run');
  const md = cp ? MolecularDynamics.fromState(biased, settings, copyState(cp.state)) : MolecularDynamics.create(biased, settings, o.startPositionsA, o.massesAmu, o.seed);

  let failureOf: () => Failure | undefined = () => undefined;
  if (o.monitor !== false) {
    // From a checkpoint the reference energies are the saved run's (its state keeps them).
    const stats = md.state.stats;
    const monitor = new StabilityMonitor(o.symbols, o.startPositionsA, stats.epot0KcalPerMol, stats.conserved0KcalPerMol, {
      conservedDriftKcalPerMolPerAtom: 0,
      // The bias pushes E_pot far above the canonical range on purpose, and the start need not be the
      // reference's minimum: the strict hole/runaway bounds do not apply to biased sampling.
      energyCriterion: 'per-atom',
      ...o.monitor,
    }, { labileHydrogens: labileOf(walls) });
    failureOf = attachMonitor(md, monitor);
  }

  const frames: HarvestedFrame[] = cp ? cp.frames.map(copyFrame) : [];
  const u = biased.lastUnbiased;
  md.attach((m) => {
    if (failureOf() !== undefined) return;
    if (!Number.isFinite(u.energyHa) || !u.forcesHaPerBohr.every(Number.isFinite) || !u.atomicEnergiesHa.every(Number.isFinite)) return;
    frames.push({
      step: m.state.step,
      timeFs: m.state.timeFs,
      positionsA: Float64Array.from(m.state.positionsA),
      energyHa: u.energyHa,
      forcesHaPerBohr: Float64Array.from(u.forcesHaPerBohr),
      atomicEnergiesHa: Float64Array.from(u.atomicEnergiesHa),
      cvValues: Float64Array.from(biased.lastCvValues),
      biasKcalPerMol: biased.lastBiasKcalPerMol,
    });
  }, o.harvestEvery);

  md.attach((m) => {
    if (failureOf() !== undefined || m.stopReason !== undefined) return;
    if (!biased.lastCvValues.every(Number.isFinite)) return;
    // Swap the old bias forces for the new ones at once, so the next half-kick sees the new hill.
    const f = m.state.forcesKcalPerMolPerA;
    const vOld = biased.addBiasForcesKcalPerMolPerA(f, -1);
    bias.deposit(biased.lastCvValues, m.state.step);
    const vNew = biased.addBiasForcesKcalPerMolPerA(f, 1);
    m.state.epotKcalPerMol += vNew - vOld;
    biased.lastBiasKcalPerMol = vNew;
  }, o.strideSteps);

  if (o.onProgress) md.attach((m) => o.onProgress!(m.state.step, frames.length), o.progressEvery ?? 100);

  let wallSeconds = 0;
  let finished = false;
  return {
    md,
    get done() {
      return md.state.step >= o.steps || md.stopReason !== undefined;
    },
    advance(untilStep: number) {
      if (finished) throw new Error('advance() after finish()');
      const t0 = performance.now();
      md.run(Math.min(untilStep, o.steps));
      wallSeconds += (performance.now() - t0) / 1000;
    },
    checkpoint() {
      md.syncRngState();
      return { state: copyState(md.state), hills: bias.hills(), frames: frames.map(copyFrame) };
    },
    finish(interrupted?: string) {
      if (finished) throw new Error('finish() called twice');
      finished = true;
      const failure = failureOf() ?? null;
      const st = md.state.stats;
      const result: WtmetadResult = {
        frames,
        bias,
        hills: bias.hills(),
        stepsRequested: o.steps,
        stepsCompleted: md.state.step,
        completed: failure === null && md.state.step >= o.steps,
        failure,
        error: null,
        meanTemperatureK: st.samples > 0 ? st.sumTemperatureK / st.samples : 0,
        wallSeconds,
        ...(interrupted !== undefined && failure === null ? { interrupted } : {}),
      };
      if (failure) {
        const message =
          `WTMetaD run stopped at step ${failure.step} (${failure.timeFs.toFixed(1)} fs) of ${o.steps}: ${failure.kind}: ${failure.reason}. ` +
          `The ${frames.length} frames harvested before the failure are kept; try a smaller time step, lower hill height or temperature, or a sturdier reference potential.`;
        result.error = new AtomgpError(message);
        if (o.throwOnFailure) throw new WtmetadFailure(message, result);
      }
      return result;
    },
  };
}

/** Run WTMetaD on `o.potential` and harvest labelled frames (`startWtmetad` in one go). */
export function runWtmetad(o: WtmetadOptions): WtmetadResult {
  const run = startWtmetad(o);
  run.advance(o.steps);
  return run.finish();
}

export interface InterruptibleOptions {
  /** Steps between two looks at a stop request (default 20). */
  chunkSteps?: number;
  /** Call `onCheckpoint` every this many steps (0: only when stopped; default 0). */
  checkpointEvery?: number;
  /** Receives a checkpoint every `checkpointEvery` steps and when a stop request ends the run early. */
  onCheckpoint?: (cp: WtmetadCheckpoint) => void;
}

/**
 * `runWtmetad` in chunks, returning to the event loop between chunks so that signal handlers run.
 * When `stopRequested()` names a reason (e.g. 'SIGTERM') the run ends after the current chunk: a
 * final checkpoint goes to `onCheckpoint` and the result is marked `interrupted`. The chunks do not
 * change the trajectory: `advance` continues the same integrator bit for bit.
 */
export async function runWtmetadInterruptible(o: WtmetadOptions, stopRequested: () => string | undefined, io: InterruptibleOptions = {}): Promise<WtmetadResult> {
  const run = startWtmetad(o);
  const chunk = io.chunkSteps ?? 20;
  positiveInteger('WTMetaD chunk (steps)', chunk);
  const every = io.checkpointEvery ?? 0;
  let lastCheckpoint = run.md.state.step;
  while (!run.done && stopRequested() === undefined) {
    const step = run.md.state.step;
    const next = every > 0 ? Math.min(step + chunk, (Math.floor(step / every) + 1) * every) : step + chunk;
    run.advance(next);
    if (every > 0 && io.onCheckpoint && run.md.state.step % every === 0 && !run.done) {
      io.onCheckpoint(run.checkpoint());
      lastCheckpoint = run.md.state.step;
    }
    await new Promise<void>((r) => setImmediate(r));
  }
  const reason = run.done ? undefined : stopRequested();
  if (reason !== undefined && io.onCheckpoint && run.md.state.step !== lastCheckpoint) io.onCheckpoint(run.checkpoint());
  return run.finish(reason);
}

function copyState(s: MdState): MdState {
  return {
    ...s,
    massesAmu: Float64Array.from(s.massesAmu),
    positionsA: Float64Array.from(s.positionsA),
    velocitiesAPerFs: Float64Array.from(s.velocitiesAPerFs),
    forcesKcalPerMolPerA: Float64Array.from(s.forcesKcalPerMolPerA),
    atomicEnergiesKcalPerMol: Float64Array.from(s.atomicEnergiesKcalPerMol),
    thermostat: Float64Array.from(s.thermostat),
    rngState: [...s.rngState],
    stats: { ...s.stats },
  };
}

function copyFrame(f: HarvestedFrame): HarvestedFrame {
  return {
    ...f,
    positionsA: Float64Array.from(f.positionsA),
    forcesHaPerBohr: Float64Array.from(f.forcesHaPerBohr),
    atomicEnergiesHa: Float64Array.from(f.atomicEnergiesHa),
    cvValues: Float64Array.from(f.cvValues),
  };
}

export interface BiasProfile {
  /** The grid values (rad or Å). */
  cv: Float64Array;
  /** V on the grid, kcal/mol. */
  biasKcalPerMol: Float64Array;
  /** F ≈ −γ/(γ − 1) V, shifted so that its minimum is 0, kcal/mol. */
  freeEnergyKcalPerMol: Float64Array;
}

/**
 * The bias along CV `cvIndex` on `grid`, and the free-energy estimate −γ/(γ − 1) V (minimum 0).
 * With one CV this is the bias itself. With several: if `fixedValues` (one value per CV) is given,
 * the other CVs are held there (a slice); otherwise each hill's factors along the other CVs are
 * integrated out (Σ_i w_i exp(−(s − s_i)²/(2σ²)), the bias projected onto this CV up to a constant
 * factor) — a qualitative 1-D picture, not the exact marginal free energy.
 */
export function biasOnGrid(bias: MetadynamicsBias, cvIndex: number, grid: ArrayLike<number>, fixedValues?: ArrayLike<number>): BiasProfile {
  if (!Number.isInteger(cvIndex) || cvIndex < 0 || cvIndex >= bias.nCvs) {
    throw new AtomgpError(`CV index ${cvIndex} is outside 0..${bias.nCvs - 1}`);
  }
  const m = grid.length;
  const cv = Float64Array.from(grid);
  const v = new Float64Array(m);
  if (bias.nCvs === 1 || fixedValues) {
    if (fixedValues && fixedValues.length !== bias.nCvs) throw new AtomgpError(`biasOnGrid: ${fixedValues.length} fixed values for ${bias.nCvs} CVs`);
    const s = new Float64Array(bias.nCvs);
    if (fixedValues) s.set(Array.from(fixedValues));
    for (let k = 0; k < m; k++) {
      s[cvIndex] = cv[k]!;
      v[k] = bias.evaluate(s);
    }
  } else {
    const { centres, heightsKcalPerMol } = bias.hills();
    const d = bias.nCvs;
    const sigma = bias.settings.widths[cvIndex]!;
    const periodic = isPeriodicCv(bias.cvs[cvIndex]!);
    for (let k = 0; k < m; k++) {
      let sum = 0;
      for (let h = 0; h < heightsKcalPerMol.length; h++) {
        let ds = cv[k]! - centres[h * d + cvIndex]!;
        if (periodic) ds = wrapAngle(ds);
        sum += heightsKcalPerMol[h]! * Math.exp(-(ds * ds) / (2 * sigma * sigma));
      }
      v[k] = sum;
    }
  }
  const factor = bias.freeEnergyFactor;
  const f = new Float64Array(m);
  let min = Number.POSITIVE_INFINITY;
  for (let k = 0; k < m; k++) {
    f[k] = -factor * v[k]!;
    if (f[k]! < min) min = f[k]!;
  }
  for (let k = 0; k < m; k++) f[k] = f[k]! - min;
  return { cv, biasKcalPerMol: v, freeEnergyKcalPerMol: f };
}

/** [donor, H, acceptor] of the walls' labile hydrogens: the monitor lets them change partner. */
function labileOf(walls: BondWalls | undefined): Array<[number, number, number]> {
  const t = walls?.sumTriples;
  if (!t) return [];
  return Array.from({ length: t.length / 3 }, (_, k) => [t[3 * k]!, t[3 * k + 1]!, t[3 * k + 2]!]);
}
