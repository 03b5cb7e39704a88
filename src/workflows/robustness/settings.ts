/**
 * The robustness study's inputs: prior means, temperatures and the model set to refit; the options
 * of a run, the settings a resume must match (study-settings.json) and the study.json schema.
 */

import { existsSync, statSync } from 'node:fs';
import type { IntegratorSettings } from '../../dynamics/integrators.js';
import type { MonitorOptions } from '../../dynamics/monitor.js';
import { AtomgpError } from '../../errors.js';
import type { BatchStatus, Executor } from '../../exec/executor.js';
import { DEFAULT_PRIOR, formatPrior, PRIOR_NAMES, parsePrior } from '../../gp/fit/priors.js';
import type { RepulsionKind } from '../../gp/model/repulsion.js';
import { type ModelSet, readModelSet } from '../../io/modelset.js';
import type { ErrorEntry } from './errors.js';
import type { MatrixProgress, StudyRow } from './matrix.js';
import type { RestoringEntry } from './restoring.js';
import type { SummaryCell } from './tables.js';

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
  /** Where the refits and the MD matrix run (default: `workers` worker threads). */
  executor?: Executor;
  /** The Slurm batch's state after each look at the queue (with a Slurm executor). */
  onBatchStatus?: (s: BatchStatus) => void;
  /** Aborting cancels the matrix's Slurm jobs. */
  signal?: AbortSignal;
  /** Keep each model's θ and σ² (only the mean and weights change); default false: θ re-optimised. */
  keepHyperparameters?: boolean;
  /** The models' repulsive prior term in the restoring forces and the MD matrix (gp/model/repulsion.ts; default 'none'). */
  repulsion?: RepulsionKind;
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
  /** Recorded only when not 'none', so studies made before the setting existed resume. */
  repulsion?: RepulsionKind;
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

/** What a resume must match, in the study folder. */
export const SETTINGS_FILE = 'study-settings.json';
/** Settings that differ between a recorded study and this run, one phrase each (atomgp_version aside). */
export function diffSettings(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((k) => k !== 'atomgp_version' && JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${k}: recorded ${JSON.stringify(a[k])}, now ${JSON.stringify(b[k])}`);
}
