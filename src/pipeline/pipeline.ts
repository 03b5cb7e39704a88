/**
 * The end-to-end pipeline behind `atomgp pipeline` and `atomgp demo`: a molecule → relaxed on a
 * reference potential → well-tempered metadynamics samples → labelled training and validation sets
 * → one GP per atom (atomic labels when the reference has an exact split, the additive model on
 * total energies otherwise) for each prior mean → validation against the reference → short NVT
 * runs → `demo.json` and an HTML report.
 *
 * Output folder (every stage writes its files atomically and is skipped on `resume` when its
 * output is already there, so a stopped pipeline loses nothing it has finished):
 *   molecule.xyz                      start geometry, relaxed on the reference (Å)
 *   sampling/frames.extxyz            all harvested frames with reference labels (Ha, Ha/bohr)
 *   data/train.extxyz, valid.extxyz   the selected sets; data/csv/ ichor-style CSV training sets
 *   models/<prior>/                   one `.model` per atom (property iqa)
 *   runs/<prior>/T<K>_r<NN>/          NVT runs (log.csv, trajectory.extxyz, summary.json)
 *   demo.json, report.html            the summary the report reads, and the report
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { assignAlf } from '../chem/alf-assign.js';
import { massesAmu } from '../chem/molecule.js';
import { findPresetName, presetMolecule } from '../chem/presets.js';
import { type BuiltMolecule, moleculeFromSmiles, moleculeFromXyz } from '../chem/smiles.js';
import { KCAL_PER_MOL_PER_HARTREE } from '../chem/units.js';
import { runEnsemble } from '../dynamics/ensemble.js';
import { DEFAULT_EQUILIBRATION } from '../dynamics/equilibrate.js';
import { DEFAULT_INTEGRATOR_SETTINGS } from '../dynamics/integrators.js';
import type { MdSummary } from '../dynamics/run.js';
import { AtomgpError } from '../errors.js';
import { additiveFeatures, trainAdditive } from '../gp/additive.js';
import type { GpModel } from '../gp/model.js';
import { DEFAULT_PRIOR, parsePrior } from '../gp/priors.js';
import { refitFromModel, type TrainResult } from '../gp/train.js';
import { runTrainTasks, type TrainTask } from '../gp/train-parallel.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { writeModel } from '../io/model.js';
import { writeXyz } from '../io/xyz.js';
import { lbfgs } from '../optimize/lbfgs.js';
import { builtinForceFieldSpec } from '../potentials/builtin-ff.js';
import { createPotential, type PotentialSpec } from '../potentials/factory.js';
import { createResult, type Potential } from '../potentials/potential.js';
import { type CvSpec, cvUnit } from '../sampling/cv.js';
import { atomNames, type LabelledFrame, readLabelledExtxyz, writeFerebusCsvSets, writeGaussianInputs, writeLabelledExtxyz } from '../sampling/export.js';
import { type SelectionRule, selectTrainingSets } from '../sampling/select.js';
import { DEFAULT_BOND_WALL, type HarvestedFrame, runWtmetad } from '../sampling/wtmetad.js';

export type ReferenceKind = 'builtin' | 'xtb';
export type LabelMode = 'atomic' | 'total' | 'auto';
export type PriorMode = 'same-hyperparameters' | 'retrain';

export interface PipelineSettings {
  /** Built-in molecule name (presets.ts), or undefined when `smiles`/`startFile` is given. */
  molecule?: string;
  smiles?: string;
  startFile?: string;
  reference: ReferenceKind;
  seed: number;
  /** WTMetaD: temperature, steps, time step, harvest interval, bias factor γ, hill height w0 and widths. */
  sampleTemperatureK: number;
  sampleSteps: number;
  sampleTimestepFs: number;
  harvestEvery: number;
  biasFactor: number;
  hillHeightKcalPerMol: number;
  /** Hill width for dihedral/angle CVs, degrees; for distance CVs, Å. */
  hillWidthDeg: number;
  hillWidthA: number;
  hillStrideSteps: number;
  /** Upper walls on the start bonds during sampling at this multiple of their length (0: none). */
  bondWallFactor: number;
  /** Collective variables; default: the preset's (for SMILES/XYZ: up to 3 heavy-atom torsions). */
  cvs?: CvSpec[];
  nTrain: number;
  nValid: number;
  selection: SelectionRule;
  /** Also write Gaussian inputs (`.gjf`, output=wfn for AIMAll) of the selected frames under data/gaussian/. */
  gaussian: boolean;
  /** Method and basis of those inputs (default B3LYP, 6-31+G(d,p), as the FFLUX data sets). */
  gaussianMethod: string;
  gaussianBasis: string;
  /** `atomic`: one GP per atom on the reference's atomic energies; `total`: additive GP on totals. */
  labels: LabelMode;
  /** Prior means to train; the first is the one the summary reports as default. */
  priors: string[];
  /** How priors after the first are made: same θ and σ² with only mean and weights refit, or a full retrain. */
  priorMode: PriorMode;
  restarts: number;
  maxIterations: number;
  /** σ² on the kernel diagonal; optimised within [1e-10, 1e-4] when `optimiseNoise`. */
  noise: number;
  optimiseNoise: boolean;
  /**
   * Lower bound of every θ (upper bound of the lengthscales ℓ = 1/√(2θ), bohr or rad). The prior
   * mean only acts where k(x*, X) → 0; with unbounded lengthscales the likelihood picks ℓ of several
   * bohr, the fit becomes an ill-conditioned polynomial-like surface and every prior collapses at
   * 1000 K (malondialdehyde, 200 points: all priors failed within 0.13 ps). θ ≥ 0.3 (ℓ ≤ 1.3 bohr)
   * keeps the validation MAE below 1 kcal/mol and lets the shifted prior restore bonds.
   */
  thetaMin: number;
  mdTemperaturesK: number[];
  mdTimePs: number;
  mdTimestepFs: number;
  replicas: number;
  workers: number;
}

export const DEMO_DEFAULTS: PipelineSettings = {
  molecule: 'malondialdehyde',
  reference: 'builtin',
  seed: 1,
  sampleTemperatureK: 500,
  sampleSteps: 100_000,
  sampleTimestepFs: 0.5,
  harvestEvery: 40,
  biasFactor: 10,
  hillHeightKcalPerMol: 0.5,
  hillWidthDeg: 15,
  hillWidthA: 0.1,
  hillStrideSteps: 200,
  bondWallFactor: DEFAULT_BOND_WALL.factor,
  nTrain: 1000,
  nValid: 500,
  selection: 'farthest',
  gaussian: false,
  gaussianMethod: 'B3LYP',
  gaussianBasis: '6-31+G(d,p)',
  labels: 'auto',
  priors: [DEFAULT_PRIOR, 'min'],
  priorMode: 'retrain',
  restarts: 2,
  maxIterations: 200,
  noise: 1e-10,
  optimiseNoise: false,
  thetaMin: 0.3,
  mdTemperaturesK: [1000],
  mdTimePs: 10,
  mdTimestepFs: 0.5,
  replicas: 3,
  workers: 2,
};

export interface PriorValidation {
  prior: string;
  n: number;
  mae_kcal_per_mol: number;
  rmse_kcal_per_mol: number;
  max_abs_kcal_per_mol: number;
  abs_errors_kcal_per_mol: number[];
  /** Mean absolute error of the atomic energies (atomic labels only), kcal/mol. */
  atomic_mae_kcal_per_mol?: number;
}

export interface DemoRun {
  prior: string;
  temperature_K: number;
  replica: number;
  survived: boolean;
  /** Simulated time, ps (up to the failure when it failed). */
  time_ps: number;
  time_to_failure_ps: number | null;
  failure: string | null;
  mean_temperature_K: number;
  run_dir: string;
}

export interface DemoSummary {
  kind: 'demo';
  molecule: string;
  formula: string;
  reference: string;
  labels: 'atomic' | 'total';
  n_atoms: number;
  n_features: number;
  n_frames: number;
  n_train: number;
  n_valid: number;
  default_prior: string;
  validation_mae_kcal_per_mol: number;
  validation: PriorValidation[];
  runs: DemoRun[];
  sampling: { cv_labels: string[]; cv_units: string[]; cv_values: number[][]; temperature_K: number; steps: number; hills: number };
  training: Array<{ prior: string; atoms: Array<{ atom: string; log_likelihood: number; wall_time_s: number }> }>;
  settings: PipelineSettings;
  timings_s: Record<string, number>;
  atomgp_version: string;
}

export interface PipelineHooks {
  /** One line per stage event (stderr in the CLI). */
  log?: (line: string) => void;
  /** Progress within a stage, for an updating bar: fraction 0..1 and a short text. */
  progress?: (stage: string, fraction: number, text: string) => void;
}

/** `shift:0.05` → `shift_0.05`: a prior name usable as a folder name. */
export function priorFolder(prior: string): string {
  return prior.replace(/[^A-Za-z0-9.+-]/g, '_');
}

function formulaOf(symbols: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const s of symbols) counts.set(s, (counts.get(s) ?? 0) + 1);
  const order = [...counts.keys()].sort((a, b) => (a === 'C' ? -1 : b === 'C' ? 1 : a === 'H' ? -1 : b === 'H' ? 1 : a.localeCompare(b)));
  return order.map((e) => `${e}${counts.get(e)! > 1 ? counts.get(e) : ''}`).join('');
}

/** Check settings before any work: every error a user can make is reported here, not mid-run. */
export function validateSettings(s: PipelineSettings): void {
  const given = [s.molecule, s.smiles, s.startFile].filter((v) => v !== undefined).length;
  if (given !== 1) throw new AtomgpError('give exactly one of --molecule NAME, --smiles S or --start FILE');
  if (s.molecule !== undefined && findPresetName(s.molecule) === undefined) presetMolecule(s.molecule); // throws the list of names
  if (s.reference !== 'builtin' && s.reference !== 'xtb') throw new AtomgpError(`--reference must be builtin or xtb, got '${s.reference}'`);
  const posInt = (name: string, v: number, min = 1): void => {
    if (!(Number.isInteger(v) && v >= min)) throw new AtomgpError(`${name} must be an integer ≥ ${min}, got ${v}`);
  };
  const posNum = (name: string, v: number): void => {
    if (!(Number.isFinite(v) && v > 0)) throw new AtomgpError(`${name} must be a number > 0, got ${v}`);
  };
  posInt('--sample-steps', s.sampleSteps);
  posInt('--harvest-every', s.harvestEvery);
  posInt('--n-train', s.nTrain, 2);
  posInt('--n-valid', s.nValid, 1);
  posInt('--replicas', s.replicas);
  posInt('--workers', s.workers);
  posInt('--restarts', s.restarts);
  posInt('--max-iterations', s.maxIterations);
  posNum('--sample-temperature-K', s.sampleTemperatureK);
  posNum('--bias-factor', s.biasFactor - 1);
  posNum('--hill-height', s.hillHeightKcalPerMol);
  if (!(s.bondWallFactor === 0 || (Number.isFinite(s.bondWallFactor) && s.bondWallFactor > 1))) {
    throw new AtomgpError(`--bond-wall must be 0 (no walls) or a factor > 1 (e.g. 1.3), got ${s.bondWallFactor}`);
  }
  posNum('--md-time-ps', s.mdTimePs);
  for (const t of s.mdTemperaturesK) posNum('--temperatures-K', t);
  if (s.priors.length === 0) throw new AtomgpError('no prior means given');
  for (const p of s.priors) parsePrior(p);
  const frames = Math.floor(s.sampleSteps / s.harvestEvery) + 1;
  if (frames < s.nTrain + s.nValid) {
    throw new AtomgpError(
      `sampling ${s.sampleSteps} steps, harvesting every ${s.harvestEvery}, gives ${frames} frames, fewer than ${s.nTrain} training + ${s.nValid} validation; sample longer or harvest more often`,
    );
  }
}

async function buildMolecule(s: PipelineSettings): Promise<{ mol: BuiltMolecule; cvs: CvSpec[]; name: string }> {
  if (s.molecule !== undefined) {
    const p = presetMolecule(s.molecule);
    return { mol: p, cvs: s.cvs ?? p.cvs.map((c) => ({ kind: c.kind, atoms: [...c.atoms], label: c.label })), name: p.name };
  }
  const mol = s.smiles !== undefined ? await moleculeFromSmiles(s.smiles, { seed: s.seed }) : moleculeFromXyz(s.startFile!);
  return { mol, cvs: s.cvs ?? torsionCvs(mol), name: mol.name || 'molecule' };
}

/**
 * Default CVs for a molecule without a preset: up to three torsions about single bonds between
 * heavy atoms that both have another heavy neighbour (the rotatable backbone), most central first.
 */
export function torsionCvs(mol: BuiltMolecule): CvSpec[] {
  const n = mol.symbols.length;
  const heavy = (i: number): boolean => mol.symbols[i] !== 'H';
  const nb: number[][] = Array.from({ length: n }, () => []);
  for (const [a, b] of mol.bonds) {
    nb[a]!.push(b);
    nb[b]!.push(a);
  }
  const out: CvSpec[] = [];
  mol.bonds.forEach(([j, k], bi) => {
    if ((mol.bondOrders[bi] ?? 1) !== 1 || !heavy(j) || !heavy(k)) return;
    const i = nb[j]!.find((x) => x !== k && heavy(x));
    const l = nb[k]!.find((x) => x !== j && heavy(x));
    if (i === undefined || l === undefined) return;
    out.push({ kind: 'dihedral', atoms: [i, j, k, l], label: `${mol.symbols[i]}${i + 1}-${mol.symbols[j]}${j + 1}-${mol.symbols[k]}${k + 1}-${mol.symbols[l]}${l + 1}` });
  });
  if (out.length === 0 && n >= 3) {
    // no rotatable bond: bias the first bond length (samples stretched geometries)
    const [a, b] = mol.bonds[0]!;
    out.push({ kind: 'distance', atoms: [a, b], label: `${mol.symbols[a]}${a + 1}-${mol.symbols[b]}${b + 1}` });
  }
  return out.slice(0, 3);
}

function referenceSpec(s: PipelineSettings, mol: BuiltMolecule): PotentialSpec {
  if (s.reference === 'builtin') return { kind: 'builtin-ff', spec: builtinForceFieldSpec([...mol.symbols], mol.positionsA, mol.bonds.map(([a, b]) => [a, b] as [number, number]), [...mol.bondOrders]) };
  return { kind: 'xtb', spec: { symbols: [...mol.symbols] } };
}

function elapsed(t0: number): number {
  return Math.round((performance.now() - t0) / 10) / 100;
}

/** Absolute-error statistics of molecular energies, kcal/mol. */
function errorStats(pred: Float64Array, ref: Float64Array): { mae: number; rmse: number; max: number; abs: number[] } {
  const abs: number[] = [];
  let s = 0;
  let s2 = 0;
  let m = 0;
  for (let i = 0; i < pred.length; i++) {
    const e = Math.abs(pred[i]! - ref[i]!) * KCAL_PER_MOL_PER_HARTREE;
    abs.push(e);
    s += e;
    s2 += e * e;
    m = Math.max(m, e);
  }
  return { mae: s / pred.length, rmse: Math.sqrt(s2 / pred.length), max: m, abs };
}

/** Frames → per-atom feature rows (n × K each) through the models' ALFs. */
function featuresOf(symbols: string[], frames: readonly LabelledFrame[], alfs: number[][]) {
  return additiveFeatures(
    symbols,
    frames.map((f) => f.positionsA),
    alfs,
  );
}

/**
 * Run the pipeline into `outDir`. `mode`: `new` refuses a folder that already holds a pipeline,
 * `overwrite` replaces atomgp's files in it, `resume` reuses every finished stage.
 */
export async function runPipeline(s: PipelineSettings, outDir: string, mode: 'new' | 'overwrite' | 'resume', hooks: PipelineHooks = {}): Promise<DemoSummary> {
  validateSettings(s);
  const log = hooks.log ?? (() => {});
  const timings: Record<string, number> = {};
  const ours = ['molecule.xyz', 'sampling', 'data', 'models', 'runs', 'demo.json', 'report.html'];
  if (existsSync(outDir)) {
    const present = readdirSync(outDir).filter((f) => ours.includes(f));
    if (mode === 'new' && present.length > 0) {
      throw new AtomgpError(`output folder ${outDir} already holds a pipeline run (${present.join(', ')}); pass --overwrite to replace it or --resume to continue it`);
    }
    if (mode === 'overwrite') for (const f of present) rmSync(join(outDir, f), { recursive: true, force: true });
  }
  mkdirSync(outDir, { recursive: true });

  // 1. molecule and reference
  let t0 = performance.now();
  const { mol, cvs, name } = await buildMolecule(s);
  const symbols = [...mol.symbols];
  const n = symbols.length;
  if (n < 3) throw new AtomgpError(`${name}: the pipeline needs at least 3 atoms (ALF features), got ${n}`);
  const masses = massesAmu(symbols);
  const refSpec = referenceSpec(s, mol);
  const reference = await createPotential(refSpec);
  const labels: 'atomic' | 'total' = s.labels === 'auto' ? (s.reference === 'builtin' ? 'atomic' : 'total') : s.labels;
  log(`molecule ${name} (${formulaOf(symbols)}, ${n} atoms), reference ${reference.description}, ${labels === 'atomic' ? 'atomic-energy labels' : 'total-energy labels (additive GP)'}`);
  const alfs = assignAlf(symbols, mol.bonds);
  const relaxed = lbfgs(reference, mol.positionsA, { fmaxKcalPerMolPerA: 0.5, maxSteps: 500 });
  const start = relaxed.positionsA;
  writeXyz(join(outDir, 'molecule.xyz'), [{ symbols, positionsA: start, info: { name, energy_Ha: relaxed.energyKcalPerMol / KCAL_PER_MOL_PER_HARTREE, reference: reference.description }, arrays: {}, comment: '' }]);
  log(`relaxed on the reference in ${relaxed.steps} steps (max force ${relaxed.fmaxKcalPerMolPerA.toFixed(3)} kcal/mol/Å)`);
  timings['molecule_s'] = elapsed(t0);

  // 2. WTMetaD sampling on the reference
  t0 = performance.now();
  const framesFile = join(outDir, 'sampling', 'frames.extxyz');
  let frames: LabelledFrame[];
  let nHills = 0;
  if (mode === 'resume' && existsSync(framesFile)) {
    frames = readLabelledExtxyz(framesFile).frames;
    log(`sampling: reusing ${frames.length} frames from ${framesFile}`);
  } else {
    const widths = cvs.map((c) => (cvUnit(c) === 'rad' ? (s.hillWidthDeg * Math.PI) / 180 : s.hillWidthA));
    log(
      `sampling: WTMetaD ${s.sampleSteps} steps × ${s.sampleTimestepFs} fs at ${s.sampleTemperatureK} K, γ = ${s.biasFactor}, CVs ${cvs.map((c) => c.label ?? c.kind).join(', ')}`,
    );
    const r = runWtmetad({
      potential: reference,
      symbols,
      massesAmu: masses,
      startPositionsA: start,
      cvs,
      temperatureK: s.sampleTemperatureK,
      biasFactor: s.biasFactor,
      hillHeightKcalPerMol: s.hillHeightKcalPerMol,
      hillWidths: widths,
      strideSteps: s.hillStrideSteps,
      timestepFs: s.sampleTimestepFs,
      steps: s.sampleSteps,
      harvestEvery: s.harvestEvery,
      seed: s.seed,
      ...(s.bondWallFactor > 0 ? { bondWalls: { factor: s.bondWallFactor } } : {}),
      onProgress: (step, nFrames) => hooks.progress?.('sampling', step / s.sampleSteps, `${nFrames} frames`),
      progressEvery: 500,
    });
    frames = r.frames as HarvestedFrame[];
    nHills = r.hills.heightsKcalPerMol.length;
    mkdirSync(join(outDir, 'sampling'), { recursive: true });
    writeLabelledExtxyz(framesFile, symbols, frames, { reference: reference.description });
    if (!r.completed) {
      throw new AtomgpError(
        `${r.error?.message ?? `sampling stopped at step ${r.stepsCompleted} of ${s.sampleSteps} (${r.failure?.kind ?? 'failure'})`} Frames so far: ${framesFile}.`,
      );
    }
    log(`sampling: ${frames.length} frames, ${nHills} hills, mean T ${r.meanTemperatureK.toFixed(0)} K, ${r.wallSeconds.toFixed(1)} s`);
  }
  timings['sampling_s'] = elapsed(t0);

  // 3. training and validation sets
  t0 = performance.now();
  const sel = selectTrainingSets(frames, s.nTrain, s.nValid, s.selection, s.seed);
  const train = sel.train.map((i) => frames[i]!);
  const valid = sel.valid.map((i) => frames[i]!);
  mkdirSync(join(outDir, 'data'), { recursive: true });
  writeLabelledExtxyz(join(outDir, 'data', 'train.extxyz'), symbols, train, { selection: sel.rule });
  writeLabelledExtxyz(join(outDir, 'data', 'valid.extxyz'), symbols, valid, { selection: sel.rule });
  const system = name.toUpperCase().replace(/[^A-Z0-9]/g, '');
  if (labels === 'atomic') {
    const idx = (k: number): number[] => Array.from({ length: k }, (_, i) => i);
    mkdirSync(join(outDir, 'data', 'csv'), { recursive: true });
    writeFerebusCsvSets(join(outDir, 'data', 'csv'), system, symbols, alfs, [...train, ...valid], idx(train.length), idx(valid.length).map((i) => i + train.length));
  }
  if (s.gaussian) {
    const g = { method: s.gaussianMethod, basisSet: s.gaussianBasis };
    for (const [what, set] of [['train', train], ['valid', valid]] as const) {
      const dir = join(outDir, 'data', 'gaussian', what);
      mkdirSync(dir, { recursive: true });
      writeGaussianInputs(dir, system, symbols, set, g);
    }
    log(`data: Gaussian inputs (${s.gaussianMethod}/${s.gaussianBasis}, output=wfn) in ${join(outDir, 'data', 'gaussian')}`);
  }
  log(`data: ${train.length} training + ${valid.length} validation frames (${sel.rule}: ${sel.descriptor})`);
  timings['selection_s'] = elapsed(t0);

  // 4. training, one model set per prior
  t0 = performance.now();
  const xTrain = featuresOf(symbols, train, alfs);
  const K = xTrain[0]!.x.length / train.length;
  const names = atomNames(symbols);
  const trainingRecord: DemoSummary['training'] = [];
  const priorDirs = new Map<string, string>();
  let firstModels: GpModel[] | undefined;
  for (const [pi, prior] of s.priors.entries()) {
    const dir = join(outDir, 'models', priorFolder(prior));
    priorDirs.set(prior, dir);
    const files = names.map((a) => join(dir, `${system}_iqa_${a}.model`));
    if (mode === 'resume' && files.every((f) => existsSync(f))) {
      log(`training ${prior}: reusing ${dir}`);
      continue;
    }
    const tp = performance.now();
    let models: GpModel[];
    const atomsRecord: Array<{ atom: string; log_likelihood: number; wall_time_s: number }> = [];
    if (labels === 'atomic') {
      let results: TrainResult[];
      if (pi > 0 && s.priorMode === 'same-hyperparameters' && firstModels) {
        results = firstModels.map((m) => refitFromModel(m, { prior, keepHyperparameters: true }));
      } else {
        const tasks: TrainTask[] = names.map((atom, a) => ({
          kind: 'train',
          input: {
            x: xTrain[a]!.x,
            y: Float64Array.from(train, (f) => f.atomicEnergiesHa![a]!),
            nFeatures: K,
            kernel: 'rbf-cyclic',
            prior,
            likelihood: 'marginal',
            noise: s.noise,
            optimiseNoise: s.optimiseNoise,
            thetaBounds: [s.thetaMin, 1e3],
            noiseBounds: [1e-10, 1e-4],
            restarts: s.restarts,
            maxIterations: s.maxIterations,
            seed: s.seed + a,
            systemName: system,
            atom,
            property: 'iqa',
            alf: alfs[a]!,
            nAtoms: n,
            notes: [`reference ${reference.description}`, 'labels atomic energies of the reference (equal-share split)'],
          },
        }));
        let done = 0;
        results = await runTrainTasks(tasks, {
          jobs: s.workers,
          onDone: (i, r) => {
            done++;
            hooks.progress?.(`training ${prior}`, done / tasks.length, `${names[i]} log L ${r.logLikelihood.toFixed(1)}`);
          },
        });
      }
      models = results.map((r) => r.model);
      results.forEach((r, a) => {
        atomsRecord.push({ atom: names[a]!, log_likelihood: r.logLikelihood, wall_time_s: r.wallTimeS });
      });
    } else {
      const r = trainAdditive({
        atoms: xTrain,
        nFeatures: K,
        yTotalHa: Float64Array.from(train, (f) => f.energyHa!),
        prior,
        noise: s.noise,
        optimiseNoise: s.optimiseNoise,
        thetaBounds: [s.thetaMin, 1e3],
        restarts: s.restarts,
        maxIterations: s.maxIterations,
        seed: s.seed,
        systemName: system,
        onProgress: (p) => hooks.progress?.(`training ${prior}`, (p.start - 1 + Math.min(1, p.iteration / s.maxIterations)) / p.starts, `log L ${p.logLikelihood.toFixed(1)}`),
      });
      models = r.models;
      for (const m of models) atomsRecord.push({ atom: m.atom, log_likelihood: r.logLikelihood, wall_time_s: r.wallTimeS / models.length });
    }
    if (pi === 0) firstModels = models;
    mkdirSync(dir, { recursive: true });
    models.forEach((m, a) => {
      writeModel(files[a]!, m);
    });
    trainingRecord.push({ prior, atoms: atomsRecord });
    log(`training ${prior}: ${models.length} models in ${((performance.now() - tp) / 1000).toFixed(1)} s → ${dir}`);
  }
  timings['training_s'] = elapsed(t0);

  // 5. validation of every prior's model set against the reference (molecular energies)
  t0 = performance.now();
  const validation: PriorValidation[] = [];
  const refE = Float64Array.from(valid, (f) => f.energyHa!);
  for (const prior of s.priors) {
    const gp = await createPotential({ kind: 'gp-models', dir: priorDirs.get(prior)! });
    const res = createResult(n);
    const pred = new Float64Array(valid.length);
    let atomicAbs = 0;
    valid.forEach((f, i) => {
      gp.compute(f.positionsA, res, false);
      pred[i] = res.energyHa;
      if (labels === 'atomic') for (let a = 0; a < n; a++) atomicAbs += Math.abs(res.atomicEnergiesHa[a]! - f.atomicEnergiesHa![a]!);
    });
    const st = errorStats(pred, refE);
    validation.push({
      prior,
      n: valid.length,
      mae_kcal_per_mol: st.mae,
      rmse_kcal_per_mol: st.rmse,
      max_abs_kcal_per_mol: st.max,
      abs_errors_kcal_per_mol: st.abs,
      ...(labels === 'atomic' ? { atomic_mae_kcal_per_mol: (atomicAbs / (valid.length * n)) * KCAL_PER_MOL_PER_HARTREE } : {}),
    });
    log(`validation ${prior}: molecular energy MAE ${st.mae.toFixed(3)} kcal/mol, RMSE ${st.rmse.toFixed(3)}, max ${st.max.toFixed(3)} (n = ${valid.length})`);
  }
  timings['validation_s'] = elapsed(t0);

  // 6. NVT runs with every prior's models
  t0 = performance.now();
  const runs: DemoRun[] = [];
  const steps = Math.round((s.mdTimePs * 1000) / s.mdTimestepFs);
  for (const prior of s.priors) {
    const runRoot = join(outDir, 'runs', priorFolder(prior));
    const labelsDone = new Map<string, MdSummary>();
    if (mode === 'resume' && existsSync(runRoot)) {
      for (const d of readdirSync(runRoot)) {
        const f = join(runRoot, d, 'summary.json');
        if (existsSync(f)) labelsDone.set(d, JSON.parse(readFileSync(f, 'utf8')) as MdSummary);
      }
    }
    let summaries: MdSummary[];
    const total = s.mdTemperaturesK.length * s.replicas;
    if (labelsDone.size === total) summaries = [...labelsDone.values()];
    else {
      log(`md ${prior}: ${total} NVT run(s) of ${s.mdTimePs} ps at ${s.mdTemperaturesK.join(', ')} K`);
      summaries = await runEnsemble({
        potentialSpec: { kind: 'gp-models', dir: priorDirs.get(prior)! },
        symbols,
        massesAmu: masses,
        startPositionsA: start,
        settings: { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt', timestepFs: s.mdTimestepFs, temperatureK: s.mdTemperaturesK[0]! },
        temperaturesK: s.mdTemperaturesK,
        replicas: s.replicas,
        steps,
        seed: s.seed,
        outDir: runRoot,
        mode: 'overwrite',
        workers: s.workers,
        // From the relaxed minimum: equilibrate first (no start-up overshoot), holes measured from the model's own minimum.
        equilibration: DEFAULT_EQUILIBRATION,
        energyMinimum: 'search',
        logEvery: 20,
        trajStride: 100,
        progressEvery: 1000,
        onProgress: (p) => hooks.progress?.(`md ${prior}`, p.stepsDone / p.stepsTotal, `${p.runsDone}/${p.runsTotal} runs, ${Math.round(p.stepsPerSecond)} steps/s`),
      });
    }
    for (const sm of summaries) {
      const replica = Number(/_r(\d+)$/.exec(sm.label ?? '')?.[1] ?? 0);
      runs.push({
        prior,
        temperature_K: sm.temperatureK,
        replica,
        survived: sm.survived,
        time_ps: sm.simulatedTimeFs / 1000,
        time_to_failure_ps: sm.timeToFailureFs === null ? null : sm.timeToFailureFs / 1000,
        failure: sm.failure ? `${sm.failure.kind}: ${sm.failure.reason}` : null,
        mean_temperature_K: sm.meanTemperatureK,
        run_dir: join('runs', priorFolder(prior), sm.label ?? ''),
      });
    }
    const ok = summaries.filter((x) => x.survived).length;
    log(`md ${prior}: ${ok}/${summaries.length} survived`);
  }
  timings['md_s'] = elapsed(t0);

  const { VERSION } = await import('../version.js');
  const summary: DemoSummary = {
    kind: 'demo',
    molecule: name,
    formula: formulaOf(symbols),
    reference: reference.description,
    labels,
    n_atoms: n,
    n_features: K,
    n_frames: frames.length,
    n_train: train.length,
    n_valid: valid.length,
    default_prior: s.priors[0]!,
    validation_mae_kcal_per_mol: validation[0]!.mae_kcal_per_mol,
    validation,
    runs,
    sampling: {
      cv_labels: cvs.map((c) => c.label ?? c.kind),
      cv_units: cvs.map((c) => cvUnit(c)),
      cv_values: frames.filter((f) => f.cvValues).map((f) => Array.from(f.cvValues!)),
      temperature_K: s.sampleTemperatureK,
      steps: s.sampleSteps,
      hills: nHills,
    },
    training: trainingRecord,
    settings: s,
    timings_s: timings,
    atomgp_version: VERSION,
  };
  writeFileAtomic(join(outDir, 'demo.json'), `${JSON.stringify(summary, null, 1)}\n`);
  try {
    const { writeReport } = await import('../report/report.js');
    writeReport(outDir);
  } catch (e) {
    log(`report: not written (${(e as Error).message})`);
  }
  if (reference instanceof Object && 'dispose' in reference && typeof (reference as { dispose?: unknown }).dispose === 'function') {
    (reference as Potential & { dispose: () => void }).dispose();
  }
  return summary;
}
