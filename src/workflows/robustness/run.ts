/**
 * The robustness study (`atomgp robustness`): does a model set survive molecular dynamics from a
 * high-energy start, and how does the answer depend on the GP prior mean (science.md §3)?
 *
 *  1. refit the model set once per prior mean from the training data stored in its files
 *     (refit.ts; deterministic, so a resumed study refits only the prior means whose folder is
 *     missing or was never finished);
 *  2. start geometry (start.ts): `--start FILE`, or the minimum of the original model set;
 *  3. distort it (analysis/distort.ts, seeded), and check for each prior mean whether the forces
 *     at the distorted start push the displaced bonds back (restoring.ts);
 *  4. errors per prior mean (errors.ts): on validation sets when given, otherwise leave-one-out
 *     errors on the training set (labelled as such);
 *  5. run every prior × temperature × replica (matrix.ts), record survival and time to failure
 *     (the monitor's definition, dynamics/monitor.ts) and write OUT/study.json and
 *     OUT/report.html. The monitor measures against the *undistorted* start: its bonds and their
 *     lengths (a bond fails beyond 2× or below 0.7× its undistorted length, whatever the
 *     distortion did to it), its fragments, and each prior's model minimum E_min (L-BFGS from the
 *     undistorted start, `energyMinimum: 'search'`): a hole is E_pot below E_min − 5 kcal/mol, a
 *     runaway E_pot above max(E_pot(distorted start), E_min) + the canonical bound (monitor.ts,
 *     strict criteria). The distorted start falling back towards E_min is not a failure.
 *     `monitor.energyCriterion: 'per-atom'` restores the old ±50 kcal/mol-per-atom band;
 *  6. per run and distorted bond (moved > 0.01 Å by the distortion): the relaxation time, the first
 *     time the bond comes back within `relaxationTolA` (default 0.1 Å) of its undistorted length.
 *
 * Layout of OUT: study-settings.json (what a resume must match), models/<prior>/ (refit sets, each
 * with fingerprint.json: prior, hyperparameter mode, seed and the sha256 of every original model
 * file), start.extxyz, start-distorted.extxyz (start.fingerprint.json: the --start file or the
 * original models), runs/<prior>/ (fingerprint.json: its refit models and the distorted start)
 * with T<temp>_r<rep>/ (one MD run each),
 * study.json, report.html. Replica r at temperature index t uses seed + t·R + r for every prior,
 * so the priors are compared on identical initial velocities.
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { distortFromText, parseDistortion } from '../../analysis/distort.js';
import { bondLengthsA } from '../../analysis/restoring.js';
import { findBonds } from '../../chem/connectivity.js';
import { DEFAULT_INTEGRATOR_SETTINGS, type IntegratorSettings } from '../../dynamics/integrators.js';
import { type BondReturnSettings, DEFAULT_MONITOR_OPTIONS, type MonitorOptions, type MonitorReference } from '../../dynamics/monitor.js';
import { AtomgpError } from '../../errors.js';
import { DEFAULT_PRIOR } from '../../gp/fit/priors.js';
import { parseRepulsion } from '../../gp/model/repulsion.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { LOCK_FILE } from '../../io/lock.js';
import { readModelSet } from '../../io/modelset.js';
import { readValidationSets } from '../../io/validation-sets.js';
import { writeXyz } from '../../io/xyz.js';
import { GpPotential } from '../../potentials/gp.js';
import { writeReport } from '../../report/report.js';
import { VERSION } from '../../version.js';
import { hashInputs, makeStageRecord, readStageRecord, stageChanges, writeStageRecord } from '../fingerprint.js';
import { type ErrorEntry, leaveOneOutErrors, validationErrors } from './errors.js';
import { bondLabel, runStabilityMatrix } from './matrix.js';
import { refitStage } from './refit.js';
import { type RestoringEntry, restoringEntry } from './restoring.js';
import { diffSettings, type RecordedSettings, type RobustnessOptions, readModelSetForStudy, resolvePriors, SETTINGS_FILE, type StudyJson, type StudyResult } from './settings.js';
import { studyStart } from './start.js';
import { summariseTable } from './tables.js';

export async function runRobustnessStudy(o: RobustnessOptions): Promise<StudyResult> {
  const say = o.onMessage ?? ((): void => {});
  const priors = resolvePriors(o.priors);
  for (const t of o.temperaturesK) if (!(Number.isFinite(t) && t > 0)) throw new AtomgpError(`temperature ${t} K is not usable; NVT runs need temperatures above 0 K`);
  if (o.temperaturesK.length === 0) throw new AtomgpError('no temperatures given');
  if (!(Number.isInteger(o.replicas) && o.replicas >= 1)) throw new AtomgpError(`--replicas must be an integer ≥ 1, got ${o.replicas}`);
  const timestepFs = o.timestepFs ?? 0.5;
  if (!(timestepFs > 0 && timestepFs <= 10)) throw new AtomgpError(`--timestep-fs ${timestepFs}: expected 0 < dt ≤ 10 fs`);
  if (!(o.timePs > 0 && Number.isFinite(o.timePs))) throw new AtomgpError(`--time-ps must be a positive number of picoseconds, got ${o.timePs}`);
  const steps = Math.round((o.timePs * 1000) / timestepFs);
  if (steps < 1) throw new AtomgpError(`--time-ps ${o.timePs} is shorter than one ${timestepFs} fs step`);
  parseDistortion(o.distort); // grammar errors before any work
  const out = resolve(o.outDir);
  const modelsDir = resolve(o.modelsDir);
  const original = readModelSetForStudy(modelsDir);

  // Start geometry: a file, or the minimum of the original models (deterministic).
  const start = studyStart(original, o.startFile);
  const bonds = findBonds(start.symbols, start.positionsA);
  const distorted = distortFromText(start.symbols, start.positionsA, o.distort, o.seed, bonds);
  const relaxationTolA = o.relaxationTolA ?? 0.1;
  if (!(relaxationTolA > 0 && Number.isFinite(relaxationTolA))) throw new AtomgpError(`--relaxation-tol-A must be a positive number of Å, got ${relaxationTolA}`);
  // The monitor and the relaxation times measure against the undistorted start, never the distorted one.
  const referenceLengths = bondLengthsA(start.positionsA, bonds);
  const distortedLengths = bondLengthsA(distorted, bonds);
  const distortedBonds = bonds.filter((_b, k) => Math.abs(distortedLengths[k]! - referenceLengths[k]!) > 0.01);
  const monitorReference: MonitorReference = { positionsA: Array.from(start.positionsA), bonds: [...bonds], lengthsA: Array.from(referenceLengths) };
  const bondReturn: BondReturnSettings = {
    bonds: distortedBonds,
    referenceLengthsA: distortedBonds.map((b) => referenceLengths[bonds.indexOf(b)]!),
    tolA: relaxationTolA,
  };

  const settings: IntegratorSettings = { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt', timestepFs, temperatureK: o.temperaturesK[0]! };
  const { temperatureK: _t, ...thermostat } = settings;
  const monitor: MonitorOptions = { ...DEFAULT_MONITOR_OPTIONS, ...o.monitor };
  const repulsion = o.repulsion === undefined ? 'none' : parseRepulsion(o.repulsion, '--repulsion');
  const recorded: RecordedSettings = {
    atomgp_version: VERSION,
    models: modelsDir,
    model_files: original.models.map((m) => ({ file: basename(m.source ?? ''), bytes: m.source ? statSync(m.source).size : 0 })),
    priors: priors.map((p) => p.text),
    prior_labels: priors.map((p) => p.label),
    default_prior: DEFAULT_PRIOR,
    keep_hyperparameters: o.keepHyperparameters ?? false,
    ...(repulsion !== 'none' ? { repulsion } : {}),
    temperatures_K: o.temperaturesK,
    replicas: o.replicas,
    time_ps: o.timePs,
    steps,
    timestep_fs: timestepFs,
    distortion: o.distort,
    seed: o.seed,
    start: start.source,
    validation: o.validation ? resolve(o.validation) : null,
    thermostat,
    monitor,
    monitor_reference: 'undistorted start: bonds, lengths, fragments and E_pot of each prior',
    relaxation_tol_A: relaxationTolA,
    log_every: o.logEvery ?? 10,
    traj_stride: o.trajStride ?? 20,
    checkpoint_every: o.checkpointEvery ?? 2000,
  };
  const settingsFile = join(out, SETTINGS_FILE);
  if (o.resume) {
    if (!existsSync(settingsFile)) throw new AtomgpError(`cannot resume: ${settingsFile} does not exist (no study was started in ${out}); run without --resume`);
    const before = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
    const diff = diffSettings(before, recorded as unknown as Record<string, unknown>);
    if (diff.length > 0) throw new AtomgpError(`cannot resume the study in ${out}: its settings differ from the recorded ones in ${settingsFile} (${diff.join('; ')}); run with the recorded settings, or use a new --out`);
  } else {
    // The output folder's own lock (io/lock.ts) does not make it a used folder.
    if (existsSync(out) && readdirSync(out).some((f) => f !== LOCK_FILE)) {
      throw new AtomgpError(`output folder ${out} is not empty${existsSync(settingsFile) ? ' (it holds a robustness study; pass --resume to continue it)' : ''}; choose a new --out`);
    }
    mkdirSync(out, { recursive: true });
    writeFileAtomic(settingsFile, JSON.stringify(recorded, null, 2) + '\n');
  }
  // The start geometry's inputs (a --start file, or the original models it was optimised on).
  const startInputs = hashInputs(out, o.startFile ? [o.startFile] : original.models.map((m) => m.source ?? '').filter((f) => f !== ''));
  const startRecordFile = join(out, 'start.fingerprint.json');
  const startSettings = { start: start.source, distortion: o.distort, seed: o.seed };
  const startRecord = o.resume ? readStageRecord(startRecordFile) : undefined;
  if (startRecord) {
    const changes = stageChanges(startRecord, startSettings, startInputs);
    if (changes.length > 0) throw new AtomgpError(`cannot resume the study in ${out}: the start geometry was made from other inputs (${changes.join('; ')}); use a new --out`);
  }
  writeStageRecord(startRecordFile, makeStageRecord('start', startSettings, startInputs));
  say(`start geometry: ${start.source}`);
  const startFile = join(out, 'start.extxyz');
  const distortedFile = join(out, 'start-distorted.extxyz');
  const frame = (positionsA: Float64Array, comment: string) => ({ symbols: start.symbols, positionsA, info: { comment }, arrays: {}, comment: '' });
  writeXyz(startFile, [frame(start.positionsA, 'start geometry')]);
  writeXyz(distortedFile, [frame(distorted, `distorted start: ${o.distort} seed ${o.seed}`)]);

  // 1. Refits (only the missing or unfinished ones on a resume).
  const modelsRoot = join(out, 'models');
  const refits = await refitStage({ outDir: out, priors, original, keepHyperparameters: o.keepHyperparameters ?? false, seed: o.seed, workers: o.workers ?? 2,
    ...(o.executor ? { executor: o.executor } : {}),
    ...(o.onBatchStatus ? { onBatchStatus: o.onBatchStatus } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    say,
  });

  // 2. Restoring forces and errors per prior.
  const sets = priors.map((p) => readModelSet(join(modelsRoot, p.dirName), { property: 'iqa', check: true }));
  const restoring: RestoringEntry[] = [];
  const validation: ErrorEntry[] = [];
  const loo: ErrorEntry[] = [];
  const validationSets = o.validation ? readValidationSets(o.validation, original.atoms, original.models[0]!.nFeatures) : undefined;
  priors.forEach((p, k) => {
    const set = sets[k]!;
    const potential = new GpPotential({ systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors }, 1, { repulsion });
    restoring.push(restoringEntry(p.label, potential, start.positionsA, distorted, bonds));
    loo.push(...leaveOneOutErrors(p.label, p.prior, set));
    if (validationSets) validation.push(...validationErrors(p.label, p.prior, set, validationSets));
  });
  for (const r of restoring) say(`restoring forces, ${r.prior}: ${r.n_restoring}/${r.n_displaced} displaced bonds pushed back, distortion costs ${r.energy_rise_kcal_per_mol.toFixed(2)} kcal/mol`);

  // 3. The MD matrix. Each prior's runs record the models and the distorted start they ran from.
  const runsRecord = (p: (typeof priors)[number]): string => join(out, 'runs', p.dirName, 'fingerprint.json');
  const runsInputs = (p: (typeof priors)[number]): Record<string, string> => hashInputs(out, [...sets[priors.indexOf(p)]!.models.map((m) => m.source!), distortedFile]);
  if (o.resume) {
    for (const p of priors) {
      const record = readStageRecord(runsRecord(p));
      const changes = record ? stageChanges(record, { prior: p.prior }, runsInputs(p)) : [];
      if (changes.length > 0) throw new AtomgpError(`cannot resume the study in ${out}: the runs of ${p.label} were made from other inputs (${changes.join('; ')}); use a new --out`);
    }
  }
  for (const p of priors) {
    mkdirSync(join(out, 'runs', p.dirName), { recursive: true });
    writeStageRecord(runsRecord(p), makeStageRecord(`runs ${p.label}`, { prior: p.prior }, runsInputs(p)));
  }
  const rows = await runStabilityMatrix({
    entries: priors.map((p) => ({ prior: p.label, dirName: p.dirName, potentialSpec: { kind: 'gp-models', dir: join(modelsRoot, p.dirName), ...(repulsion !== 'none' ? { repulsion } : {}) } })),
    symbols: start.symbols,
    startPositionsA: distorted,
    temperaturesK: o.temperaturesK,
    replicas: o.replicas,
    steps,
    seed: o.seed,
    settings,
    runsDir: join(out, 'runs'),
    baseDir: out,
    resume: o.resume ?? false,
    workers: o.workers ?? 2,
    ...(o.executor ? { executor: o.executor } : {}),
    ...(o.onBatchStatus ? { onBatchStatus: o.onBatchStatus } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    logEvery: recorded.log_every,
    trajStride: recorded.traj_stride,
    checkpointEvery: recorded.checkpoint_every,
    monitor,
    monitorReference,
    bondReturn,
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });

  const study: StudyJson = {
    kind: 'robustness',
    molecule: original.systemName,
    atomgp_version: VERSION,
    settings: {
      models: modelsDir,
      priors: priors.map((p) => p.label),
      hyperparameters: recorded.keep_hyperparameters ? 'kept from the input models' : 're-optimised for each prior mean',
      ...(repulsion !== 'none' ? { repulsion } : {}),
      temperatures_K: o.temperaturesK,
      replicas: o.replicas,
      time_ps: o.timePs,
      steps,
      timestep_fs: timestepFs,
      ensemble: `nvt (Nosé–Hoover chain, ${thermostat.nhcMode}, length ${thermostat.chainLength}, τ ${thermostat.tauFs} fs)`,
      distortion: o.distort,
      seed: o.seed,
      start: start.source,
      monitor,
      monitor_reference: recorded.monitor_reference,
      relaxation_tol_A: relaxationTolA,
      errors: validationSets ? 'validation set' : 'training set, leave-one-out (no validation set given)',
    },
    start: {
      source: start.source,
      file: 'start.extxyz',
      distorted_file: 'start-distorted.extxyz',
      bonds: bonds.map(([i, j]) => [i + 1, j + 1]),
      distorted_bonds: distortedBonds.map((b) => {
        const k = bonds.indexOf(b);
        return { bond: bondLabel(start.symbols, b), atoms: [b[0] + 1, b[1] + 1] as [number, number], reference_A: referenceLengths[k]!, distorted_A: distortedLengths[k]! };
      }),
    },
    refits,
    table: rows,
    summary: summariseTable(rows),
    validation: validationSets ? validation : loo,
    leave_one_out: loo,
    restoring,
  };
  const studyFile = join(out, 'study.json');
  writeFileAtomic(studyFile, JSON.stringify(study, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 1) + '\n');
  const result: StudyResult = { study, studyFile };
  if (o.report ?? true) result.reportFile = writeReport(out).path;
  return result;
}
