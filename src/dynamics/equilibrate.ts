/**
 * Equilibration before a run: a stated Langevin (BAOAB) phase at the run's temperature that brings
 * a start at a minimum with Maxwell–Boltzmann velocities to the canonical distribution before the
 * thermostat of the run takes over. Without it, equipartition halves the temperature within a few
 * vibrations (half of the kinetic energy goes into the potential) and deterministic Nosé–Hoover
 * feedback then swings far above T: on malondialdehyde at 1000 K (massive chains, τ = 100 fs) the
 * 50-fs mean reached 2400-3000 K around 0.2-0.25 ps; with τ = 500 fs, 3100-3200 K around 1.3 ps
 * (docs/md.md). Langevin friction damps instead of oscillating, so the temperature approaches T
 * from below. The run proper then starts from the equilibrated positions and velocities, with
 * the chain velocities drawn from their canonical distribution (`Integrator.drawThermostatVelocities`).
 *
 * The equilibration uses the run's own degrees of freedom: with massive chains (which thermalise
 * rotation and translation, N_dof = 3N) no rigid motion is removed; otherwise the run's removal.
 * Its random numbers come from a seed derived from the run's seed, so a Langevin run does not
 * reuse the equilibration's noise.
 */
import type { Potential } from '../potentials/potential.js';
import { AtomgpError } from '../errors.js';
import { RUNNING_TEMPERATURE_WINDOW_FS, RunningTemperature, temperatureBoundK } from './canonical.js';
import type { IntegratorSettings } from './integrators.js';
import { MolecularDynamics } from './md.js';
import type { MotionRemoval } from './state.js';

export interface EquilibrationSettings {
  /** Length of the Langevin phase, fs (0: none). */
  timeFs: number;
  /** Its friction γ, 1/ps. */
  frictionPerPs: number;
}

/**
 * 0.5 ps at γ = 10 /ps: the total energy relaxes towards its canonical mean as e^(−γt) (the heat
 * flow is γ (N_dof k_B T − 2K)), so 0.5 ps leaves e^(−5) < 1 % of the start's deficit.
 */
export const DEFAULT_EQUILIBRATION: EquilibrationSettings = { timeFs: 500, frictionPerPs: 10 };

export interface EquilibrationRecord {
  thermostat: 'langevin';
  timeFs: number;
  steps: number;
  frictionPerPs: number;
  temperatureK: number;
  motionRemoval: MotionRemoval;
  nDof: number;
  /** Mean temperature over the second half of the phase, K. */
  meanTemperatureSecondHalfK: number;
  finalTemperatureK: number;
  /** Largest running mean of the temperature over `runningWindowFs`, K, and its bound T + 4 σ_T. */
  maxRunningTemperatureK: number;
  runningWindowFs: number;
  temperatureBoundK: number;
  withinBound: boolean;
  epotStartKcalPerMol: number;
  epotEndKcalPerMol: number;
  /** How the run's Nosé–Hoover chain velocities start. */
  thermostatVelocities: 'canonical';
}

export function validateEquilibration(e: EquilibrationSettings): void {
  if (!(Number.isFinite(e.timeFs) && e.timeFs >= 0)) throw new AtomgpError(`equilibration time ${e.timeFs} fs: expected a number ≥ 0`);
  if (!(Number.isFinite(e.frictionPerPs) && e.frictionPerPs > 0)) throw new AtomgpError(`equilibration friction ${e.frictionPerPs} /ps: expected > 0`);
}

/** The Langevin settings of the equilibration of a run with `settings`. */
export function equilibrationSettings(settings: IntegratorSettings, e: EquilibrationSettings): IntegratorSettings {
  const massive = settings.ensemble === 'nvt' && settings.nhcMode === 'massive';
  return { ...settings, ensemble: 'langevin', frictionPerPs: e.frictionPerPs, motionRemoval: massive ? 'none' : settings.motionRemoval };
}

/** Seed of the equilibration's random numbers (distinct from the run's). */
export function equilibrationSeed(seed: number): number {
  return (Math.floor(seed) ^ 0x5bd1e995) >>> 0;
}

/** Number of steps of the phase (time rounded to whole steps). */
export function equilibrationSteps(settings: IntegratorSettings, e: EquilibrationSettings): number {
  return Math.round(e.timeFs / settings.timestepFs);
}

/**
 * The equilibration phase: `md` is the Langevin dynamics (attach observers such as a monitor
 * before `run`); `run` advances it and returns the record; `production` starts the run proper from
 * its final state.
 */
export class Equilibration {
  readonly md: MolecularDynamics;
  readonly steps: number;
  private readonly running: RunningTemperature;
  private sumSecondHalf = 0;
  private countSecondHalf = 0;

  constructor(
    readonly potential: Potential,
    readonly settings: IntegratorSettings,
    readonly eq: EquilibrationSettings,
    positionsA: Float64Array,
    massesAmu: Float64Array,
    readonly seed: number,
  ) {
    validateEquilibration(eq);
    this.steps = equilibrationSteps(settings, eq);
    this.md = MolecularDynamics.create(potential, equilibrationSettings(settings, eq), positionsA, massesAmu, equilibrationSeed(seed));
    this.running = new RunningTemperature(RUNNING_TEMPERATURE_WINDOW_FS / settings.timestepFs);
    const half = Math.floor(this.steps / 2);
    this.md.attach((m) => {
      this.running.push(m.temperatureK);
      if (m.state.step > half) {
        this.sumSecondHalf += m.temperatureK;
        this.countSecondHalf++;
      }
    });
  }

  /** Run the phase (or until an observer stops it) and describe it. */
  run(): EquilibrationRecord {
    const epotStart = this.md.state.epotKcalPerMol;
    this.md.run(this.steps);
    const s = this.md.state;
    const bound = temperatureBoundK(this.settings.temperatureK, s.nDof);
    const maxRunning = Number.isFinite(this.running.max) ? this.running.max : this.running.max === Number.NEGATIVE_INFINITY ? this.md.temperatureK : Number.NaN;
    return {
      thermostat: 'langevin',
      timeFs: s.timeFs,
      steps: s.step,
      frictionPerPs: this.eq.frictionPerPs,
      temperatureK: this.settings.temperatureK,
      motionRemoval: this.md.settings.motionRemoval,
      nDof: s.nDof,
      meanTemperatureSecondHalfK: this.countSecondHalf > 0 ? this.sumSecondHalf / this.countSecondHalf : this.md.temperatureK,
      finalTemperatureK: this.md.temperatureK,
      maxRunningTemperatureK: maxRunning,
      runningWindowFs: RUNNING_TEMPERATURE_WINDOW_FS,
      temperatureBoundK: bound,
      withinBound: maxRunning <= bound,
      epotStartKcalPerMol: epotStart,
      epotEndKcalPerMol: s.epotKcalPerMol,
      thermostatVelocities: 'canonical',
    };
  }

  /** The run proper, from the equilibrated positions and velocities, chain velocities canonical. */
  production(): MolecularDynamics {
    const s = this.md.state;
    return MolecularDynamics.create(this.potential, this.settings, s.positionsA, s.massesAmu, this.seed, {
      velocitiesAPerFs: s.velocitiesAPerFs,
      canonicalThermostat: true,
    });
  }
}
