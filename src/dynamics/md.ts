/**
 * The MD driver: a state, an integrator and attached observers (ASE's `dyn.attach(fn, interval)`).
 * Observers run after every `interval`-th step (and at step 0 of a fresh run); one may call
 * `md.stop(reason)` to end the run after the current step. File output, monitors and checkpoints
 * are observers too (reporters.ts, monitor.ts), so the loop itself does nothing but physics.
 */
import type { Potential } from '../potentials/potential.js';
import { Integrator, type IntegratorSettings, thermostatLength, thermostattedDof } from './integrators.js';
import { Rng } from '../util/rng.js';
import {
  createState,
  degreesOfFreedom,
  kineticEnergyKcalPerMol,
  type MdState,
  maxwellBoltzmannVelocities,
  temperatureK,
} from './state.js';

export type Observer = (md: MolecularDynamics) => void;

interface Attached {
  fn: Observer;
  interval: number;
}

export interface InitOptions {
  /** Initial velocities (Å/fs); default: Maxwell–Boltzmann at the settings' temperature. */
  velocitiesAPerFs?: Float64Array;
  /** Draw the Nosé–Hoover chain velocities from their canonical distribution (default: at rest). */
  canonicalThermostat?: boolean;
}

export class MolecularDynamics {
  readonly potential: Potential;
  readonly settings: IntegratorSettings;
  readonly state: MdState;
  readonly integrator: Integrator;
  readonly rng: Rng;
  /** Kinetic energy (kcal/mol), temperature (K) and conserved quantity (kcal/mol) of the current step. */
  ekinKcalPerMol = 0;
  temperatureK = 0;
  conservedKcalPerMol = 0;
  stopReason: string | undefined;
  private readonly observers: Attached[] = [];

  private constructor(potential: Potential, settings: IntegratorSettings, state: MdState, rng: Rng) {
    this.potential = potential;
    this.settings = settings;
    this.state = state;
    this.rng = rng;
    this.integrator = new Integrator(potential, settings, rng);
  }

  /**
   * A fresh run from `positionsA`: N_dof from the motion removal (3N−6 for an isolated molecule),
   * seeded Maxwell–Boltzmann velocities at T with rigid motions removed and rescaled to exactly T,
   * forces evaluated.
   */
  static create(
    potential: Potential,
    settings: IntegratorSettings,
    positionsA: Float64Array,
    massesAmu: Float64Array,
    seed: number,
    options: InitOptions = {},
  ): MolecularDynamics {
    const state = createState(positionsA, massesAmu, thermostatLength(settings, massesAmu.length));
    state.nDof = thermostattedDof(settings, massesAmu.length, degreesOfFreedom(positionsA, massesAmu, settings.motionRemoval));
    const rng = new Rng(seed);
    if (options.velocitiesAPerFs) state.velocitiesAPerFs.set(options.velocitiesAPerFs);
    else maxwellBoltzmannVelocities(positionsA, massesAmu, settings.temperatureK, rng, settings.motionRemoval, state.nDof, state.velocitiesAPerFs);
    const md = new MolecularDynamics(potential, settings, state, rng);
    if (options.canonicalThermostat) md.integrator.drawThermostatVelocities(state);
    md.integrator.evaluate(state);
    md.refresh();
    state.stats.conserved0KcalPerMol = md.conservedKcalPerMol;
    state.stats.epot0KcalPerMol = state.epotKcalPerMol;
    return md;
  }

  /** Continue from a saved state (e.g. a checkpoint): nothing is recomputed, so the run continues bit for bit. */
  static fromState(potential: Potential, settings: IntegratorSettings, state: MdState): MolecularDynamics {
    const rng = new Rng(0);
    rng.setState(state.rngState);
    const md = new MolecularDynamics(potential, settings, state, rng);
    md.refresh();
    return md;
  }

  /** Call `fn` after every `interval`-th step (step % interval === 0), including step 0 of a fresh run. */
  attach(fn: Observer, interval = 1): this {
    if (!(Number.isInteger(interval) && interval >= 1)) throw new RangeError(`observer interval must be a positive integer, got ${interval}`);
    this.observers.push({ fn, interval });
    return this;
  }

  /** Ask the run to end after the current step; observers registered later still see this step. */
  stop(reason: string): void {
    if (this.stopReason === undefined) this.stopReason = reason;
  }

  /** Copy the live RNG state into the state record (before a checkpoint). */
  syncRngState(): void {
    this.state.rngState = [...this.rng.getState()];
  }

  /**
   * Advance until `state.step` reaches `untilStep` or an observer stops the run. Returns the
   * number of steps taken. A fresh state (step 0) first notifies the observers once.
   */
  run(untilStep: number): number {
    const s = this.state;
    if (s.step === 0 && s.stats.samples === 0) {
      this.accumulate();
      this.notify();
    }
    const start = s.step;
    while (s.step < untilStep && this.stopReason === undefined) {
      this.integrator.step(s);
      this.refresh();
      this.accumulate();
      this.notify();
    }
    this.syncRngState();
    return s.step - start;
  }

  private refresh(): void {
    const s = this.state;
    this.ekinKcalPerMol = kineticEnergyKcalPerMol(s.velocitiesAPerFs, s.massesAmu);
    this.temperatureK = temperatureK(this.ekinKcalPerMol, s.nDof);
    this.conservedKcalPerMol = this.integrator.conservedKcalPerMol(s, this.ekinKcalPerMol);
  }

  private accumulate(): void {
    const st = this.state.stats;
    st.samples += 1;
    st.sumTemperatureK += this.temperatureK;
    st.sumEpotKcalPerMol += this.state.epotKcalPerMol;
    const drift = Math.abs(this.conservedKcalPerMol - st.conserved0KcalPerMol);
    if (drift > st.maxAbsDriftKcalPerMol || Number.isNaN(drift)) st.maxAbsDriftKcalPerMol = drift;
  }

  private notify(): void {
    const step = this.state.step;
    for (const o of this.observers) if (step % o.interval === 0) o.fn(this);
  }
}
