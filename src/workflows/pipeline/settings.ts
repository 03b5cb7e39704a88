/**
 * Settings and results of the pipeline behind `atomgp pipeline` and `atomgp demo` (what
 * demo.json holds), their defaults and their checks.
 */

import { findPresetName, presetMolecule } from '../../chem/presets.js';
import { AtomgpError } from '../../errors.js';
import type { BatchStatus, Executor } from '../../exec/executor.js';
import { DEFAULT_PRIOR, parsePrior } from '../../gp/fit/priors.js';
import { ALF_KERNELS, type AlfKernelName } from '../../gp/kernel/setup.js';
import { parseRepulsion, type RepulsionKind } from '../../gp/model/repulsion.js';
import type { PotentialSpec } from '../../potentials/factory.js';
import { parseIpiReference } from '../../potentials/ipi-driver.js';
import { DEFAULT_BOND_WALL } from '../../sampling/bias.js';
import type { CvSpec } from '../../sampling/cv.js';
import type { SelectionRule } from '../../sampling/select.js';
import type { ActiveRound } from './active.js';

/** The built-in force field, GFN2-xTB, or an i-PI client atomgp listens for (`ipi:unix:NAME`, `ipi:HOST:PORT`). */
export type ReferenceKind = 'builtin' | 'xtb' | `ipi:${string}`;
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
  /**
   * Sample proton transfer: every O/N-bonded hydrogen with another O/N within 2.5 Å at the relaxed
   * minimum (analysis/observables.ts protonSites) gets a CV d(donor, H) − d(H, acceptor) beside the
   * others, and its donor-bond wall becomes a wall on d(donor, H) + d(H, acceptor), so the
   * sampling crosses the transfer path instead of stopping at the wall (malondialdehyde's enol).
   * `auto` (default): for the hydrogens whose transfer the reference makes within 1 ns at the
   * highest MD temperature (proton-transfer.ts: a tautomer, and a barrier bound crossable by
   * transition-state theory); true: every labile hydrogen; false: none. The stages record the
   * resolved true/false.
   */
  protonTransfer: boolean | 'auto';
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
  /** Kernel of every atom's GP (gp/kernel/setup.ts alfKernel). */
  kernel: AlfKernelName;
  restarts: number;
  maxIterations: number;
  /** σ² on the kernel diagonal; optimised within [1e-10, 1e-4] when `optimiseNoise`. */
  noise: number;
  optimiseNoise: boolean;
  /**
   * Every model set's weights are refit on the training frames' energies (totals for the additive
   * GP, atomic energies for per-atom models) and forces (gp/fit/additive-forces.ts), θ kept, with
   * these noise levels: σ_E (Ha) of an energy, σ_F (Ha/bohr) of a force component. σ_F = 0: energies
   * only (the fit's own weights).
   */
  energySigmaHa: number;
  forceSigmaHaPerBohr: number;
  /**
   * Total-energy labels: σ_S (Ha) of the weak observation that each atom carries an equal share of
   * every frame's deviation from the total prior mean, added to that refit (gp/fit/additive-forces.ts
   * `splitSigmaHa`). Totals and forces leave the split among atoms open, and without it a shifted
   * prior sat below its own atom's energies for 6-9 of capped serine's 23 atoms (one by 44
   * kcal/mol): pulling such an atom out of the data region lowers the energy. Default 0.005 Ha:
   * at 0.016 the levels were right but a bond's energy was still shared between its two atoms
   * with opposite signs, and serine's O–H at 1.5 Å was not restored (docs/force-fit.md). 0: off.
   */
  splitSigmaHa: number;
  /**
   * Total-energy labels: each active round after the first, and the final default-prior model,
   * start the hyperparameter search from the previous round's θ (one start instead of `restarts`);
   * `coldStart` searches each from scratch.
   */
  coldStart: boolean;
  /**
   * Kernel reach c: every feature's θ_d·var_d ≥ c/K (K features per atom), so that the floor
   * means the same on a 3-atom and a 23-atom molecule (gp/fit/train-options.ts kernelReachBounds;
   * docs/study.md has the measurements behind the default 0.1). 0: none.
   */
  kernelReach: number;
  /**
   * An absolute lower bound of every θ (bohr⁻² or rad⁻²) instead of the kernel reach (0: none, the
   * default). The default before 2026-12-03 was 0.3; its Σ_d θ·var_d grows with the number of
   * features: ~0.01 on ammonia, ~1.3 on malondialdehyde, ~9.5 on capped serine (docs/study.md).
   */
  thetaMin: number;
  /**
   * Active learning (active.ts): rounds of NVT runs on the current default-prior model at the MD
   * temperatures, the reference on their frames, the worst-predicted (spread by farthest-point)
   * added to the training set, retrain. The training set stays at most `nTrain` geometries: the
   * fraction `activeFraction` of them comes from the rounds (activeFramesPerRound each), the rest
   * from the sampling. 0 rounds: the sampling's only.
   */
  activeRounds: number;
  activeFraction: number;
  /** Length of each exploration run (ps, after the equilibration) and runs per temperature. */
  activeTimePs: number;
  activeReplicas: number;
  /** A frame of the exploration runs every this many fs is a candidate. */
  activeStrideFs: number;
  /** Candidates whose |E_model − E_ref| is at most this (kcal/mol) are not added. */
  activeThresholdKcalPerMol: number;
  /**
   * The repulsive prior-mean term of every model set the pipeline runs (gp/model/repulsion.ts):
   * 'zbl' adds, for each pair closer than in any training geometry, the ZBL nuclear repulsion beyond
   * its tangent at that closest approach; zero inside the training data, so the fits are the same.
   * Used by the active rounds, validation, the NVT runs and the study's later stages. Default 'none'.
   */
  repulsion: RepulsionKind;
  mdTemperaturesK: number[];
  mdTimePs: number;
  mdTimestepFs: number;
  replicas: number;
  workers: number;
}

/** The `atomgp demo` defaults (the pipeline's defaults for every flag). */
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
  protonTransfer: 'auto',
  nTrain: 1000,
  nValid: 500,
  selection: 'farthest',
  gaussian: false,
  gaussianMethod: 'B3LYP',
  gaussianBasis: '6-31+G(d,p)',
  labels: 'auto',
  priors: [DEFAULT_PRIOR, 'min'],
  priorMode: 'retrain',
  kernel: 'rbf-periodic',
  restarts: 2,
  maxIterations: 200,
  noise: 1e-10,
  optimiseNoise: false,
  energySigmaHa: 1e-4,
  forceSigmaHaPerBohr: 1e-3,
  splitSigmaHa: 0.005,
  coldStart: false,
  kernelReach: 0.1,
  thetaMin: 0,
  activeRounds: 3,
  activeFraction: 0.3,
  activeTimePs: 2,
  activeReplicas: 2,
  activeStrideFs: 10,
  activeThresholdKcalPerMol: 1,
  repulsion: 'zbl',
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
  /** Active-learning rounds (empty without them). */
  active?: ActiveRound[];
  settings: PipelineSettings;
  timings_s: Record<string, number>;
  atomgp_version: string;
}

export interface PipelineHooks {
  /** One line per stage event (stderr in the CLI). */
  log?: (line: string) => void;
  /** Progress within a stage, for an updating bar: fraction 0..1 and a short text. */
  progress?: (stage: string, fraction: number, text: string) => void;
  /** Where training and the MD runs go (default: `workers` worker threads); not a recorded setting, like `workers`. */
  executor?: Executor;
  /** A Slurm batch's state after each look at the queue. */
  onBatchStatus?: (s: BatchStatus) => void;
  /** Aborting cancels the Slurm jobs. */
  signal?: AbortSignal;
}

/** The potential spec of a model folder the pipeline made, with the settings' repulsive prior term. */
export function modelSpec(s: Pick<PipelineSettings, 'repulsion'>, dir: string): PotentialSpec {
  return { kind: 'gp-models', dir, ...(s.repulsion !== 'none' ? { repulsion: s.repulsion } : {}) };
}

/** `shift:0.05` → `shift_0.05`: a prior name usable as a folder name. */
export function priorFolder(prior: string): string {
  return prior.replace(/[^A-Za-z0-9.+-]/g, '_');
}


/** The command-line flag of each setting, for messages (`--seed`, `--n-train`). */
export const SETTING_FLAGS: Readonly<Record<keyof PipelineSettings, string>> = {
  molecule: '--molecule',
  smiles: '--smiles',
  startFile: '--start',
  reference: '--reference',
  seed: '--seed',
  sampleTemperatureK: '--sample-temperature-K',
  sampleSteps: '--sample-steps',
  sampleTimestepFs: '--sample-timestep-fs',
  harvestEvery: '--harvest-every',
  biasFactor: '--bias-factor',
  hillHeightKcalPerMol: '--hill-height',
  hillWidthDeg: '--hill-width-deg',
  hillWidthA: '--hill-width-A',
  hillStrideSteps: '--hill-stride',
  bondWallFactor: '--bond-wall',
  protonTransfer: '--proton-transfer',
  cvs: 'collective variables',
  nTrain: '--n-train',
  nValid: '--n-valid',
  selection: '--selection',
  gaussian: '--gaussian',
  gaussianMethod: '--gaussian-method',
  gaussianBasis: '--gaussian-basis',
  labels: '--labels',
  priors: '--priors',
  priorMode: '--prior-mode',
  kernel: '--kernel',
  restarts: '--restarts',
  maxIterations: '--max-iterations',
  noise: '--noise',
  optimiseNoise: '--optimise-noise',
  energySigmaHa: '--energy-sigma-Ha',
  forceSigmaHaPerBohr: '--force-sigma-Ha-per-bohr',
  splitSigmaHa: '--split-sigma-Ha',
  coldStart: '--cold-start',
  kernelReach: '--kernel-reach',
  thetaMin: '--theta-min',
  activeRounds: '--active-rounds',
  activeFraction: '--active-fraction',
  activeTimePs: '--active-time-ps',
  activeReplicas: '--active-replicas',
  activeStrideFs: '--active-stride-fs',
  activeThresholdKcalPerMol: '--active-threshold',
  repulsion: '--repulsion',
  mdTemperaturesK: '--temperatures-K',
  mdTimePs: '--md-time-ps',
  mdTimestepFs: '--md-timestep-fs',
  replicas: '--replicas',
  workers: '--workers',
};

/** Training geometries taken from the sampling (the rest of `nTrain` comes from active learning). */
export function sampledTrainCount(s: PipelineSettings): number {
  return s.nTrain - s.activeRounds * activeFramesPerRound(s);
}

/** Geometries a round of active learning adds at most: activeFraction × nTrain over the rounds. */
export function activeFramesPerRound(s: PipelineSettings): number {
  return s.activeRounds > 0 ? Math.floor((s.activeFraction * s.nTrain) / s.activeRounds) : 0;
}

/** The labels a run uses: `auto` is atomic for the built-in reference, total for xtb. */
export function resolvedLabels(s: PipelineSettings): 'atomic' | 'total' {
  return s.labels === 'auto' ? (s.reference === 'builtin' ? 'atomic' : 'total') : s.labels;
}

/** `--reference builtin|xtb|ipi:unix:NAME|ipi:HOST:PORT` (an i-PI address is checked here, its atoms later). */
export function checkReference(reference: string): ReferenceKind {
  if (reference === 'builtin' || reference === 'xtb') return reference;
  if (reference.startsWith('ipi:')) {
    parseIpiReference(reference, []);
    return reference as ReferenceKind;
  }
  throw new AtomgpError(`--reference must be builtin, xtb, ipi:unix:NAME or ipi:HOST:PORT, got '${reference}'`);
}

/** Check settings before any work: every error a user can make is reported here, not mid-run. */
export function validateSettings(s: PipelineSettings): void {
  const given = [s.molecule, s.smiles, s.startFile].filter((v) => v !== undefined).length;
  if (given !== 1) throw new AtomgpError('give exactly one of --molecule NAME, --smiles S or --start FILE');
  if (s.molecule !== undefined && findPresetName(s.molecule) === undefined) presetMolecule(s.molecule); // throws the list of names
  checkReference(s.reference);
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
  if (!(Number.isFinite(s.kernelReach) && s.kernelReach >= 0)) throw new AtomgpError(`--kernel-reach must be a number ≥ 0 (0: off), got ${s.kernelReach}`);
  posNum('--energy-sigma-Ha', s.energySigmaHa);
  if (!(Number.isFinite(s.forceSigmaHaPerBohr) && s.forceSigmaHaPerBohr >= 0)) throw new AtomgpError(`--force-sigma-Ha-per-bohr must be a number ≥ 0 (0: energies only), got ${s.forceSigmaHaPerBohr}`);
  if (!(Number.isFinite(s.splitSigmaHa) && s.splitSigmaHa >= 0)) throw new AtomgpError(`--split-sigma-Ha must be a number ≥ 0 (0: off), got ${s.splitSigmaHa}`);
  if (!(Number.isFinite(s.thetaMin) && s.thetaMin >= 0)) throw new AtomgpError(`--theta-min must be a number ≥ 0 (0: no floor), got ${s.thetaMin}`);
  posNum('--sample-temperature-K', s.sampleTemperatureK);
  posNum('--bias-factor', s.biasFactor - 1);
  posNum('--hill-height', s.hillHeightKcalPerMol);
  if (!(s.bondWallFactor === 0 || (Number.isFinite(s.bondWallFactor) && s.bondWallFactor > 1))) {
    throw new AtomgpError(`--bond-wall must be 0 (no walls) or a factor > 1 (e.g. 1.3), got ${s.bondWallFactor}`);
  }
  posInt('--active-rounds', s.activeRounds, 0);
  if (!(Number.isFinite(s.activeFraction) && s.activeFraction > 0 && s.activeFraction < 1)) throw new AtomgpError(`--active-fraction must be a number in (0, 1), got ${s.activeFraction}`);
  posInt('--active-replicas', s.activeReplicas);
  posNum('--active-time-ps', s.activeTimePs);
  posNum('--active-stride-fs', s.activeStrideFs);
  if (!(Number.isFinite(s.activeThresholdKcalPerMol) && s.activeThresholdKcalPerMol >= 0)) {
    throw new AtomgpError(`--active-threshold must be a number ≥ 0 kcal/mol, got ${s.activeThresholdKcalPerMol}`);
  }
  if (s.activeRounds > 0 && activeFramesPerRound(s) < 2) {
    throw new AtomgpError(
      `--active-fraction ${s.activeFraction} of --n-train ${s.nTrain} over --active-rounds ${s.activeRounds} gives ${activeFramesPerRound(s)} geometries per round (at least 2 needed: the minimum and one more)`,
    );
  }
  if (s.activeRounds > 0 && s.activeStrideFs < s.mdTimestepFs) throw new AtomgpError(`--active-stride-fs ${s.activeStrideFs} is shorter than the time step ${s.mdTimestepFs} fs`);
  posNum('--md-time-ps', s.mdTimePs);
  for (const t of s.mdTemperaturesK) posNum('--temperatures-K', t);
  if (s.priors.length === 0) throw new AtomgpError('no prior means given');
  for (const p of s.priors) parsePrior(p);
  if (!(ALF_KERNELS as readonly string[]).includes(s.kernel)) throw new AtomgpError(`--kernel must be one of ${ALF_KERNELS.join(', ')}, got '${s.kernel}'`);
  parseRepulsion(s.repulsion, '--repulsion');
  if (!(s.protonTransfer === true || s.protonTransfer === false || s.protonTransfer === 'auto')) {
    throw new AtomgpError(`--proton-transfer must be true, false or auto, got '${String(s.protonTransfer)}'`);
  }
  if (!['farthest', 'random'].includes(s.selection)) throw new AtomgpError(`--selection must be farthest or random, got '${s.selection}'`);
  if (!['auto', 'atomic', 'total'].includes(s.labels)) throw new AtomgpError(`--labels must be auto, atomic or total, got '${s.labels}'`);
  if (s.labels === 'atomic' && s.reference !== 'builtin') throw new AtomgpError(`--labels atomic needs a reference with atomic energies (builtin); ${s.reference} gives total energies only`);
  if (!['same-hyperparameters', 'retrain'].includes(s.priorMode)) throw new AtomgpError(`--prior-mode must be same-hyperparameters or retrain, got '${s.priorMode}'`);
  const frames = Math.floor(s.sampleSteps / s.harvestEvery) + 1;
  if (frames < s.nTrain + s.nValid) {
    throw new AtomgpError(
      `sampling ${s.sampleSteps} steps, harvesting every ${s.harvestEvery}, gives ${frames} frames, fewer than ${s.nTrain} training + ${s.nValid} validation; sample longer or harvest more often`,
    );
  }
}

