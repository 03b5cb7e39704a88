/**
 * One complete MD run with its output folder: the function behind `atomgp md` and behind each
 * replica of an ensemble. OUT/ holds
 *   log.csv, trajectory.extxyz      (reporters.ts)
 *   checkpoint.json                 (every `checkpointEvery` steps and at the end, when enabled)
 *   failure-frames.extxyz           (the last frames before a monitor failure)
 *   bond-returns.json               (with `bondReturn`: return times so far, saved with each checkpoint)
 *   equilibration.csv, .json, .extxyz  (with `equilibration`: the Langevin phase before the run: log, record, frames)
 *   summary.json                    (settings, survival, time to failure, mean T, drift, speed)
 * An existing output folder is never silently reused: `mode` must be 'overwrite' or 'resume'.
 * A resume continues from checkpoint.json bit for bit: log and trajectory are cut back to the
 * checkpoint's step and appended to, so they equal those of an uninterrupted run.
 *
 * `monitorReference` makes the stability monitor measure against another geometry than the start
 * (monitor.ts); given a reference geometry without an energy, its E_pot is computed here with the
 * run's potential. `bondReturn` records when each distorted bond first comes back to its reference
 * length (summary `bondReturnTimesFs`).
 *
 * `equilibration` (equilibrate.ts) runs a stated Langevin phase from the start before the run
 * proper (at T > 0 only); the run's steps, times, statistics and verdict start after it. The monitor watches it
 * too (a failure there is reported with `phase: 'equilibration'`), always against the start
 * geometry and the start's energy. Its settings are not part of the checkpoint fingerprint: a
 * resume continues after it, and the record in equilibration.json is reported again.
 * `energyMinimum` (minimum.ts) is the model's global minimum for the monitor's hole criterion.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KCAL_PER_MOL_PER_HARTREE } from '../chem/units.js';
import { AtomgpError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { createResult, type Potential } from '../potentials/potential.js';
import { checkFingerprint, encodeFloat64, type Fingerprint, type LoadedCheckpoint, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { Equilibration, type EquilibrationRecord, type EquilibrationSettings, validateEquilibration } from './equilibrate.js';
import { DEFAULT_INTEGRATOR_SETTINGS, type IntegratorSettings, thermostatLength, validateIntegratorSettings } from './integrators.js';
import { MolecularDynamics } from './md.js';
import { type EnergyMinimumRecord, MinimumSearchFailure, searchEnergyMinimum } from './minimum.js';
import {
  attachMonitor,
  type BondReturnSettings,
  BondReturnWatch,
  DEFAULT_MONITOR_OPTIONS,
  type Failure,
  type MonitorOptions,
  type MonitorReference,
  type MonitorThermal,
  StabilityMonitor,
} from './monitor.js';
import { formatMdFrame, logReporter, type Reporter, trajectoryReporter, truncateLog, truncateTrajectory } from './reporters.js';
import { degreesOfFreedom } from './state.js';

export const OUTPUT_FILES = [
  'log.csv',
  'trajectory.extxyz',
  'checkpoint.json',
  'failure-frames.extxyz',
  'summary.json',
  'bond-returns.json',
  'equilibration.csv',
  'equilibration.json',
  'equilibration.extxyz',
] as const;

export type OutputMode = 'new' | 'overwrite' | 'resume';

export interface MdRunOptions {
  potential: Potential;
  /** Serialisable description of the potential (recorded in the summary and the fingerprint). */
  potentialSpec?: unknown;
  symbols: string[];
  massesAmu: Float64Array;
  startPositionsA: Float64Array;
  settings: IntegratorSettings;
  /** Total number of steps of the run (a resume continues up to this step). */
  steps: number;
  seed: number;
  outDir: string;
  mode: OutputMode;
  /** Log every this many steps (default 1). */
  logEvery?: number;
  /** Trajectory frame every this many steps (default 10). */
  trajStride?: number;
  /** Checkpoint every this many steps (0: only at the end; default 0). */
  checkpointEvery?: number;
  /** Write checkpoints at all (default true). */
  checkpoints?: boolean;
  monitor?: Partial<MonitorOptions>;
  /** What the monitor measures against instead of the start (e.g. the undistorted geometry). */
  monitorReference?: MonitorReference;
  /** Record the first return of these bonds to their reference lengths. */
  bondReturn?: BondReturnSettings;
  /** A Langevin phase before the run (none when absent or 0 fs). */
  equilibration?: EquilibrationSettings;
  /**
   * The model's global minimum E_min for the hole criterion, and how it was obtained; 'search':
   * found here by L-BFGS from the monitor's reference geometry (else the start) with
   * `modelGlobalMinimum`, before the run (deterministic, so a resume finds the same; skipped with
   * the per-atom criterion). Absent: the monitor falls back to min(E_start, E_ref).
   */
  energyMinimum?: EnergyMinimum | 'search';
  continueOnFailure?: boolean;
  /** Called every `progressEvery` steps (default 100) with the current step. */
  onProgress?: (step: number) => void;
  progressEvery?: number;
  /** Free-form label (e.g. replica name) stored in the summary. */
  label?: string;
  /**
   * Digests of the contents of the files the potential was built from (e.g. `sha256` of each
   * .model file by name): part of the fingerprint, so a resume refuses changed model contents at
   * the same path.
   */
  inputDigests?: Record<string, string>;
  /**
   * Polled between chunks of 20 steps; a returned reason (e.g. 'SIGTERM') ends the run early with
   * a final checkpoint and `interrupted` in the summary (for runs in worker threads, whose flag is
   * shared memory set by the main thread). Not part of the fingerprint.
   */
  shouldStop?: () => string | undefined;
}

/** The model's global minimum E_min and how it was obtained, e.g. "L-BFGS from 12 geometries (start, training set)" or "given". */
export type EnergyMinimum = EnergyMinimumRecord;

export interface MdSummary {
  label?: string;
  potential: string;
  potentialSpec?: unknown;
  ensemble: string;
  timestepFs: number;
  temperatureK: number;
  seed: number;
  nAtoms: number;
  nDof: number;
  stepsRequested: number;
  stepsCompleted: number;
  simulatedTimeFs: number;
  survived: boolean;
  failure: Failure | null;
  /** Time of the first monitor failure, fs (null when the run survived). */
  timeToFailureFs: number | null;
  meanTemperatureK: number;
  meanEpotKcalPerMol: number;
  /** Conserved quantity at the end minus at step 0, kcal/mol. */
  conservedDriftKcalPerMol: number;
  /** The same per picosecond of simulated time. */
  conservedDriftKcalPerMolPerPs: number;
  maxAbsConservedDriftKcalPerMol: number;
  /**
   * The step guard (IntegratorSettings.stepGuardKcalPerMol): steps taken again in substeps, those
   * still beyond the guard at the deepest level, that level, and the extra force calls.
   */
  stepGuard: { guardKcalPerMol: number; guardedSteps: number; unresolvedSteps: number; maxLevel: number; extraForceCalls: number };
  resumedFromStep: number | null;
  wallSeconds: number;
  stepsPerSecond: number;
  nsPerDay: number;
  monitor: MonitorOptions;
  /** The monitor's reference when not the start: bonds (0-based), lengths Å, energy kcal/mol. */
  monitorReference?: { bonds: Array<[number, number]>; lengthsA: number[]; epotKcalPerMol: number; labileHydrogens?: Array<[number, number, number]> };
  /** With `bondReturn`: first return time of each of its bonds, fs (null: never came back). */
  bondReturnTimesFs?: (number | null)[];
  /** The equilibration before the run (not part of its statistics or time). */
  equilibration?: EquilibrationRecord;
  /** The energy criteria in numbers, kcal/mol: E_min, a hole below `holeBelow`, a runaway above `runawayAbove`. */
  energyCriteria: { criterion: string; epotMinimumKcalPerMol: number; epotMinimumSource: string; holeBelowKcalPerMol: number; runawayAboveKcalPerMol: number };
  /** Set when a signal ended the run early (e.g. 'SIGTERM'); a checkpoint of the last step was written. */
  interrupted?: string;
}

/** The settings a checkpoint must match (everything that changes the trajectory; not the length). */
export function runFingerprint(o: MdRunOptions): Fingerprint {
  // The step guard came after checkpoints were first written: fingerprinted only when not at its
  // default, so an older checkpoint resumes (with the guard on; it changes nothing unless a step
  // moves the conserved quantity by more than the guard).
  const { stepGuardKcalPerMol, ...settings } = o.settings;
  return {
    ...settings,
    ...(stepGuardKcalPerMol !== DEFAULT_INTEGRATOR_SETTINGS.stepGuardKcalPerMol ? { stepGuardKcalPerMol } : {}),
    seed: o.seed,
    symbols: o.symbols,
    massesAmu: encodeFloat64(o.massesAmu),
    startPositionsA: encodeFloat64(o.startPositionsA),
    potential: o.potentialSpec ?? o.potential.description,
    logEvery: o.logEvery ?? 1,
    trajStride: o.trajStride ?? 10,
    monitor: monitorFingerprint(o.monitor),
    continueOnFailure: o.continueOnFailure ?? false,
    ...(o.monitorReference !== undefined ? { monitorReference: plainReference(o.monitorReference) } : {}),
    ...(o.bondReturn !== undefined ? { bondReturn: o.bondReturn } : {}),
    ...(o.inputDigests !== undefined ? { inputs: o.inputDigests } : {}),
  };
}

/** Options added after checkpoints were first written: fingerprinted only when not at their defaults, so older checkpoints still match. */
const LATER_MONITOR_OPTIONS = ['energyRunawayDirection', 'bondCompressFactor', 'energyCriterion', 'holeDepthKcalPerMol', 'energyRunawayTailProbability', 'newBondFactor'] as const;

/** Monitor options as fingerprinted (see LATER_MONITOR_OPTIONS). */
function monitorFingerprint(m: Partial<MonitorOptions> | undefined): Record<string, unknown> {
  const all: Record<string, unknown> = { ...DEFAULT_MONITOR_OPTIONS, ...m };
  for (const k of LATER_MONITOR_OPTIONS) if (all[k] === DEFAULT_MONITOR_OPTIONS[k]) delete all[k];
  return all;
}

function plainReference(r: MonitorReference): Record<string, unknown> {
  return {
    ...(r.positionsA !== undefined ? { positionsA: encodeFloat64(Float64Array.from(r.positionsA)) } : {}),
    ...(r.bonds !== undefined ? { bonds: r.bonds } : {}),
    ...(r.lengthsA !== undefined ? { lengthsA: encodeFloat64(Float64Array.from(r.lengthsA)) } : {}),
    ...(r.epotKcalPerMol !== undefined ? { epotKcalPerMol: r.epotKcalPerMol } : {}),
    ...(r.epotMinimumKcalPerMol !== undefined ? { epotMinimumKcalPerMol: r.epotMinimumKcalPerMol } : {}),
    ...(r.labileHydrogens?.length ? { labileHydrogens: r.labileHydrogens } : {}),
  };
}

/**
 * The reference with its energy filled in: E_pot of the reference geometry under the run's
 * potential (one extra `compute` call, after the start's: a `BrokenPotential`'s step k is then call k + 1).
 */
function resolveReference(o: MdRunOptions): MonitorReference | undefined {
  const r = o.monitorReference;
  if (r === undefined || r.epotKcalPerMol !== undefined || r.positionsA === undefined) return r;
  const n = o.symbols.length;
  if (r.positionsA.length !== 3 * n) throw new AtomgpError(`the monitor's reference geometry has ${r.positionsA.length / 3} atoms, the start has ${n}`);
  const res = createResult(n);
  o.potential.compute(Float64Array.from(r.positionsA), res, false);
  const e = res.energyHa * KCAL_PER_MOL_PER_HARTREE;
  if (!Number.isFinite(e)) throw new AtomgpError(`the potential (${o.potential.description}) gives a non-finite energy at the monitor's reference geometry`);
  return { ...r, epotKcalPerMol: e };
}

/** `energyMinimum: 'search'`: L-BFGS from the monitor's reference geometry (the undistorted one) or else the start. */
function searchMinimum(o: MdRunOptions): EnergyMinimum {
  return searchEnergyMinimum({
    potential: o.potential,
    symbols: o.symbols,
    startPositionsA: o.startPositionsA,
    ...(o.monitorReference?.positionsA !== undefined ? { referencePositionsA: o.monitorReference.positionsA } : {}),
    ...(o.monitorReference?.bonds !== undefined ? { bonds: o.monitorReference.bonds } : {}),
    ...(o.monitorReference?.lengthsA !== undefined ? { bondLengthsA: o.monitorReference.lengthsA } : {}),
    sourceStyle: 'single',
  });
}

function positiveInt(name: string, v: number, allowZero = false): void {
  if (!Number.isInteger(v) || v < (allowZero ? 0 : 1)) throw new AtomgpError(`${name} must be an integer ≥ ${allowZero ? 0 : 1}, got ${v}`);
}

/** Prepare OUT/ for a run: refuse to reuse it silently; with overwrite, remove only atomgp's files. */
export function prepareOutputDir(outDir: string, mode: OutputMode): void {
  if (existsSync(outDir)) {
    const present = readdirSync(outDir).filter((f) => (OUTPUT_FILES as readonly string[]).includes(f));
    if (mode === 'new' && present.length > 0) {
      throw new AtomgpError(`output folder ${outDir} already holds a run (${present.join(', ')}); pass --overwrite to replace it or --resume to continue it`);
    }
    if (mode === 'overwrite') for (const f of present) rmSync(join(outDir, f), { force: true });
    if (mode === 'resume' && !present.includes('checkpoint.json')) {
      throw new AtomgpError(`cannot resume: ${join(outDir, 'checkpoint.json')} does not exist (run with --checkpoint-every N to write checkpoints)`);
    }
  } else {
    if (mode === 'resume') throw new AtomgpError(`cannot resume: output folder ${outDir} does not exist`);
    mkdirSync(outDir, { recursive: true });
  }
}

/**
 * The checks a resume must pass before any work is done — the checkpoint's settings, the contents
 * of the model files and the requested length — returning the checkpoint. `startMd` runs them; a
 * caller with expensive preparation (e.g. the CLI's minimum search) can run them first.
 */
export function checkResume(o: MdRunOptions): LoadedCheckpoint {
  const file = join(o.outDir, 'checkpoint.json');
  const cp = readCheckpoint(file);
  const fingerprint = runFingerprint(o);
  // Checkpoints written before content digests existed resume as before (their settings and
  // start geometry are still compared); the next checkpoint records the digests.
  const { inputs: _inputs, ...withoutInputs } = fingerprint;
  checkFingerprint(cp.fingerprint, cp.fingerprint['inputs'] === undefined ? withoutInputs : fingerprint, file);
  if (o.steps < cp.state.step) {
    throw new AtomgpError(
      `${file} is at step ${cp.state.step}, beyond the ${o.steps} steps asked for: a resume continues up to --steps, so give --steps ≥ ${cp.state.step} (or start a new run with --overwrite)`,
    );
  }
  return cp;
}

/** A prepared run: advance it (in one go or in chunks), then finish it to get the summary. */
export interface MdRun {
  readonly md: MolecularDynamics;
  /** True when the requested steps are done or the monitor stopped the run. */
  readonly done: boolean;
  /** Advance to `untilStep` (at most the requested steps); stops early when the monitor fails the run. */
  advance(untilStep: number): void;
  /** Close the files, write the final checkpoint and summary.json; `interrupted` names a signal that ended the run early. */
  finish(interrupted?: string): MdSummary;
}

export function runMd(o: MdRunOptions): MdSummary {
  const run = startMd(o);
  const stop = o.shouldStop;
  if (stop === undefined) {
    run.advance(o.steps);
    return run.finish();
  }
  while (!run.done && stop() === undefined) run.advance(Math.min(o.steps, run.md.state.step + INTERRUPT_CHUNK_STEPS));
  return run.finish(run.done ? undefined : stop());
}

/** Steps between two looks at a stop request (signals): small enough to stop within milliseconds. */
export const INTERRUPT_CHUNK_STEPS = 20;

/**
 * `runMd` in chunks of `chunkSteps`, returning to the event loop between chunks so that signal
 * handlers run: when `stopRequested()` names a reason (e.g. 'SIGTERM') the run ends after the
 * current chunk with a final checkpoint, closed files and a summary marked `interrupted`. The
 * chunks do not change the trajectory: `advance` continues the same integrator bit for bit.
 */
export async function runMdInterruptible(o: MdRunOptions, stopRequested: () => string | undefined, chunkSteps = INTERRUPT_CHUNK_STEPS): Promise<MdSummary> {
  const run = startMd(o);
  const step = (): number => run.md.state.step;
  while (!run.done && stopRequested() === undefined) {
    run.advance(Math.min(o.steps, step() + chunkSteps));
    await new Promise<void>((r) => setImmediate(r));
  }
  return run.finish(run.done ? undefined : stopRequested());
}

/** A run that ended before it began (its equilibration failed): nothing to advance, the summary is written. */
function endedRun(md: MolecularDynamics, summary: MdSummary): MdRun {
  return {
    md,
    done: true,
    advance() {},
    finish() {
      return summary;
    },
  };
}

/** Validate, prepare OUT/, equilibrate when asked and build (or restore) the dynamics of a run. */
export function startMd(o: MdRunOptions): MdRun {
  validateIntegratorSettings(o.settings);
  const n = o.symbols.length;
  if (o.potential.nAtoms !== n) {
    throw new AtomgpError(`the start geometry has ${n} atoms but the potential (${o.potential.description}) is for ${o.potential.nAtoms}`);
  }
  for (let i = 0; i < n; i++) {
    if (o.potential.symbols[i]!.toLowerCase() !== o.symbols[i]!.toLowerCase()) {
      throw new AtomgpError(`atom ${i + 1} of the start geometry is ${o.symbols[i]} but the potential expects ${o.potential.symbols[i]} there`);
    }
  }
  positiveInt('number of steps', o.steps, true);
  const logEvery = o.logEvery ?? 1;
  const trajStride = o.trajStride ?? 10;
  const checkpointEvery = o.checkpointEvery ?? 0;
  positiveInt('log interval', logEvery);
  positiveInt('trajectory stride', trajStride);
  positiveInt('checkpoint interval', checkpointEvery, true);
  const wantCheckpoints = o.checkpoints ?? true;
  if (o.equilibration) validateEquilibration(o.equilibration);
  // The search is only needed by the strict criteria (the per-atom band has no E_min).
  const strict = (o.monitor?.energyCriterion ?? DEFAULT_MONITOR_OPTIONS.energyCriterion) === 'strict';
  // A model without a minimum at the intact molecule fails the run at its start (kind 'hole').
  let energyMinimum: EnergyMinimum | undefined;
  let minimumFailure: string | undefined;
  if (o.energyMinimum !== 'search') energyMinimum = o.energyMinimum;
  else if (strict) {
    try {
      energyMinimum = searchMinimum(o);
    } catch (e) {
      if (!(e instanceof MinimumSearchFailure)) throw e;
      minimumFailure = e.message;
    }
  }
  if (energyMinimum !== undefined && !Number.isFinite(energyMinimum.epotKcalPerMol)) {
    throw new AtomgpError(`the model's minimum energy ${energyMinimum.epotKcalPerMol} kcal/mol is not a finite number`);
  }
  prepareOutputDir(o.outDir, o.mode);
  const path = (f: string): string => join(o.outDir, f);
  const fingerprint = runFingerprint(o);
  const thermal: MonitorThermal = {
    temperatureK: o.settings.temperatureK,
    nInternalDof: degreesOfFreedom(o.startPositionsA, o.massesAmu, 'translation+rotation'),
  };
  const writeFrames = (frames: ReturnType<StabilityMonitor['lastFrames']>): void => {
    writeFileAtomic(path('failure-frames.extxyz'), frames.map((fr) => formatMdFrame(o.symbols, fr)).join(''));
  };

  let md: MolecularDynamics;
  let resumedFromStep: number | null = null;
  let reference: MonitorReference | undefined;
  let equilibration: EquilibrationRecord | undefined;
  /** With continueOnFailure: the equilibration's failure, the run's first (the run goes on). */
  let equilibrationFailure: Failure | undefined;
  /** E_pot of the start geometry when an equilibration moved the run's first state away from it. */
  let epotStart: number | undefined;
  const withMinimum = (r: MonitorReference | undefined): MonitorReference | undefined =>
    energyMinimum === undefined ? r : { ...(r ?? {}), epotMinimumKcalPerMol: energyMinimum.epotKcalPerMol };
  if (o.mode === 'resume') {
    const cp = checkResume(o);
    if (cp.state.nAtoms !== n || cp.state.thermostat.length !== thermostatLength(o.settings, n)) {
      throw new AtomgpError(`${path('checkpoint.json')} does not match this run (atoms or thermostat size differ)`);
    }
    md = MolecularDynamics.fromState(o.potential, o.settings, cp.state);
    resumedFromStep = cp.state.step;
    truncateLog(path('log.csv'), cp.state.step);
    truncateTrajectory(path('trajectory.extxyz'), cp.state.step);
    reference = withMinimum(resolveReference(o));
    if (existsSync(path('equilibration.json'))) {
      const saved = JSON.parse(readFileSync(path('equilibration.json'), 'utf8')) as { record: EquilibrationRecord; failure?: Failure };
      equilibration = saved.record;
      equilibrationFailure = saved.failure;
      epotStart = saved.record.epotStartKcalPerMol;
    }
  } else if (minimumFailure !== undefined) {
    md = MolecularDynamics.create(o.potential, o.settings, o.startPositionsA, o.massesAmu, o.seed);
    const stats0 = md.state.stats;
    const m0 = new StabilityMonitor(o.symbols, o.startPositionsA, stats0.epot0KcalPerMol, stats0.conserved0KcalPerMol, o.monitor, resolveReference(o), thermal);
    const failure: Failure = {
      kind: 'hole',
      phase: 'minimum-search',
      step: 0,
      timeFs: 0,
      reason: `the model has no minimum at the intact molecule, so it has a hole next to the start: ${minimumFailure}`,
    };
    const summary = writeSummary(o, path('summary.json'), { md, failure, monitor: m0, resumedFromStep: null, wallSeconds: 0, stepsTaken: 0, production: false });
    return endedRun(md, summary);
  } else if (o.equilibration !== undefined && o.equilibration.timeFs > 0 && o.settings.temperatureK > 0) {
    const eq = new Equilibration(o.potential, o.settings, o.equilibration, o.startPositionsA, o.massesAmu, o.seed);
    epotStart = eq.md.state.epotKcalPerMol;
    reference = withMinimum(resolveReference(o));
    const eqMonitor = new StabilityMonitor(o.symbols, o.startPositionsA, epotStart, eq.md.state.stats.conserved0KcalPerMol, o.monitor, reference, thermal);
    const eqFailureOf = attachMonitor(eq.md, eqMonitor, { continueOnFailure: o.continueOnFailure ?? false, onFailure: (_f, frames) => writeFrames(frames) });
    const eqLog = logReporter(path('equilibration.csv'), logEvery);
    // Its frames too (a restarted equilibration starts the file again): where the run went before production.
    const eqTraj = trajectoryReporter(path('equilibration.extxyz'), o.symbols, trajStride, { truncate: true });
    eq.md.attach(eqLog.observer, eqLog.interval);
    eq.md.attach(eqTraj.observer, eqTraj.interval);
    let record: EquilibrationRecord;
    try {
      record = eq.run();
    } finally {
      eqLog.close();
      eqTraj.close();
    }
    equilibration = record;
    const eqFailure = eqFailureOf();
    // With continueOnFailure the run goes on after a failure in its equilibration, which stays its first.
    if (eqFailure !== undefined && o.continueOnFailure) equilibrationFailure = { ...eqFailure, phase: 'equilibration' };
    writeFileAtomic(path('equilibration.json'), JSON.stringify({ record, ...(equilibrationFailure ? { failure: equilibrationFailure } : {}) }, null, 2) + '\n');
    if (eqFailure !== undefined && !o.continueOnFailure) {
      const summary = writeSummary({ ...o, ...(energyMinimum !== undefined ? { energyMinimum } : {}) }, path('summary.json'), {
        md: eq.md,
        failure: { ...eqFailure, phase: 'equilibration' },
        monitor: eqMonitor,
        resumedFromStep: null,
        wallSeconds: 0,
        stepsTaken: 0,
        production: false,
        equilibration,
      });
      return endedRun(eq.md, summary);
    }
    md = eq.production();
  } else {
    md = MolecularDynamics.create(o.potential, o.settings, o.startPositionsA, o.massesAmu, o.seed);
  }
  reference ??= withMinimum(resolveReference(o));

  const stats = md.state.stats;
  const monitor = new StabilityMonitor(o.symbols, o.startPositionsA, epotStart ?? stats.epot0KcalPerMol, stats.conserved0KcalPerMol, o.monitor, reference, thermal);
  let returns: BondReturnWatch | undefined;
  if (o.bondReturn) {
    // A resumed run continues from the return times saved with its checkpoint.
    const saved = o.mode === 'resume' && existsSync(path('bond-returns.json')) ? (JSON.parse(readFileSync(path('bond-returns.json'), 'utf8')) as { timesFs: (number | null)[] }).timesFs : undefined;
    const watch = new BondReturnWatch(n, o.bondReturn, saved);
    md.attach((m) => watch.observe(m.state.positionsA, m.state.timeFs), 1);
    returns = watch;
  }
  const failureOf = attachMonitor(md, monitor, {
    continueOnFailure: o.continueOnFailure ?? false,
    // The frames of the first failure only (an equilibration's stays).
    onFailure: (_f, frames) => {
      if (equilibrationFailure === undefined) writeFrames(frames);
    },
  });
  const reporters: Reporter[] = [logReporter(path('log.csv'), logEvery), trajectoryReporter(path('trajectory.extxyz'), o.symbols, trajStride)];
  for (const r of reporters) md.attach(r.observer, r.interval);
  const checkpoint = (): void => {
    md.syncRngState();
    for (const r of reporters) r.flush();
    writeCheckpoint(path('checkpoint.json'), md.state, fingerprint);
    if (returns) writeFileAtomic(path('bond-returns.json'), JSON.stringify({ step: md.state.step, timesFs: returns.timesFs }) + '\n');
  };
  if (wantCheckpoints && checkpointEvery > 0) {
    md.attach((m) => {
      if (m.state.step > 0 && m.stopReason === undefined) checkpoint();
    }, checkpointEvery);
  }
  if (o.onProgress) md.attach((m) => o.onProgress!(m.state.step), o.progressEvery ?? 100);

  const startStep = md.state.step;
  const t0 = performance.now();
  const closeReporters = (): void => {
    for (const r of reporters) r.close();
  };
  let finished = false;
  return {
    md,
    get done() {
      return md.state.step >= o.steps || md.stopReason !== undefined;
    },
    advance(untilStep: number) {
      if (finished) throw new Error('advance() after finish()');
      try {
        md.run(Math.min(untilStep, o.steps));
      } catch (e) {
        closeReporters();
        throw e;
      }
    },
    finish(interrupted?: string) {
      if (finished) throw new Error('finish() called twice');
      finished = true;
      closeReporters();
      const wallSeconds = (performance.now() - t0) / 1000;
      const failure = equilibrationFailure ?? failureOf() ?? null;
      // A final checkpoint lets a finished run be extended with more steps (not after a failure),
      // and an interrupted one be resumed from its last step.
      if (wantCheckpoints && failure === null) checkpoint();
      return writeSummary({ ...o, ...(energyMinimum !== undefined ? { energyMinimum } : {}) }, path('summary.json'), {
        md,
        failure,
        monitor,
        resumedFromStep,
        wallSeconds,
        stepsTaken: md.state.step - startStep,
        production: true,
        ...(equilibration !== undefined ? { equilibration } : {}),
        ...(returns ? { returns } : {}),
        ...(interrupted !== undefined ? { interrupted } : {}),
      });
    },
  };
}

interface SummaryInputs {
  md: MolecularDynamics;
  failure: Failure | null;
  monitor: StabilityMonitor;
  resumedFromStep: number | null;
  wallSeconds: number;
  stepsTaken: number;
  /** false: the run ended in its equilibration (no step of the run proper). */
  production: boolean;
  equilibration?: EquilibrationRecord;
  returns?: BondReturnWatch;
  interrupted?: string;
}

function writeSummary(o: MdRunOptions, file: string, x: SummaryInputs): MdSummary {
  const { md, failure, monitor, wallSeconds } = x;
  const s = md.state;
  const stats = s.stats;
  const taken = x.stepsTaken;
  const stepsPerSecond = wallSeconds > 0 ? taken / wallSeconds : 0;
  const drift = x.production ? md.conservedKcalPerMol - stats.conserved0KcalPerMol : 0;
  const summary: MdSummary = {
    ...(o.label !== undefined ? { label: o.label } : {}),
    potential: o.potential.description,
    ...(o.potentialSpec !== undefined ? { potentialSpec: o.potentialSpec } : {}),
    ensemble: o.settings.ensemble,
    timestepFs: o.settings.timestepFs,
    temperatureK: o.settings.temperatureK,
    seed: o.seed,
    nAtoms: o.symbols.length,
    nDof: s.nDof,
    stepsRequested: o.steps,
    stepsCompleted: x.production ? s.step : 0,
    simulatedTimeFs: x.production ? s.timeFs : 0,
    survived: failure === null,
    failure,
    timeToFailureFs: failure ? (x.production ? failure.timeFs : 0) : null,
    meanTemperatureK: x.production ? stats.sumTemperatureK / Math.max(stats.samples, 1) : Number.NaN,
    meanEpotKcalPerMol: x.production ? stats.sumEpotKcalPerMol / Math.max(stats.samples, 1) : Number.NaN,
    conservedDriftKcalPerMol: drift,
    conservedDriftKcalPerMolPerPs: x.production && s.timeFs > 0 ? drift / (s.timeFs / 1000) : 0,
    maxAbsConservedDriftKcalPerMol: x.production ? stats.maxAbsDriftKcalPerMol : 0,
    stepGuard: {
      guardKcalPerMol: o.settings.stepGuardKcalPerMol,
      guardedSteps: x.production ? stats.guardedSteps : 0,
      unresolvedSteps: x.production ? stats.guardUnresolvedSteps : 0,
      maxLevel: x.production ? stats.guardMaxLevel : 0,
      extraForceCalls: x.production ? stats.guardForceCalls : 0,
    },
    resumedFromStep: x.resumedFromStep,
    wallSeconds,
    stepsPerSecond,
    nsPerDay: (stepsPerSecond * o.settings.timestepFs * 86400) / 1e6,
    monitor: monitor.options,
    ...(o.monitorReference !== undefined
      ? {
          monitorReference: {
            bonds: monitor.bonds.map(([i, j]) => [i, j] as [number, number]),
            lengthsA: Array.from(monitor.bondReferenceA),
            epotKcalPerMol: monitor.epotReferenceKcalPerMol,
            ...(o.monitorReference.labileHydrogens?.length ? { labileHydrogens: o.monitorReference.labileHydrogens.map(([a, h, b]) => [a, h, b] as [number, number, number]) } : {}),
          },
        }
      : {}),
    ...(x.returns ? { bondReturnTimesFs: x.returns.timesFs } : {}),
    ...(x.equilibration !== undefined ? { equilibration: x.equilibration } : {}),
    energyCriteria: monitor.energyCriteria(o.energyMinimum === 'search' ? undefined : o.energyMinimum?.source),
    ...(x.interrupted !== undefined ? { interrupted: x.interrupted } : {}),
  };
  writeFileAtomic(file, JSON.stringify(summary, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n');
  return summary;
}
