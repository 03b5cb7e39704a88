/**
 * The robustness study (`atomgp robustness`): does a model set survive molecular dynamics from a
 * high-energy start, and how does the answer depend on the GP prior mean (science.md §3)?
 *
 *  1. refit the model set once per prior mean from the training data stored in its files
 *     (gp/train-parallel.ts `runTrainTasks`; deterministic, so a resumed study refits only the
 *     prior means whose folder is missing);
 *  2. start geometry: `--start FILE`, or the minimum of the original model set, found by L-BFGS
 *     from the training geometry of lowest total energy, which is rebuilt from atom 1's ALF
 *     features (they are internal coordinates: 2 distances, an angle, then R, θ, φ per atom);
 *  3. distort it (analysis/distort.ts, seeded), and check for each prior mean whether the forces
 *     at the distorted start push the displaced bonds back (analysis/restoring.ts);
 *  4. errors per prior mean: on validation sets when given, otherwise leave-one-out errors on the
 *     training set (labelled as such);
 *  5. run every prior × temperature × replica with Nosé–Hoover NVT on a pool of worker threads
 *     (`runJobs` of dynamics/ensemble.ts), record survival and time to failure (the monitor's
 *     definition, dynamics/monitor.ts) and write OUT/study.json and OUT/report.html. The monitor
 *     measures against the *undistorted* start: its bonds and their lengths (a bond fails beyond
 *     2× or below 0.7× its undistorted length, whatever the distortion did to it), its fragments,
 *     and each prior's model minimum E_min (L-BFGS from the undistorted start, `energyMinimum:
 *     'search'`): a hole is E_pot below E_min − 5 kcal/mol, a runaway E_pot above
 *     max(E_pot(distorted start), E_min) + the canonical bound (monitor.ts, strict criteria). The
 *     distorted start falling back towards E_min is not a failure. `monitor.energyCriterion:
 *     'per-atom'` restores the old ±50 kcal/mol-per-atom band;
 *  6. per run and distorted bond (moved > 0.01 Å by the distortion): the relaxation time, the first
 *     time the bond comes back within `relaxationTolA` (default 0.1 Å) of its undistorted length
 *     (rows' `relaxation_time_ps`, null if never; medians per cell in the summary).
 *
 * Layout of OUT: study-settings.json (what a resume must match), models/<prior>/ (refit sets),
 * start.extxyz, start-distorted.extxyz, runs/<prior>/T<temp>_r<rep>/ (one MD run each),
 * study.json, report.html. Replica r at temperature index t uses seed + t·R + r for every prior,
 * so the priors are compared on identical initial velocities.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { bondLengthsA, restoringForces } from '../analysis/restoring.js';
import { distortFromText, parseDistortion } from '../analysis/distort.js';
import { type Bond, findBonds } from '../chem/connectivity.js';
import { massesAmu } from '../chem/molecule.js';
import { ANGSTROM_PER_BOHR, KCAL_PER_MOL_PER_HARTREE } from '../chem/units.js';
import { buildJobs, type EnsembleJob, runJobs, runLabel } from '../dynamics/ensemble.js';
import { DEFAULT_INTEGRATOR_SETTINGS, type IntegratorSettings } from '../dynamics/integrators.js';
import { type BondReturnSettings, DEFAULT_MONITOR_OPTIONS, type MonitorOptions, type MonitorReference } from '../dynamics/monitor.js';
import type { MdSummary, OutputMode } from '../dynamics/run.js';
import { AtomgpError } from '../errors.js';
import { computeFeatures } from '../features/alf.js';
import { compileModelKernel } from '../gp/kernel.js';
import { choleskySolve, choleskyWithJitter, inverseFromCholesky } from '../gp/linalg.js';
import { evaluateMeanRows } from '../gp/mean.js';
import type { GpModel, PeriodicPrefactor } from '../gp/model.js';
import { type ModelSet, readModelSet } from '../gp/modelset.js';
import { DEFAULT_PRIOR, formatPrior, PRIOR_NAMES, parsePrior } from '../gp/priors.js';
import type { TrainResult } from '../gp/train.js';
import { statedNoise } from '../gp/train.js';
import { runTrainTasks, type TrainTask } from '../gp/train-parallel.js';
import { predictRows } from '../gp/validate.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { readPropertyCsv } from '../io/csv.js';
import { writeModel } from '../io/model.js';
import { readXyz, writeXyz } from '../io/xyz.js';
import { lbfgs } from '../optimize/lbfgs.js';
import type { PotentialSpec } from '../potentials/factory.js';
import { GpPotential } from '../potentials/gp.js';
import { createResult, type Potential } from '../potentials/potential.js';
import { writeReport } from '../report/report.js';
import { VERSION } from '../version.js';

// ───────────────────────────── inputs ─────────────────────────────

/** One prior mean of the study: what the user wrote, how it is reported, where its models go. */
export interface PriorEntry {
  /** As given (`default`, `shift:0.05`). */
  text: string;
  /** As reported: the canonical name, `default (max)` for the default. */
  label: string;
  /** Folder name under models/ and runs/ (`shift_0.05`). */
  dirName: string;
  /** Canonical prior text passed to the trainer. */
  prior: string;
}

/** Parse the `--priors` list; `default` is the trainer's DEFAULT_PRIOR. */
export function resolvePriors(texts: readonly string[]): PriorEntry[] {
  if (texts.length === 0) throw new AtomgpError(`--priors: no prior means given (expected e.g. min,max,shift:2sd; known: default, ${PRIOR_NAMES.join(', ')})`);
  const out: PriorEntry[] = [];
  const seen = new Map<string, string>();
  for (const raw of texts) {
    const t = raw.trim();
    if (t === '') throw new AtomgpError(`--priors: empty entry in the list (expected e.g. min,max,shift:2sd; known: default, ${PRIOR_NAMES.join(', ')})`);
    let entry: PriorEntry;
    if (t.toLowerCase() === 'default') {
      const canonical = formatPrior(parsePrior(DEFAULT_PRIOR));
      entry = { text: t, label: `default (${canonical})`, dirName: 'default', prior: canonical };
    } else {
      let canonical: string;
      try {
        canonical = formatPrior(parsePrior(t));
      } catch (e) {
        if (e instanceof AtomgpError) throw new AtomgpError(`--priors: ${e.message}; or default (the trainer's default, now ${DEFAULT_PRIOR})`);
        throw e;
      }
      entry = { text: t, label: canonical, dirName: canonical.replace(/[^A-Za-z0-9.+-]/g, '_'), prior: canonical };
    }
    const prev = seen.get(entry.dirName);
    if (prev !== undefined) throw new AtomgpError(`--priors: '${t}' repeats '${prev}'`);
    seen.set(entry.dirName, t);
    out.push(entry);
  }
  return out;
}

/** Parse a comma-separated list of temperatures (K), each finite and > 0. */
export function parseTemperatures(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.every((p) => p === '')) throw new AtomgpError('--temperatures-K: no temperatures given (expected e.g. 300,500,1000)');
  return parts.map((p) => {
    const t = Number(p);
    if (p === '' || !Number.isFinite(t)) throw new AtomgpError(`--temperatures-K: '${p}' is not a number (expected a list of kelvin, e.g. 300,500,1000)`);
    if (!(t > 0)) throw new AtomgpError(`--temperatures-K: ${p} K is not usable; NVT runs need temperatures above 0 K`);
    if (t > 1e5) throw new AtomgpError(`--temperatures-K: ${p} K is above the 100000 K limit of the integrators`);
    return t;
  });
}

/**
 * Read a model set for refitting: every atom needs an `iqa` model with its training data.
 * Files without `[training_data.x]` give the message the user needs (the study cannot refit them).
 */
export function readModelSetForStudy(dir: string): ModelSet {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new AtomgpError(`--models: '${dir}' is not a folder (expected a folder of .model files, one iqa model per atom)`);
  try {
    return readModelSet(dir, { property: 'iqa', check: true });
  } catch (e) {
    if (e instanceof AtomgpError && /training_data/.test(e.message)) {
      throw new AtomgpError(
        `cannot refit the model set in ${dir}: ${e.message}. The robustness study refits every model with each prior mean from the training data stored in its file ([training_data.x], [training_data.y]); retrain the models with atomgp train, which stores them`,
      );
    }
    throw e;
  }
}

// ───────────────────────────── start geometry ─────────────────────────────

/**
 * Cartesian positions (Å) with the given ALF features (bohr, radians) for the atom `alf[0]`
 * (0-based ALF within an n-atom molecule): the central atom at the origin, the x-axis atom on +x,
 * the xy-plane atom in the xy plane (y > 0), every other atom at (R, θ, φ) in that frame.
 */
export function geometryFromAlfFeatures(features: ArrayLike<number>, alf: readonly number[], nAtoms: number): Float64Array {
  if (nAtoms < 3) throw new AtomgpError(`rebuilding a geometry from ALF features needs at least 3 atoms, got ${nAtoms}`);
  if (features.length !== 3 * nAtoms - 6) throw new AtomgpError(`rebuilding a geometry: ${features.length} features for ${nAtoms} atoms (expected ${3 * nAtoms - 6})`);
  const [a, x, y] = alf as [number, number, number];
  const pos = new Float64Array(3 * nAtoms);
  const put = (i: number, px: number, py: number, pz: number): void => {
    pos[3 * i] = px * ANGSTROM_PER_BOHR;
    pos[3 * i + 1] = py * ANGSTROM_PER_BOHR;
    pos[3 * i + 2] = pz * ANGSTROM_PER_BOHR;
  };
  put(a, 0, 0, 0);
  put(x, features[0]!, 0, 0);
  put(y, features[1]! * Math.cos(features[2]!), features[1]! * Math.sin(features[2]!), 0);
  let k = 3;
  for (let i = 0; i < nAtoms; i++) {
    if (i === a || i === x || i === y) continue;
    const r = features[k]!;
    const theta = features[k + 1]!;
    const phi = features[k + 2]!;
    put(i, r * Math.sin(theta) * Math.cos(phi), r * Math.sin(theta) * Math.sin(phi), r * Math.cos(theta));
    k += 3;
  }
  return pos;
}

export interface TrainingStart {
  positionsA: Float64Array;
  /** Index of the training point used (0-based). */
  index: number;
  /** Whether row i of every atom's training set is the same geometry (so total energies exist). */
  aligned: boolean;
  /** Total (aligned) or atom-1 energy of that point, Ha. */
  energyHa: number;
}

/** Largest feature difference (angles wrapped) between a computed and a stored row. */
function featureMismatch(computed: Float64Array, stored: Float64Array, offset: number): number {
  let worst = 0;
  for (let k = 0; k < computed.length; k++) {
    let d = Math.abs(computed[k]! - stored[offset + k]!);
    if (d > Math.PI) d = Math.abs(d - 2 * Math.PI);
    if (d > worst) worst = d;
  }
  return worst;
}

/**
 * The training geometry of lowest energy, rebuilt from atom 1's features. When every atom's
 * training row i rebuilds to the same geometry (ichor sets: one geometry per row for all atoms),
 * "lowest" means lowest total energy Σ_A y_A,i; otherwise the lowest energy of atom 1.
 */
export function lowestTrainingGeometry(set: ModelSet): TrainingStart {
  const models = set.models;
  const first = models[0]!;
  const n = set.nAtoms;
  const alfs = models.map((m) => m.alf.map((a) => a - 1));
  const nTrain = first.nTrain;
  let aligned = models.every((m) => m.nTrain === nTrain);
  const K = first.nFeatures;
  const total = new Float64Array(nTrain);
  for (let i = 0; i < nTrain && aligned; i++) {
    const pos = geometryFromAlfFeatures(first.trainX.subarray(i * K, (i + 1) * K), alfs[0]!, n);
    const bohr = pos.map((v) => v / ANGSTROM_PER_BOHR);
    const feats = computeFeatures(bohr, alfs);
    for (let a = 0; a < n && aligned; a++) {
      if (featureMismatch(feats[a]!, models[a]!.trainX, i * K) > 1e-6) aligned = false;
      total[i] = total[i]! + models[a]!.trainY[i]!;
    }
  }
  const energy = aligned ? total : first.trainY;
  let best = 0;
  for (let i = 1; i < nTrain; i++) if (energy[i]! < energy[best]!) best = i;
  return {
    positionsA: geometryFromAlfFeatures(first.trainX.subarray(best * K, (best + 1) * K), alfs[0]!, n),
    index: best,
    aligned,
    energyHa: energy[best]!,
  };
}

export interface StartGeometry {
  symbols: string[];
  positionsA: Float64Array;
  /** How it was obtained, for the record. */
  source: string;
}

/**
 * The minimum of a model set: L-BFGS (fmax 0.1 kcal/mol/Å) from the lowest-energy training
 * geometry. If the optimiser does not converge, the training geometry itself is used.
 */
export function modelSetMinimum(set: ModelSet): StartGeometry {
  const t = lowestTrainingGeometry(set);
  const potential = new GpPotential({ systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors });
  const what = `training point ${t.index + 1} (lowest ${t.aligned ? 'total' : `${set.atoms[0]} atomic`} energy, rebuilt from ${set.atoms[0]}'s ALF features)`;
  let opt: ReturnType<typeof lbfgs> | undefined;
  try {
    opt = lbfgs(potential, t.positionsA, { fmaxKcalPerMolPerA: 0.1, energyTolKcalPerMol: 1e-4, maxSteps: 2000, maxStepA: 0.05 });
  } catch (e) {
    if (!(e instanceof AtomgpError)) throw e;
  }
  if (opt?.converged) {
    return {
      symbols: [...set.symbols],
      positionsA: opt.positionsA,
      source: `minimum of the original models: L-BFGS from ${what}, ${opt.steps} steps, ${(opt.initialEnergyKcalPerMol - opt.energyKcalPerMol).toFixed(3)} kcal/mol lower, max force ${opt.fmaxKcalPerMolPerA.toExponential(2)} kcal/mol/Å`,
    };
  }
  return { symbols: [...set.symbols], positionsA: t.positionsA, source: `${what}; L-BFGS on the original models did not converge (${opt?.message ?? 'failed'}), so the training geometry is used` };
}

// ───────────────────────────── restoring forces and errors ─────────────────────────────

export interface RestoringEntry {
  prior: string;
  /** E(distorted) − E(start), kcal/mol: positive when the distortion is uphill. */
  energy_rise_kcal_per_mol: number;
  n_displaced: number;
  n_restoring: number;
  fraction_restoring: number | null;
  max_abs_force_kcal_per_mol_per_A: number;
  bonds: Array<{
    atoms: [number, number];
    length_A: number;
    reference_A: number;
    force_kcal_per_mol_per_A: number;
    /** null for bonds at their reference length (nothing to restore). */
    restoring: boolean | null;
    verdict: string;
  }>;
}

/** Forces of `potential` at the distorted start projected on the bonds of the undistorted start. */
export function restoringEntry(prior: string, potential: Potential, startA: Float64Array, distortedA: Float64Array, bonds: readonly Bond[]): RestoringEntry {
  const res = createResult(potential.nAtoms);
  potential.compute(startA, res, false);
  const e0 = res.energyHa;
  potential.compute(distortedA, res, true);
  const reference = bonds.map(([i, j]) => Math.hypot(startA[3 * j]! - startA[3 * i]!, startA[3 * j + 1]! - startA[3 * i + 1]!, startA[3 * j + 2]! - startA[3 * i + 2]!));
  const s = restoringForces(distortedA, res.forcesHaPerBohr, bonds, reference);
  return {
    prior,
    energy_rise_kcal_per_mol: (res.energyHa - e0) * KCAL_PER_MOL_PER_HARTREE,
    n_displaced: s.nDisplaced,
    n_restoring: s.nRestoring,
    fraction_restoring: s.fractionRestoring,
    max_abs_force_kcal_per_mol_per_A: s.maxAbsForceKcalPerMolPerA,
    bonds: s.bonds.map((b) => ({
      atoms: [b.i + 1, b.j + 1],
      length_A: b.lengthA,
      reference_A: b.referenceA,
      force_kcal_per_mol_per_A: b.bondForceKcalPerMolPerA,
      restoring: b.verdict === 'at-reference' ? null : b.verdict === 'restoring',
      verdict: b.verdict,
    })),
  };
}

export interface ErrorEntry {
  /** Prior label, with the atom for atomic errors (`max N1`), as the report shows it. */
  prior: string;
  prior_mean: string;
  /** `molecule` or an atom label. */
  target: string;
  /** `validation set` or `training set, leave-one-out`. */
  set: string;
  source: string;
  n: number;
  mae_kcal_per_mol: number;
  rmse_kcal_per_mol: number;
  max_abs_kcal_per_mol: number;
  abs_errors_kcal_per_mol: number[];
}

/**
 * Leave-one-out residuals y_i − μ₋ᵢ(x_i) of a GP on its own training set: [K⁻¹(y − m)]_i / [K⁻¹]_ii
 * (Rasmussen & Williams eq. 5.12), with K = k(X, X) + σ²I as the model states it. Ha.
 */
export function leaveOneOutResiduals(model: GpModel, periodicPrefactor: PeriodicPrefactor): Float64Array {
  const n = model.nTrain;
  const K = model.nFeatures;
  const kernel = compileModelKernel(model, periodicPrefactor);
  const mat = new Float64Array(n * n);
  const noise = statedNoise(model);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = kernel.value(model.trainX, i * K, model.trainX, j * K);
      mat[i * n + j] = v;
      mat[j * n + i] = v;
    }
    mat[i * n + i] = mat[i * n + i]! + noise;
  }
  const factor = new Float64Array(n * n);
  choleskyWithJitter(mat, n, factor, { what: `kernel matrix of ${model.atom}` });
  const alpha = new Float64Array(n);
  const mean = evaluateMeanRows(model.mean, model.trainX, n, K);
  for (let i = 0; i < n; i++) alpha[i] = model.trainY[i]! - mean[i]!;
  choleskySolve(factor, n, alpha);
  inverseFromCholesky(factor, n, mat);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = alpha[i]! / mat[i * n + i]!;
  return out;
}

function errorEntry(priorLabel: string, prior: string, target: string, set: string, source: string, residualHa: ArrayLike<number>): ErrorEntry {
  const n = residualHa.length;
  const abs = Array.from(residualHa, (r) => Math.abs(r) * KCAL_PER_MOL_PER_HARTREE);
  let sum = 0;
  let sum2 = 0;
  let max = 0;
  for (const a of abs) {
    sum += a;
    sum2 += a * a;
    if (a > max || Number.isNaN(a)) max = a;
  }
  return {
    prior: target === 'molecule' ? priorLabel : `${priorLabel} ${target}`,
    prior_mean: prior,
    target,
    set,
    source,
    n,
    mae_kcal_per_mol: sum / n,
    rmse_kcal_per_mol: Math.sqrt(sum2 / n),
    max_abs_kcal_per_mol: max,
    abs_errors_kcal_per_mol: abs,
  };
}

/** Training geometries line up across atoms (same count); checked again on the refit set. */
function alignedRows(set: ModelSet): boolean {
  return set.models.every((m) => m.nTrain === set.models[0]!.nTrain) && lowestTrainingGeometry(set).aligned;
}

/** Leave-one-out errors: molecular (Σ over atoms) when the rows are aligned, else per atom. */
export function leaveOneOutErrors(priorLabel: string, prior: string, set: ModelSet): ErrorEntry[] {
  const res = set.models.map((m, a) => leaveOneOutResiduals(m, set.periodicPrefactors[a] ?? 4));
  const what = 'training set, leave-one-out';
  if (alignedRows(set)) {
    const total = new Float64Array(res[0]!.length);
    for (const r of res) for (let i = 0; i < r.length; i++) total[i] = total[i]! + r[i]!;
    return [errorEntry(priorLabel, prior, 'molecule', what, set.dir, total)];
  }
  return res.map((r, a) => errorEntry(priorLabel, prior, set.atoms[a]!, what, set.models[a]!.source ?? set.dir, r));
}

export interface ValidationSet {
  /** Atom label the set belongs to. */
  atom: string;
  file: string;
  x: Float64Array;
  y: Float64Array;
  n: number;
}

/**
 * Validation CSVs (ichor/FEREBUS, `SYSTEM_ATOM_VALIDATION_SET.csv`) for the atoms of a model set:
 * a file or a folder of them; the atom is the file-name token equal to an atom label.
 */
export function readValidationSets(pathOrDir: string, atoms: readonly string[], nFeatures: number): ValidationSet[] {
  if (!existsSync(pathOrDir)) throw new AtomgpError(`--validation: '${pathOrDir}' does not exist (expected a CSV file or a folder of *_VALIDATION_SET.csv files)`);
  const files = statSync(pathOrDir).isDirectory()
    ? readdirSync(pathOrDir)
        .filter((f) => f.toLowerCase().endsWith('.csv'))
        .sort()
        .map((f) => join(pathOrDir, f))
    : [pathOrDir];
  if (files.length === 0) throw new AtomgpError(`--validation: no .csv files in ${pathOrDir}`);
  const out: ValidationSet[] = [];
  for (const file of files) {
    const tokens = basename(file).replace(/\.csv$/i, '').split(/[_.\s-]+/).map((t) => t.toUpperCase());
    const atom = atoms.find((a) => tokens.includes(a.toUpperCase()));
    if (!atom) throw new AtomgpError(`${file}: cannot tell which atom this validation set is for (expected an atom label ${atoms.join(', ')} in the file name, e.g. SYSTEM_${atoms[0]}_VALIDATION_SET.csv)`);
    if (out.some((v) => v.atom === atom)) throw new AtomgpError(`--validation: two validation sets for atom ${atom} (${out.find((v) => v.atom === atom)!.file} and ${file})`);
    const set = readPropertyCsv(file, { property: 'iqa', rejectDuplicates: false });
    if (set.nFeatures !== nFeatures) throw new AtomgpError(`${file}: ${set.nFeatures} features, but the models of this molecule have ${nFeatures}`);
    out.push({ atom, file, x: set.x, y: set.y, n: set.n });
  }
  return out;
}

/** Errors on validation sets: molecular when every atom has a set of the same size, else per atom. */
export function validationErrors(priorLabel: string, prior: string, set: ModelSet, sets: readonly ValidationSet[]): ErrorEntry[] {
  const residuals = sets.map((v) => {
    const a = set.atoms.indexOf(v.atom);
    const pred = predictRows(set.models[a]!, v.x, v.n, set.periodicPrefactors[a] ?? 4);
    return Float64Array.from(pred, (p, i) => p - v.y[i]!);
  });
  const molecular = sets.length === set.nAtoms && sets.every((v) => v.n === sets[0]!.n);
  if (molecular) {
    const total = new Float64Array(sets[0]!.n);
    for (const r of residuals) for (let i = 0; i < r.length; i++) total[i] = total[i]! + r[i]!;
    return [errorEntry(priorLabel, prior, 'molecule', 'validation set', sets.map((v) => v.file).join(', '), total)];
  }
  return sets.map((v, k) => errorEntry(priorLabel, prior, v.atom, 'validation set', v.file, residuals[k]!));
}

// ───────────────────────────── the MD matrix ─────────────────────────────

/** One row of the stability table (the schema src/report/report.ts reads). */
export interface StudyRow {
  prior: string;
  temperature_K: number;
  replica: number;
  survived: boolean;
  time_to_failure_ps: number | null;
  mean_temperature_K: number;
  /** Run folder relative to the study folder. */
  run_dir: string;
  seed: number;
  simulated_ps: number;
  failure: string | null;
  steps_per_second: number;
  /**
   * Per distorted bond (`O1-H2`), the first time, ps, it came back within the relaxation
   * tolerance of its undistorted length; null if it never did (in the simulated time).
   */
  relaxation_time_ps?: Record<string, number | null>;
}

export interface MatrixEntry {
  /** Label in the table. */
  prior: string;
  /** Folder name under `runsDir`. */
  dirName: string;
  potentialSpec: PotentialSpec;
}

export interface MatrixProgress {
  runsDone: number;
  runsTotal: number;
  runsSkipped: number;
  stepsDone: number;
  stepsTotal: number;
  stepsPerSecond: number;
  etaSeconds: number;
}

export interface MatrixOptions {
  entries: MatrixEntry[];
  symbols: string[];
  startPositionsA: Float64Array;
  temperaturesK: number[];
  replicas: number;
  steps: number;
  seed: number;
  /** Settings shared by all runs (`temperatureK` is set per run). */
  settings: IntegratorSettings;
  /** Folder holding <dirName>/T<temp>_r<rep>/. */
  runsDir: string;
  /** Folder the rows' run_dir is relative to (default: the parent of runsDir). */
  baseDir?: string;
  /** Skip finished runs (summary.json present), continue runs with a checkpoint, redo the rest. */
  resume?: boolean;
  workers?: number;
  logEvery?: number;
  trajStride?: number;
  checkpointEvery?: number;
  monitor?: Partial<MonitorOptions>;
  /** What the monitor measures against (the undistorted geometry) instead of the start. */
  monitorReference?: MonitorReference;
  /** Bonds whose first return to their reference length each run records (`relaxation_time_ps`). */
  bondReturn?: BondReturnSettings;
  onProgress?: (p: MatrixProgress) => void;
}

function readSummary(file: string): MdSummary {
  const raw = JSON.parse(readFileSync(file, 'utf8'), (_k, v) => (v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? Number(v) : v)) as MdSummary;
  return raw;
}

/** `O1-H2`: the bond's atoms, 1-based, with their symbols. */
export function bondLabel(symbols: readonly string[], [i, j]: Bond): string {
  return `${symbols[i]}${i + 1}-${symbols[j]}${j + 1}`;
}

function rowOf(entry: MatrixEntry, job: EnsembleJob, replica: number, s: MdSummary, baseDir: string): StudyRow {
  const watched = job.run.bondReturn;
  const times = s.bondReturnTimesFs;
  return {
    prior: entry.prior,
    temperature_K: s.temperatureK,
    replica,
    survived: s.survived,
    time_to_failure_ps: s.timeToFailureFs === null ? null : s.timeToFailureFs / 1000,
    mean_temperature_K: s.meanTemperatureK,
    run_dir: relativeDir(baseDir, job.run.outDir),
    seed: s.seed,
    simulated_ps: s.simulatedTimeFs / 1000,
    failure: s.failure ? `${s.failure.kind}: ${s.failure.reason}` : null,
    steps_per_second: s.stepsPerSecond,
    ...(watched && times
      ? { relaxation_time_ps: Object.fromEntries(watched.bonds.map((b, k) => [bondLabel(job.run.symbols, b), times[k] === null || times[k] === undefined ? null : times[k]! / 1000])) }
      : {}),
  };
}

function relativeDir(base: string, dir: string): string {
  const b = resolve(base);
  const d = resolve(dir);
  return d.startsWith(b + '/') ? d.slice(b.length + 1) : d;
}

/**
 * Run every entry × temperature × replica (seed + t·R + r, the same for every entry) on a pool of
 * ensemble workers. Returns one row per run in entry, temperature, replica order. With `resume`,
 * finished runs are read back, not rerun.
 */
export async function runStabilityMatrix(o: MatrixOptions): Promise<StudyRow[]> {
  const baseDir = o.baseDir ?? resolve(o.runsDir, '..');
  const masses = massesAmu(o.symbols);
  interface Planned {
    entry: MatrixEntry;
    job: EnsembleJob;
    replica: number;
    summary?: MdSummary;
  }
  const planned: Planned[] = [];
  for (const entry of o.entries) {
    const jobs = buildJobs({
      potentialSpec: entry.potentialSpec,
      symbols: o.symbols,
      massesAmu: masses,
      startPositionsA: o.startPositionsA,
      settings: o.settings,
      temperaturesK: o.temperaturesK,
      replicas: o.replicas,
      steps: o.steps,
      seed: o.seed,
      outDir: join(o.runsDir, entry.dirName),
      mode: 'new',
      ...(o.logEvery !== undefined ? { logEvery: o.logEvery } : {}),
      ...(o.trajStride !== undefined ? { trajStride: o.trajStride } : {}),
      ...(o.checkpointEvery !== undefined ? { checkpointEvery: o.checkpointEvery } : {}),
      ...(o.monitor !== undefined ? { monitor: o.monitor } : {}),
      ...(o.monitorReference !== undefined ? { monitorReference: o.monitorReference } : {}),
      ...(o.bondReturn !== undefined ? { bondReturn: o.bondReturn } : {}),
      // The hole criterion measures from each model's own minimum, searched from the undistorted geometry.
      energyMinimum: 'search',
    });
    jobs.forEach((job, k) => {
      const replica = k % o.replicas;
      const dir = job.run.outDir;
      let mode: OutputMode = 'new';
      let summary: MdSummary | undefined;
      if (o.resume && existsSync(join(dir, 'summary.json'))) {
        summary = readSummary(join(dir, 'summary.json'));
        if (summary.stepsRequested !== o.steps || summary.seed !== job.run.seed || summary.temperatureK !== job.run.settings.temperatureK) {
          throw new AtomgpError(`cannot resume: ${join(dir, 'summary.json')} records a different run (steps ${summary.stepsRequested}, seed ${summary.seed}, ${summary.temperatureK} K; expected ${o.steps}, ${job.run.seed}, ${job.run.settings.temperatureK} K)`);
        }
      } else if (o.resume && existsSync(join(dir, 'checkpoint.json'))) mode = 'resume';
      else if (o.resume && existsSync(dir)) mode = 'overwrite';
      job.run.mode = mode;
      job.run.label = `${entry.prior} ${runLabel(job.run.settings.temperatureK, replica)}`;
      planned.push({ entry, job: { ...job, id: planned.length }, replica, ...(summary ? { summary } : {}) });
    });
  }
  const todo = planned.filter((p) => !p.summary);
  const skipped = planned.length - todo.length;
  const stepsTotal = planned.length * o.steps;
  // stepsDone: for the ETA (a run that ended early, e.g. failed, counts whole); fresh: steps taken now.
  const stepsDone = new Float64Array(planned.length);
  const firstSeen = new Float64Array(planned.length).fill(-1);
  const fresh = new Float64Array(planned.length);
  for (const p of planned) if (p.summary) stepsDone[p.job.id] = o.steps;
  let runsDone = skipped;
  const t0 = performance.now();
  const report = (): void => {
    if (!o.onProgress) return;
    let done = 0;
    let taken = 0;
    for (let k = 0; k < planned.length; k++) {
      done += stepsDone[k]!;
      taken += fresh[k]!;
    }
    const elapsed = (performance.now() - t0) / 1000;
    const rate = elapsed > 0 ? taken / elapsed : 0;
    o.onProgress({ runsDone, runsTotal: planned.length, runsSkipped: skipped, stepsDone: done, stepsTotal, stepsPerSecond: rate, etaSeconds: rate > 0 ? (stepsTotal - done) / rate : Number.POSITIVE_INFINITY });
  };
  report();
  if (todo.length > 0) {
    mkdirSync(o.runsDir, { recursive: true });
    await runJobs(
      todo.map((p) => p.job),
      {
        workers: o.workers ?? 2,
        onStep: (job, step) => {
          if (firstSeen[job.id]! < 0) firstSeen[job.id] = step;
          stepsDone[job.id] = step;
          fresh[job.id] = step - firstSeen[job.id]!;
          report();
        },
        onDone: (job, summary) => {
          planned[job.id]!.summary = summary;
          stepsDone[job.id] = o.steps;
          fresh[job.id] = summary.stepsCompleted - (summary.resumedFromStep ?? 0);
          runsDone++;
          report();
        },
      },
    );
  }
  return planned.map((p) => rowOf(p.entry, p.job, p.replica, p.summary!, baseDir));
}

// ───────────────────────────── the whole study ─────────────────────────────

export interface RobustnessOptions {
  modelsDir: string;
  /** Prior texts (`default`, `min`, `shift:2sd`, …). */
  priors: string[];
  temperaturesK: number[];
  replicas: number;
  timePs: number;
  /** `--distort` text (analysis/distort.ts grammar). */
  distort: string;
  seed: number;
  outDir: string;
  resume?: boolean;
  timestepFs?: number;
  workers?: number;
  /** Keep each model's θ and σ² (only the mean and weights change); default false: θ re-optimised. */
  keepHyperparameters?: boolean;
  /** Start geometry file (XYZ/extxyz, first frame); default: the minimum of the original models. */
  startFile?: string;
  /** Validation CSV or folder of them. */
  validation?: string;
  /** Trajectory frame every N steps (default 20) and log line every N steps (default 10). */
  trajStride?: number;
  logEvery?: number;
  /** Checkpoint every N steps (default 2000) so an interrupted run can resume. */
  checkpointEvery?: number;
  /**
   * Monitor thresholds. The study always measures bonds, lengths, fragments and the energy
   * baseline against the undistorted start (see the module comment).
   */
  monitor?: Partial<MonitorOptions>;
  /** A distorted bond counts as relaxed when within this of its undistorted length, Å (default 0.1). */
  relaxationTolA?: number;
  /** Human-readable progress lines (refits, runs, steps/s, ETA). */
  onMessage?: (text: string) => void;
  onProgress?: (p: MatrixProgress) => void;
  /** Write report.html (default true). */
  report?: boolean;
}

/** What a resumed study must match (everything that changes a result). */
export interface RecordedSettings {
  atomgp_version: string;
  models: string;
  model_files: Array<{ file: string; bytes: number }>;
  priors: string[];
  prior_labels: string[];
  default_prior: string;
  keep_hyperparameters: boolean;
  temperatures_K: number[];
  replicas: number;
  time_ps: number;
  steps: number;
  timestep_fs: number;
  distortion: string;
  seed: number;
  start: string;
  validation: string | null;
  thermostat: Omit<IntegratorSettings, 'temperatureK'>;
  monitor: MonitorOptions;
  monitor_reference: string;
  relaxation_tol_A: number;
  log_every: number;
  traj_stride: number;
  checkpoint_every: number;
}

export interface StudyResult {
  study: StudyJson;
  studyFile: string;
  reportFile?: string;
}

export interface StudyJson {
  kind: 'robustness';
  molecule: string;
  atomgp_version: string;
  settings: Record<string, unknown>;
  start: {
    source: string;
    file: string;
    distorted_file: string;
    bonds: Array<[number, number]>;
    /** Bonds the distortion moved by more than 0.01 Å: atoms 1-based, undistorted and distorted lengths. */
    distorted_bonds: Array<{ bond: string; atoms: [number, number]; reference_A: number; distorted_A: number }>;
  };
  refits: Array<{ prior: string; atom: string; log_likelihood: number; mean: string; theta_kept: boolean }>;
  table: StudyRow[];
  summary: SummaryCell[];
  validation: ErrorEntry[];
  leave_one_out: ErrorEntry[];
  restoring: RestoringEntry[];
}

const SETTINGS_FILE = 'study-settings.json';

function diffSettings(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((k) => k !== 'atomgp_version' && JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${k}: recorded ${JSON.stringify(a[k])}, now ${JSON.stringify(b[k])}`);
}

function describeMean(m: GpModel): string {
  const mean = m.mean;
  if (mean.type === 'zero') return 'zero';
  if (mean.type === 'constant') return `constant ${mean.value.toFixed(6)} Ha`;
  return `${mean.type} (y_min ${mean.yMin.toFixed(6)} Ha, β ${Array.from(mean.beta, (b) => b.toExponential(2)).join(' ')})`;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

export interface SummaryCell {
  prior: string;
  temperature_K: number;
  survived: number;
  runs: number;
  median_time_to_failure_ps: number | null;
  /** Per distorted bond: runs in which it came back, and the median of their relaxation times, ps. */
  relaxation?: Array<{ bond: string; returned: number; runs: number; median_time_ps: number | null }>;
}

/** Survivors per prior and temperature (the stability matrix as numbers), with bond relaxation. */
export function summariseTable(rows: readonly StudyRow[]): SummaryCell[] {
  const out: SummaryCell[] = [];
  for (const r of rows) {
    let cell = out.find((c) => c.prior === r.prior && c.temperature_K === r.temperature_K);
    if (!cell) {
      cell = { prior: r.prior, temperature_K: r.temperature_K, survived: 0, runs: 0, median_time_to_failure_ps: null };
      out.push(cell);
    }
    cell.runs++;
    if (r.survived) cell.survived++;
  }
  for (const c of out) {
    const mine = rows.filter((r) => r.prior === c.prior && r.temperature_K === c.temperature_K);
    c.median_time_to_failure_ps = median(mine.filter((r) => !r.survived).map((r) => r.time_to_failure_ps!));
    const bonds = [...new Set(mine.flatMap((r) => Object.keys(r.relaxation_time_ps ?? {})))];
    if (bonds.length > 0) {
      c.relaxation = bonds.map((bond) => {
        const times = mine.map((r) => r.relaxation_time_ps?.[bond]).filter((t): t is number => typeof t === 'number');
        return { bond, returned: times.length, runs: mine.length, median_time_ps: median(times) };
      });
    }
  }
  return out;
}

/**
 * Text table of bond relaxation: one line per prior mean and distorted bond, one column per
 * temperature, each cell "returned/runs (median time, ps)". Empty when no bond was distorted.
 */
export function formatRelaxationTable(rows: readonly StudyRow[]): string {
  const cells = summariseTable(rows);
  const priors = [...new Set(cells.map((c) => c.prior))];
  const temps = [...new Set(cells.map((c) => c.temperature_K))].sort((a, b) => a - b);
  const bonds = [...new Set(cells.flatMap((c) => (c.relaxation ?? []).map((x) => x.bond)))];
  if (bonds.length === 0) return '';
  const head = ['prior mean', 'bond', ...temps.map((t) => `${t} K`)];
  const body: string[][] = [];
  for (const p of priors) {
    for (const b of bonds) {
      body.push([
        p,
        b,
        ...temps.map((t) => {
          const x = cells.find((c) => c.prior === p && c.temperature_K === t)?.relaxation?.find((y) => y.bond === b);
          if (!x) return '-';
          return `${x.returned}/${x.runs}${x.median_time_ps !== null ? ` (${formatPs(x.median_time_ps)} ps)` : ''}`;
        }),
      ]);
    }
  }
  const widths = head.map((h, k) => Math.max(h.length, ...body.map((r) => r[k]!.length)));
  const line = (r: string[]): string => r.map((c, k) => c.padEnd(widths[k]!)).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n') + '\n';
}

/** Relaxation times are fs to ps: 0.1 fs resolution below 0.01 ps, 1 fs above. */
function formatPs(t: number): string {
  return t >= 0.01 ? t.toFixed(3) : t.toFixed(4);
}

/** Text table: survivors / runs per prior (rows) and temperature (columns). */
export function formatStabilityTable(rows: readonly StudyRow[]): string {
  const cells = summariseTable(rows);
  const priors = [...new Set(cells.map((c) => c.prior))];
  const temps = [...new Set(cells.map((c) => c.temperature_K))].sort((a, b) => a - b);
  const head = ['prior mean', ...temps.map((t) => `${t} K`)];
  const body = priors.map((p) => [
    p,
    ...temps.map((t) => {
      const c = cells.find((x) => x.prior === p && x.temperature_K === t);
      if (!c) return '-';
      return `${c.survived}/${c.runs}${c.median_time_to_failure_ps !== null ? ` (${c.median_time_to_failure_ps.toFixed(2)} ps)` : ''}`;
    }),
  ]);
  const widths = head.map((h, k) => Math.max(h.length, ...body.map((r) => r[k]!.length)));
  const line = (r: string[]): string => r.map((c, k) => c.padEnd(widths[k]!)).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n') + '\n';
}

/** Run the whole study (see the module comment). */
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
  let start: StartGeometry;
  if (o.startFile) {
    const frame = readXyz(o.startFile)[0];
    if (!frame) throw new AtomgpError(`${o.startFile}: no frames`);
    if (frame.symbols.length !== original.nAtoms || frame.symbols.some((s, i) => s.toLowerCase() !== original.symbols[i]!.toLowerCase())) {
      throw new AtomgpError(`${o.startFile}: atoms ${frame.symbols.join(' ')} do not match the models' ${original.symbols.join(' ')} (same order needed)`);
    }
    start = { symbols: [...original.symbols], positionsA: frame.positionsA, source: `file ${resolve(o.startFile)}` };
  } else {
    start = modelSetMinimum(original);
  }
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
  const recorded: RecordedSettings = {
    atomgp_version: VERSION,
    models: modelsDir,
    model_files: original.models.map((m) => ({ file: basename(m.source ?? ''), bytes: m.source ? statSync(m.source).size : 0 })),
    priors: priors.map((p) => p.text),
    prior_labels: priors.map((p) => p.label),
    default_prior: DEFAULT_PRIOR,
    keep_hyperparameters: o.keepHyperparameters ?? false,
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
    if (diff.length > 0) throw new AtomgpError(`cannot resume the study in ${out}: its settings differ from the recorded ones (${settingsFile}):\n  ${diff.join('\n  ')}\nrun with the recorded settings, or use a new --out`);
  } else {
    if (existsSync(out) && readdirSync(out).length > 0) {
      throw new AtomgpError(`output folder ${out} is not empty${existsSync(settingsFile) ? ' (it holds a robustness study; pass --resume to continue it)' : ''}; choose a new --out`);
    }
    mkdirSync(out, { recursive: true });
    writeFileAtomic(settingsFile, JSON.stringify(recorded, null, 2) + '\n');
  }
  say(`start geometry: ${start.source}`);
  const startFile = join(out, 'start.extxyz');
  const distortedFile = join(out, 'start-distorted.extxyz');
  const frame = (positionsA: Float64Array, comment: string) => ({ symbols: start.symbols, positionsA, info: { comment }, arrays: {}, comment: '' });
  writeXyz(startFile, [frame(start.positionsA, 'start geometry')]);
  writeXyz(distortedFile, [frame(distorted, `distorted start: ${o.distort} seed ${o.seed}`)]);

  // 1. Refits (only the missing ones on a resume; a finished refit is renamed into place).
  const modelsRoot = join(out, 'models');
  mkdirSync(modelsRoot, { recursive: true });
  const missing = priors.filter((p) => !existsSync(join(modelsRoot, p.dirName)));
  const refitLog = join(modelsRoot, 'refits.json');
  const refits: StudyJson['refits'] = existsSync(refitLog) ? (JSON.parse(readFileSync(refitLog, 'utf8')) as StudyJson['refits']) : [];
  if (missing.length > 0) {
    const keep = o.keepHyperparameters ?? false;
    const tasks: TrainTask[] = [];
    for (const p of missing) for (const m of original.models) tasks.push({ kind: 'refit', model: m, opts: { prior: p.prior, keepHyperparameters: keep, seed: o.seed } });
    say(`refitting ${missing.length} model set${missing.length > 1 ? 's' : ''} (${tasks.length} atomic models, ${keep ? 'hyperparameters kept' : 'hyperparameters re-optimised'}) …`);
    let finished = 0;
    const t0 = performance.now();
    const results: TrainResult[] = await runTrainTasks(tasks, {
      jobs: Math.max(1, o.workers ?? 2),
      onDone: (i, r) => {
        finished++;
        const p = missing[Math.floor(i / original.nAtoms)]!;
        say(`refit ${finished}/${tasks.length}: ${p.label} ${r.model.atom} (log L ${r.logLikelihood.toFixed(2)}, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      },
    });
    missing.forEach((p, k) => {
      const partial = join(modelsRoot, `${p.dirName}.partial`);
      rmSync(partial, { recursive: true, force: true });
      mkdirSync(partial, { recursive: true });
      original.models.forEach((m, a) => {
        const r = results[k * original.nAtoms + a]!;
        writeModel(join(partial, basename(m.source ?? `${m.systemName}_${m.property}_${m.atom}.model`)), r.model);
        const rec = { prior: p.label, atom: r.model.atom, log_likelihood: r.logLikelihood, mean: describeMean(r.model), theta_kept: keep };
        const at = refits.findIndex((x) => x.prior === rec.prior && x.atom === rec.atom);
        if (at >= 0) refits[at] = rec;
        else refits.push(rec);
      });
      renameSync(partial, join(modelsRoot, p.dirName));
    });
    writeFileAtomic(refitLog, JSON.stringify(refits, null, 2) + '\n');
  } else say('refit model sets: all present (resume)');

  // 2. Restoring forces and errors per prior.
  const sets = priors.map((p) => readModelSet(join(modelsRoot, p.dirName), { property: 'iqa', check: true }));
  const restoring: RestoringEntry[] = [];
  const validation: ErrorEntry[] = [];
  const loo: ErrorEntry[] = [];
  const validationSets = o.validation ? readValidationSets(o.validation, original.atoms, original.models[0]!.nFeatures) : undefined;
  priors.forEach((p, k) => {
    const set = sets[k]!;
    const potential = new GpPotential({ systemName: set.systemName, models: set.models, symbols: set.symbols, periodicPrefactors: set.periodicPrefactors });
    restoring.push(restoringEntry(p.label, potential, start.positionsA, distorted, bonds));
    loo.push(...leaveOneOutErrors(p.label, p.prior, set));
    if (validationSets) validation.push(...validationErrors(p.label, p.prior, set, validationSets));
  });
  for (const r of restoring) say(`restoring forces, ${r.prior}: ${r.n_restoring}/${r.n_displaced} displaced bonds pushed back, distortion costs ${r.energy_rise_kcal_per_mol.toFixed(2)} kcal/mol`);

  // 3. The MD matrix.
  const rows = await runStabilityMatrix({
    entries: priors.map((p) => ({ prior: p.label, dirName: p.dirName, potentialSpec: { kind: 'gp-models', dir: join(modelsRoot, p.dirName) } })),
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
