/**
 * Integrators acting on an `MdState` in place (units in state.ts): velocity Verlet (NVE),
 * Nosé–Hoover chains (NVT; Martyna, Tuckerman & Klein, Mol. Phys. 87, 1117 (1996), Trotter
 * factorisation with Suzuki–Yoshida weights and n_c substeps), and Langevin BAOAB (NVT; Leimkuhler
 * & Matthews 2013). No allocation per step: forces go through one preallocated `PotentialResult`.
 */
import { AtomgpError } from '../errors.js';
import { KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../chem/units.js';
import { createResult, type Potential, type PotentialResult } from '../potentials/potential.js';
import type { Rng } from '../util/rng.js';
import { ACCEL, KB, kineticEnergyKcalPerMol, type MdState, type MotionRemoval, removeRigidMotion } from './state.js';

export type Ensemble = 'nve' | 'nvt' | 'langevin';
export type NhcMode = 'global' | 'massive';
export const NHC_MODES: readonly NhcMode[] = ['global', 'massive'];
export const ENSEMBLES: readonly Ensemble[] = ['nve', 'nvt', 'langevin'];

export interface IntegratorSettings {
  ensemble: Ensemble;
  timestepFs: number;
  /** Target temperature (NVT, Langevin) and temperature of the initial velocities. */
  temperatureK: number;
  /** Nosé–Hoover chain length M (default 3). */
  chainLength: number;
  /** Nosé–Hoover time constant τ, fs (default 100): Q_1 = N_dof k_B T τ², Q_j = k_B T τ² (MTK 1992 with ω = 1/τ, as DL_POLY and ASE; massive: k_B T τ² each). */
  tauFs: number;
  /**
   * `global`: one chain on the total kinetic energy (DL_POLY/DL_FFLUX style; N_dof = 3N − 6 for an
   * isolated molecule). `massive`: one chain per Cartesian degree of freedom (Q_1 = k_B T τ²), far more
   * ergodic for small molecules; it does not conserve momentum, so every Cartesian dof counts (N_dof = 3N).
   * Default massive: with one global chain a 20 ps ammonia run at 300 K averaged 261-324 K over eight
   * seeds (τ = 100 fs), with massive chains 296-305 K.
   */
  nhcMode: NhcMode;
  /** Multiple-time-step substeps n_c of the chain propagation (default 1). */
  nhcSubsteps: number;
  /** Suzuki–Yoshida order of the chain propagation: 1, 3 or 5 (default 3). */
  suzukiYoshidaOrder: 1 | 3 | 5;
  /** Langevin friction γ, 1/ps (default 1). */
  frictionPerPs: number;
  /** Rigid motions removed from initial velocities (and from Langevin noise). */
  motionRemoval: MotionRemoval;
  /**
   * Step guard G, kcal/mol (0: off): a step whose conserved quantity changes by more than G is
   * taken again from its start as 2, 4, … 1024 substeps of dt/2^k until the change is within G/10;
   * such steps are counted in the state's stats (and the run summary). A GP on the ALF's spherical
   * polar features is discontinuous where an atom crosses the z-axis of another atom's frame (φ
   * jumps by π) and its force grows as 1/ρ near that axis: one 0.5 fs step there gave a methyl
   * hydrogen of capped glycine at 1000 K 0.2 Å/fs and the run ~120 kcal/mol it should not have.
   * Normal steps there change the conserved quantity by 0.02 kcal/mol (median; 99.9 % below 0.19,
   * glycine and serine at 1000 K, 0.5 fs), so the default 0.5 kcal/mol touches only such crossings.
   */
  stepGuardKcalPerMol: number;
}

export const DEFAULT_INTEGRATOR_SETTINGS: Omit<IntegratorSettings, 'ensemble' | 'timestepFs' | 'temperatureK'> = {
  chainLength: 3,
  tauFs: 100,
  nhcMode: 'massive',
  nhcSubsteps: 1,
  suzukiYoshidaOrder: 3,
  frictionPerPs: 1,
  motionRemoval: 'translation+rotation',
  stepGuardKcalPerMol: 0.5,
};

/** Deepest substep level of the step guard: 2^10 substeps of dt/1024. */
export const STEP_GUARD_MAX_LEVEL = 10;

/** Check settings; bad values are user errors. Limits: 0 < dt ≤ 10 fs, 0 ≤ T ≤ 1e5 K. */
export function validateIntegratorSettings(s: IntegratorSettings): void {
  if (!ENSEMBLES.includes(s.ensemble)) throw new AtomgpError(`unknown ensemble '${s.ensemble}', expected one of ${ENSEMBLES.join(', ')}`);
  if (!(Number.isFinite(s.timestepFs) && s.timestepFs > 0 && s.timestepFs <= 10)) {
    throw new AtomgpError(`time step ${s.timestepFs} fs is not usable: expected 0 < dt ≤ 10 fs (0.25-1 fs with hydrogens)`);
  }
  if (!(Number.isFinite(s.temperatureK) && s.temperatureK >= 0 && s.temperatureK <= 1e5)) {
    throw new AtomgpError(`temperature ${s.temperatureK} K is not usable: expected 0 ≤ T ≤ 100000 K`);
  }
  if (s.ensemble !== 'nve' && s.temperatureK <= 0) throw new AtomgpError(`ensemble ${s.ensemble} needs a temperature above 0 K`);
  if (!(Number.isInteger(s.chainLength) && s.chainLength >= 1 && s.chainLength <= 20)) {
    throw new AtomgpError(`Nosé–Hoover chain length ${s.chainLength}: expected an integer 1..20`);
  }
  if (!NHC_MODES.includes(s.nhcMode)) throw new AtomgpError(`Nosé–Hoover mode '${s.nhcMode}': expected ${NHC_MODES.join(' or ')}`);
  if (!(Number.isFinite(s.tauFs) && s.tauFs > 0)) throw new AtomgpError(`thermostat time constant ${s.tauFs} fs: expected > 0`);
  if (!(Number.isInteger(s.nhcSubsteps) && s.nhcSubsteps >= 1 && s.nhcSubsteps <= 100)) {
    throw new AtomgpError(`Nosé–Hoover substeps ${s.nhcSubsteps}: expected an integer 1..100`);
  }
  if (![1, 3, 5].includes(s.suzukiYoshidaOrder)) throw new AtomgpError(`Suzuki–Yoshida order ${s.suzukiYoshidaOrder}: expected 1, 3 or 5`);
  if (!(Number.isFinite(s.frictionPerPs) && s.frictionPerPs > 0)) throw new AtomgpError(`Langevin friction ${s.frictionPerPs} 1/ps: expected > 0`);
  if (!(Number.isFinite(s.stepGuardKcalPerMol) && s.stepGuardKcalPerMol >= 0)) throw new AtomgpError(`step guard ${s.stepGuardKcalPerMol} kcal/mol: expected ≥ 0 (0: off)`);
}

/** Length of `state.thermostat` for an ensemble: positions ξ then velocities v_ξ of every chain. */
export function thermostatLength(s: IntegratorSettings, nAtoms: number): number {
  if (s.ensemble === 'nvt') return 2 * s.chainLength * (s.nhcMode === 'massive' ? 3 * nAtoms : 1);
  return s.ensemble === 'langevin' ? 1 : 0;
}

/** Degrees of freedom the thermostat and the temperature count: 3N for massive chains, else as removed. */
export function thermostattedDof(s: IntegratorSettings, nAtoms: number, removedDof: number): number {
  return s.ensemble === 'nvt' && s.nhcMode === 'massive' ? 3 * nAtoms : removedDof;
}

/** Suzuki–Yoshida weights (they sum to 1). */
export function suzukiYoshidaWeights(order: 1 | 3 | 5): number[] {
  if (order === 1) return [1];
  if (order === 3) {
    const w = 1 / (2 - 2 ** (1 / 3));
    return [w, 1 - 2 * w, w];
  }
  const w = 1 / (4 - 4 ** (1 / 3));
  return [w, w, 1 - 4 * w, w, w];
}

/** The part of the state a step changes (besides the counters and the RNG). */
type StepState = Pick<MdState, 'positionsA' | 'velocitiesAPerFs' | 'forcesKcalPerMolPerA' | 'atomicEnergiesKcalPerMol' | 'thermostat' | 'epotKcalPerMol'>;

function copyDynamic(from: StepState, to: StepState): void {
  to.positionsA.set(from.positionsA);
  to.velocitiesAPerFs.set(from.velocitiesAPerFs);
  to.forcesKcalPerMolPerA.set(from.forcesKcalPerMolPerA);
  to.atomicEnergiesKcalPerMol.set(from.atomicEnergiesKcalPerMol);
  to.thermostat.set(from.thermostat);
  to.epotKcalPerMol = from.epotKcalPerMol;
}

/**
 * One integrator bound to a potential. `evaluate` fills forces and energies of `state`;
 * `step` advances one time step; `conservedKcalPerMol` is the quantity the dynamics conserves
 * (NVE: K + U; NHC: H_NHC; Langevin: K + U + heat given to the bath).
 */
export class Integrator {
  readonly settings: IntegratorSettings;
  private readonly potential: Potential;
  private readonly result: PotentialResult;
  private readonly rng: Rng;
  private readonly syWeights: number[];
  private readonly q: Float64Array;
  /** The start of a guarded step: what a step changes, and the RNG. */
  private readonly saved: StepState;
  private readonly savedRng = new Uint32Array(8);
  private savedSpare = 0;

  constructor(potential: Potential, settings: IntegratorSettings, rng: Rng) {
    validateIntegratorSettings(settings);
    this.potential = potential;
    this.settings = settings;
    this.rng = rng;
    this.result = createResult(potential.nAtoms);
    this.syWeights = suzukiYoshidaWeights(settings.suzukiYoshidaOrder);
    this.q = new Float64Array(settings.chainLength);
    const n = potential.nAtoms;
    this.saved = {
      positionsA: new Float64Array(3 * n),
      velocitiesAPerFs: new Float64Array(3 * n),
      forcesKcalPerMolPerA: new Float64Array(3 * n),
      atomicEnergiesKcalPerMol: new Float64Array(n),
      thermostat: new Float64Array(thermostatLength(settings, n)),
      epotKcalPerMol: 0,
    };
  }

  /** Evaluate the potential at the state's positions (energies and forces in kcal/mol units). */
  evaluate(state: MdState): void {
    const r = this.result;
    this.potential.compute(state.positionsA, r, true);
    state.epotKcalPerMol = r.energyHa * KCAL_PER_MOL_PER_HARTREE;
    for (let i = 0; i < state.nAtoms; i++) state.atomicEnergiesKcalPerMol[i] = r.atomicEnergiesHa[i]! * KCAL_PER_MOL_PER_HARTREE;
    const f = state.forcesKcalPerMolPerA;
    for (let i = 0; i < f.length; i++) f[i] = r.forcesHaPerBohr[i]! * KCAL_PER_MOL_PER_A_PER_HARTREE_PER_BOHR;
  }

  /**
   * Advance `state` by one time step (forces must be current on entry; they are current on exit).
   * With the step guard on, a step whose conserved quantity moves by more than the guard is taken
   * again in substeps (see IntegratorSettings.stepGuardKcalPerMol).
   */
  step(state: MdState): void {
    const dt = this.settings.timestepFs;
    const guard = this.settings.stepGuardKcalPerMol;
    if (guard > 0) {
      const h0 = this.conservedKcalPerMol(state);
      this.save(state);
      this.advance(state, dt);
      let dh = Math.abs(this.conservedKcalPerMol(state) - h0);
      if (!(dh <= guard)) {
        const st = state.stats;
        const target = 0.1 * guard;
        let level = 0;
        while (!(dh <= target) && level < STEP_GUARD_MAX_LEVEL) {
          level += 1;
          this.restore(state);
          const n = 2 ** level;
          for (let k = 0; k < n; k++) this.advance(state, dt / n);
          dh = Math.abs(this.conservedKcalPerMol(state) - h0);
          st.guardForceCalls += n;
        }
        st.guardedSteps += 1;
        if (level > st.guardMaxLevel) st.guardMaxLevel = level;
        if (!(dh <= guard)) st.guardUnresolvedSteps += 1;
      }
    } else {
      this.advance(state, dt);
    }
    state.step += 1;
    state.timeFs = state.step * dt;
  }

  /** One step of `dtFs` (the Trotter splitting of the ensemble), without the step counter. */
  private advance(state: MdState, dt: number): void {
    switch (this.settings.ensemble) {
      case 'nve':
        this.kick(state, 0.5 * dt);
        this.drift(state, dt);
        this.evaluate(state);
        this.kick(state, 0.5 * dt);
        break;
      case 'nvt':
        if (this.settings.nhcMode === 'massive') this.massiveHalfStep(state, 0.5 * dt);
        else this.chainHalfStep(state, 0.5 * dt);
        this.kick(state, 0.5 * dt);
        this.drift(state, dt);
        this.evaluate(state);
        this.kick(state, 0.5 * dt);
        if (this.settings.nhcMode === 'massive') this.massiveHalfStep(state, 0.5 * dt);
        else this.chainHalfStep(state, 0.5 * dt);
        break;
      case 'langevin':
        this.kick(state, 0.5 * dt);
        this.drift(state, 0.5 * dt);
        this.ornsteinUhlenbeck(state, dt);
        this.drift(state, 0.5 * dt);
        this.evaluate(state);
        this.kick(state, 0.5 * dt);
        break;
    }
  }

  private save(state: MdState): void {
    copyDynamic(state, this.saved);
    this.savedSpare = this.rng.saveTo(this.savedRng);
  }

  private restore(state: MdState): void {
    copyDynamic(this.saved, state);
    this.rng.loadFrom(this.savedRng, this.savedSpare);
  }

  conservedKcalPerMol(state: MdState, ekinKcalPerMol = kineticEnergyKcalPerMol(state.velocitiesAPerFs, state.massesAmu)): number {
    const h = ekinKcalPerMol + state.epotKcalPerMol;
    if (this.settings.ensemble === 'nve') return h;
    if (this.settings.ensemble === 'langevin') return h + state.thermostat[0]!;
    const m = this.settings.chainLength;
    const kT = KB * this.settings.temperatureK;
    let e = h;
    if (this.settings.nhcMode === 'massive') {
      const qj = kT * this.settings.tauFs * this.settings.tauFs;
      const th = state.thermostat;
      for (let c = 0; c < th.length; c += 2 * m) {
        for (let j = 0; j < m; j++) {
          const v = th[c + m + j]!;
          e += 0.5 * qj * v * v + kT * th[c + j]!;
        }
      }
      return e;
    }
    this.updateMasses(state);
    for (let j = 0; j < m; j++) {
      const v = state.thermostat[m + j]!;
      e += 0.5 * this.q[j]! * v * v;
      e += (j === 0 ? state.nDof * kT : kT) * state.thermostat[j]!;
    }
    return e;
  }

  /**
   * Draw the chain velocities v_ξ from their canonical distribution, N(0, k_B T / Q_j) (the
   * extended system's invariant measure, MTK 1992), instead of leaving them at 0. A chain at rest
   * is a set of thermostat degrees of freedom at 0 K: with massive chains (2·M·3N of them) heating
   * those alone swings the particles far above T for about τ (measured on malondialdehyde at
   * 1000 K, τ = 500 fs: 1.6× T over the second picosecond in every seed). Positions ξ stay 0.
   * No effect for NVE and Langevin.
   */
  drawThermostatVelocities(state: MdState): void {
    if (this.settings.ensemble !== 'nvt') return;
    const m = this.settings.chainLength;
    const kT = KB * this.settings.temperatureK;
    const tau2 = this.settings.tauFs * this.settings.tauFs;
    const th = state.thermostat;
    const massive = this.settings.nhcMode === 'massive';
    for (let c = 0; c < th.length; c += 2 * m) {
      for (let j = 0; j < m; j++) {
        const q = (j === 0 && !massive ? state.nDof : 1) * kT * tau2;
        th[c + m + j] = Math.sqrt(kT / q) * this.rng.normal();
      }
    }
  }

  private kick(state: MdState, dtFs: number): void {
    const v = state.velocitiesAPerFs;
    const f = state.forcesKcalPerMolPerA;
    const m = state.massesAmu;
    for (let i = 0; i < state.nAtoms; i++) {
      const c = (dtFs * ACCEL) / m[i]!;
      v[3 * i]! += c * f[3 * i]!;
      v[3 * i + 1]! += c * f[3 * i + 1]!;
      v[3 * i + 2]! += c * f[3 * i + 2]!;
    }
  }

  private drift(state: MdState, dtFs: number): void {
    const x = state.positionsA;
    const v = state.velocitiesAPerFs;
    for (let i = 0; i < x.length; i++) x[i]! += dtFs * v[i]!;
  }

  /** O step: v ← c1 v + √(1−c1²) σ ξ, then rigid motions projected out; the kinetic energy lost goes to the bath tally. */
  private ornsteinUhlenbeck(state: MdState, dtFs: number): void {
    const gammaPerFs = this.settings.frictionPerPs / 1000;
    const c1 = Math.exp(-gammaPerFs * dtFs);
    const c2 = Math.sqrt(1 - c1 * c1);
    const kT = KB * this.settings.temperatureK;
    const v = state.velocitiesAPerFs;
    const before = kineticEnergyKcalPerMol(v, state.massesAmu);
    for (let i = 0; i < state.nAtoms; i++) {
      const sigma = c2 * Math.sqrt((kT * ACCEL) / state.massesAmu[i]!);
      v[3 * i] = c1 * v[3 * i]! + sigma * this.rng.normal();
      v[3 * i + 1] = c1 * v[3 * i + 1]! + sigma * this.rng.normal();
      v[3 * i + 2] = c1 * v[3 * i + 2]! + sigma * this.rng.normal();
    }
    removeRigidMotion(state.positionsA, v, state.massesAmu, this.settings.motionRemoval);
    state.thermostat[0]! += before - kineticEnergyKcalPerMol(v, state.massesAmu);
  }

  private updateMasses(state: MdState): void {
    const kT = KB * this.settings.temperatureK;
    const tau2 = this.settings.tauFs * this.settings.tauFs;
    this.q[0] = state.nDof * kT * tau2;
    for (let j = 1; j < this.q.length; j++) this.q[j] = kT * tau2;
  }

  /**
   * exp(iL_NHC dt/2): MTK's chain propagation, n_c substeps × Suzuki–Yoshida weights; the
   * particle velocities are scaled once at the end by the accumulated factor.
   */
  private chainHalfStep(state: MdState, half: number): void {
    const m = this.settings.chainLength;
    const kT = KB * this.settings.temperatureK;
    const nDof = state.nDof;
    const xi = state.thermostat;
    const q = this.q;
    this.updateMasses(state);
    let ekin2 = 2 * kineticEnergyKcalPerMol(state.velocitiesAPerFs, state.massesAmu);
    let scale = 1;
    const nc = this.settings.nhcSubsteps;
    const g = (j: number): number => {
      if (j === 0) return (ekin2 - nDof * kT) / q[0]!;
      const v = xi[m + j - 1]!;
      return (q[j - 1]! * v * v - kT) / q[j]!;
    };
    for (let c = 0; c < nc; c++) {
      for (const w of this.syWeights) {
        const d = (w * half) / nc;
        xi[2 * m - 1]! += 0.5 * d * g(m - 1);
        for (let j = m - 2; j >= 0; j--) {
          const aa = Math.exp(-0.25 * d * xi[m + j + 1]!);
          xi[m + j] = xi[m + j]! * aa * aa + 0.5 * d * g(j) * aa;
        }
        const s = Math.exp(-d * xi[m]!);
        scale *= s;
        ekin2 *= s * s;
        for (let j = 0; j < m; j++) xi[j]! += d * xi[m + j]!;
        for (let j = 0; j < m - 1; j++) {
          const aa = Math.exp(-0.25 * d * xi[m + j + 1]!);
          xi[m + j] = xi[m + j]! * aa * aa + 0.5 * d * g(j) * aa;
        }
        xi[2 * m - 1]! += 0.5 * d * g(m - 1);
      }
    }
    const v = state.velocitiesAPerFs;
    for (let i = 0; i < v.length; i++) v[i]! *= scale;
  }

  /**
   * Massive variant: the same MTK chain propagation for every Cartesian degree of freedom k, each
   * with its own chain (Q_j = k_B T τ²) driven by m_k v_k² − k_B T. Loops over typed arrays only.
   */
  private massiveHalfStep(state: MdState, half: number): void {
    const m = this.settings.chainLength;
    const kT = KB * this.settings.temperatureK;
    const qj = kT * this.settings.tauFs * this.settings.tauFs;
    const xi = state.thermostat;
    const v = state.velocitiesAPerFs;
    const nc = this.settings.nhcSubsteps;
    const w = this.syWeights;
    for (let k = 0; k < v.length; k++) {
      const base = 2 * m * k;
      const vb = base + m;
      let ekin2 = (state.massesAmu[(k / 3) | 0]! * v[k]! * v[k]!) / ACCEL;
      let scale = 1;
      for (let c = 0; c < nc; c++) {
        for (let iw = 0; iw < w.length; iw++) {
          const d = (w[iw]! * half) / nc;
          const last = vb + m - 1;
          xi[last]! += 0.5 * d * (m === 1 ? (ekin2 - kT) / qj : (qj * xi[last - 1]! * xi[last - 1]! - kT) / qj);
          for (let j = m - 2; j >= 0; j--) {
            const aa = Math.exp(-0.25 * d * xi[vb + j + 1]!);
            const gj = j === 0 ? (ekin2 - kT) / qj : (qj * xi[vb + j - 1]! * xi[vb + j - 1]! - kT) / qj;
            xi[vb + j] = xi[vb + j]! * aa * aa + 0.5 * d * gj * aa;
          }
          const s = Math.exp(-d * xi[vb]!);
          scale *= s;
          ekin2 *= s * s;
          for (let j = 0; j < m; j++) xi[base + j]! += d * xi[vb + j]!;
          for (let j = 0; j < m - 1; j++) {
            const aa = Math.exp(-0.25 * d * xi[vb + j + 1]!);
            const gj = j === 0 ? (ekin2 - kT) / qj : (qj * xi[vb + j - 1]! * xi[vb + j - 1]! - kT) / qj;
            xi[vb + j] = xi[vb + j]! * aa * aa + 0.5 * d * gj * aa;
          }
          xi[last]! += 0.5 * d * (m === 1 ? (ekin2 - kT) / qj : (qj * xi[last - 1]! * xi[last - 1]! - kT) / qj);
        }
      }
      v[k]! *= scale;
    }
  }
}
