/**
 * `atomgp study`: the paper's experiment on a list of molecules, checked against the reference.
 * Per molecule, the pipeline (sample on the reference → select and label → train the prior-mean
 * family → validate → the NVT matrix of priors × temperatures × replicas), then the fidelity stage:
 * the reference re-evaluated on frames spread along every run's trajectory (fidelity.ts). A run
 * counts as *survived* when the monitor never stopped it and as *faithful* when its energy errors
 * along the trajectory stay within the stated bounds.
 *
 * Output folder:
 *   study-settings.json               the settings used (a resume must match them)
 *   <molecule>/                       the molecule's pipeline folder (demo.json, report.html, runs/)
 *   <molecule>/fidelity/fidelity.json per-run fidelity, with its stage fingerprint beside it
 *   study.json, study.html            the study's summary and its table
 *
 * Resume: every stage of every molecule is fingerprinted; rerunning with `resume` continues where
 * it stopped and refuses changed settings, naming them.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { median } from '../../analysis/stability.js';
import type { Bond } from '../../chem/connectivity.js';
import { findPresetName } from '../../chem/presets.js';
import { AtomgpError, interruptedRun } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { readXyz } from '../../io/xyz.js';
import { createPotential } from '../../potentials/factory.js';
import type { Potential } from '../../potentials/potential.js';
import { VERSION } from '../../version.js';
import { type FidelityResult, fidelityFrames, trajectoryFidelity } from '../fidelity.js';
import { hashInputs, makeStageRecord, readStageRecord, stageChanges, writeStageRecord } from '../fingerprint.js';
import { buildMolecule, referenceSpec } from '../pipeline/molecule.js';
import { isLaterDefault, laterDefault } from '../pipeline/resume.js';
import { runPipeline } from '../pipeline/run.js';
import { type DemoRun, type DemoSummary, modelSpec, type PipelineHooks, priorFolder } from '../pipeline/settings.js';
import { type DistortionResult, distortionsStage } from './distortions.js';
import { studyHtml } from './html.js';
import { type MoleculeObservables, observablesStage } from './observables.js';
import { type OptimisationResult, optimisationStage } from './optimisation.js';
import { type RefinementRound, refinementStage } from './refine.js';
import { moleculeRamachandran, type RamachandranMap } from './ramachandran.js';
import { moleculeSettings, STUDY_DEFAULTS, type StudySettings, validateStudySettings } from './settings.js';

export type StudyRunFidelity = Omit<FidelityResult, 'perFrame'>;

export interface StudyRun extends DemoRun {
  /** Fidelity along the run's trajectory (null when it has no frame to compare). */
  fidelity: StudyRunFidelity | null;
}

export interface StudyCell {
  prior: string;
  temperature_K: number;
  runs: number;
  survived: number;
  /** Survived and faithful. */
  faithful: number;
  /**
   * Faithful up to their last frame, whether the monitor stopped them or not: a run that ends in a
   * reaction the reference also makes (malondialdehyde's proton transfer at 1000 K) is counted here
   * and not in `faithful`.
   */
  faithful_to_end: number;
  /** Median time to failure over the failed runs, ps (null when none failed). */
  median_time_to_failure_ps: number | null;
  /** Fidelity pooled over the cell's surviving runs (mean of the runs' MAEs; the largest error). */
  energy_mae_kcal_per_mol: number | null;
  energy_max_abs_kcal_per_mol: number | null;
  /**
   * Mean signed energy error (model − reference) over the same runs, kcal/mol: negative when the
   * runs sit where the model is too low (MD on a surface with errors of spread σ drifts towards
   * its low errors, by about σ²/k_BT when they are uncorrelated).
   */
  energy_mean_signed_kcal_per_mol: number | null;
}

export interface StudyMolecule {
  molecule: string;
  folder: string;
  formula: string;
  n_atoms: number;
  labels: 'atomic' | 'total';
  reference: string;
  validation: Array<{ prior: string; mae_kcal_per_mol: number; rmse_kcal_per_mol: number; max_abs_kcal_per_mol: number }>;
  runs: StudyRun[];
  table: StudyCell[];
  /** Observables against the reference's own MD (null when switched off). */
  observables: MoleculeObservables | null;
  /** Distorted starts: restoring forces and runs per prior. */
  distortions: DistortionResult[];
  /** Ramachandran maps of peptides (null for other molecules). */
  ramachandran: RamachandranMap[] | null;
  /** Conformer optimisation on the default prior and on the reference (peptides; else null). */
  optimisation: OptimisationResult | null;
  /**
   * Refinement rounds of the default prior's model at its conformer minima, each with the conformer
   * table on the refit model (refine.ts; empty when switched off, for non-peptides and for atomic labels).
   */
  refinement: RefinementRound[];
}

export interface StudySummary {
  kind: 'study';
  molecules: StudyMolecule[];
  settings: StudySettings;
  atomgp_version: string;
}

const SETTINGS_FILE = 'study-settings.json';
const FIDELITY_FILE = join('fidelity', 'fidelity.json');
const FIDELITY_RECORD = join('fidelity', 'fingerprint.json');

/**
 * The settings as one flat record (`pipeline.nTrain`), so a refused resume names the one that
 * changed. Pipeline settings added later are left out at their "as before" value, as in the
 * pipeline's stage records, so a study begun before they existed resumes.
 */
export function flatSettings(s: StudySettings): Record<string, unknown> {
  const out: Record<string, unknown> = { molecules: s.molecules, reference: s.reference, fidelityFrames: s.fidelityFrames };
  for (const [k, v] of Object.entries(s.pipeline)) if (!isLaterDefault(k, v)) out[`pipeline.${k}`] = v;
  for (const [k, v] of Object.entries(s.fidelity)) out[`fidelity.${k}`] = v;
  out['observablesTemperatureK'] = s.observablesTemperatureK;
  out['distortions'] = s.distortions;
  out['distortionTemperatureK'] = s.distortionTemperatureK;
  out['distortionTimePs'] = s.distortionTimePs;
  // Added in session 21; the rounds may change on resume (each round is recorded on its own and
  // reused), the path stride may not; a record without it stands for the default.
  out['optimisationRefineRounds'] = s.optimisationRefineRounds;
  if (s.optimisationPathStride !== STUDY_DEFAULTS.optimisationPathStride) out['optimisationPathStride'] = s.optimisationPathStride;
  return out;
}

/**
 * What differs between a study's recorded settings and `s`. The fidelity stage is fingerprinted on
 * its own and redone when its frames change, so more (or fewer) frames are allowed; pipeline
 * settings added later count as absent at their "as before" value, whichever version wrote the record.
 */
export function studySettingsChanges(recordedSettings: Record<string, unknown>, s: StudySettings): string[] {
  const { fidelityFrames: _f, optimisationRefineRounds: _r, ...all } = recordedSettings;
  const recorded = Object.fromEntries(Object.entries(all).filter(([k, v]) => !(k.startsWith('pipeline.') && isLaterDefault(k.slice('pipeline.'.length), v))));
  const { fidelityFrames: _g, optimisationRefineRounds: _s, ...ours } = flatSettings(s);
  const absentAs = (k: string): unknown => (k.startsWith('pipeline.') ? laterDefault(k.slice('pipeline.'.length)) : k === 'optimisationPathStride' ? STUDY_DEFAULTS.optimisationPathStride : undefined);
  return stageChanges({ stage: 'study settings', fingerprint: '', settings: recorded, inputs: {}, atomgp_version: '' }, ours, {}, undefined, absentAs);
}

/** On a new study the folder must not hold one; on resume the recorded settings must match. */
function checkSettingsFile(outDir: string, s: StudySettings, mode: 'new' | 'overwrite' | 'resume'): void {
  const file = join(outDir, SETTINGS_FILE);
  const record = readStageRecord(file);
  const ours = [SETTINGS_FILE, 'study.json', 'study.html', ...s.molecules.map((m) => findPresetName(m) ?? m)].filter((f) => existsSync(join(outDir, f)));
  if (mode === 'new' && ours.length > 0) {
    throw new AtomgpError(`output folder ${outDir} already holds a study (${ours.join(', ')}); pass --resume to continue it or --overwrite to replace it`);
  }
  if (mode === 'resume' && record) {
    // The fidelity stage is fingerprinted on its own and redone when its frames change, so more
    // (or fewer) frames are allowed on resume; every other setting must match.
    const changes = studySettingsChanges((record.settings ?? {}) as Record<string, unknown>, s);
    if (changes.length > 0) throw new AtomgpError(`cannot resume ${outDir}: the study was made with other settings (${changes.join('; ')}); resume with the recorded settings or use a new --out`);
  }
}


/** The survival × fidelity table of one molecule: one cell per prior and temperature. */
export function studyTable(runs: readonly StudyRun[]): StudyCell[] {
  const cells = new Map<string, StudyRun[]>();
  for (const r of runs) {
    const key = `${r.prior}\u0000${r.temperature_K}`;
    cells.set(key, [...(cells.get(key) ?? []), r]);
  }
  return [...cells.values()].map((rs) => {
    const alive = rs.filter((r) => r.survived);
    const withFid = alive.filter((r) => r.fidelity !== null);
    return {
      prior: rs[0]!.prior,
      temperature_K: rs[0]!.temperature_K,
      runs: rs.length,
      survived: alive.length,
      faithful: alive.filter((r) => r.fidelity?.faithful === true).length,
      faithful_to_end: rs.filter((r) => r.fidelity?.faithful === true).length,
      median_time_to_failure_ps: median(rs.filter((r) => r.time_to_failure_ps !== null).map((r) => r.time_to_failure_ps!)),
      energy_mae_kcal_per_mol: withFid.length ? withFid.reduce((a, r) => a + r.fidelity!.energyMaeKcalPerMol, 0) / withFid.length : null,
      energy_max_abs_kcal_per_mol: withFid.length ? Math.max(...withFid.map((r) => r.fidelity!.energyMaxAbsKcalPerMol)) : null,
      energy_mean_signed_kcal_per_mol: withFid.length ? withFid.reduce((a, r) => a + r.fidelity!.energyMeanSignedKcalPerMol, 0) / withFid.length : null,
    };
  });
}

/** Fidelity of every run of one molecule's pipeline folder (fingerprinted; reused on resume). */
async function fidelityStage(s: StudySettings, molecule: string, dir: string, summary: DemoSummary, resume: boolean, hooks: PipelineHooks): Promise<Record<string, StudyRunFidelity | null>> {
  const trajectories = summary.runs.map((r) => join(dir, r.run_dir, 'trajectory.extxyz'));
  const modelDirs = [...new Set(summary.runs.map((r) => join(dir, 'models', priorFolder(r.prior))))];
  const modelFiles = modelDirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.model')).map((f) => join(d, f)));
  const inputs = [join(dir, 'molecule.xyz'), ...modelFiles, ...trajectories.filter((f) => existsSync(f))];
  const settings = { frames: s.fidelityFrames, bounds: s.fidelity, reference: s.reference };
  const recordFile = join(dir, FIDELITY_RECORD);
  const hashes = hashInputs(dir, inputs);
  if (resume) {
    const rec = readStageRecord<Record<string, StudyRunFidelity | null>>(recordFile);
    if (rec && existsSync(join(dir, FIDELITY_FILE)) && stageChanges(rec, settings, hashes).length === 0 && rec.result) {
      hooks.log?.(`${molecule}: fidelity reused`);
      return rec.result;
    }
  }
  const p = moleculeSettings(s, molecule);
  const { mol } = await buildMolecule(p);
  const reference = await createPotential(referenceSpec(p, mol));
  const minimumA = readXyz(join(dir, 'molecule.xyz'))[0]!.positionsA;
  const models = new Map<string, Potential>();
  const out: Record<string, StudyRunFidelity | null> = {};
  const perFrame: Record<string, FidelityResult['perFrame']> = {};
  try {
    for (const [i, r] of summary.runs.entries()) {
      // Between runs: let a signal's handler run (the stage is redone on resume).
      await new Promise<void>((res) => setImmediate(res));
      stopIfRequested(hooks.signal, `during the fidelity of ${molecule}`);
      hooks.progress?.(`fidelity ${molecule}`, i / summary.runs.length, r.run_dir);
      const file = trajectories[i]!;
      const frames = existsSync(file) ? readXyz(file) : [];
      if (frames.length === 0) {
        out[r.run_dir] = null;
        continue;
      }
      let model = models.get(r.prior);
      if (!model) {
        model = await createPotential(modelSpec(s.pipeline, join(dir, 'models', priorFolder(r.prior))));
        models.set(r.prior, model);
      }
      const picked = fidelityFrames(frames, s.fidelityFrames);
      const f = trajectoryFidelity(model, reference, minimumA, picked, s.fidelity);
      const { perFrame: pf, ...rest } = f;
      out[r.run_dir] = rest;
      perFrame[r.run_dir] = pf;
    }
  } finally {
    (reference as Potential & { dispose?: () => void }).dispose?.();
  }
  mkdirSync(join(dir, 'fidelity'), { recursive: true });
  writeFileAtomic(join(dir, FIDELITY_FILE), `${JSON.stringify({ runs: out, per_frame: perFrame }, null, 1)}\n`);
  writeStageRecord(recordFile, makeStageRecord(`fidelity ${molecule}`, settings, hashes, out));
  const faithful = Object.values(out).filter((f) => f?.faithful).length;
  hooks.log?.(`${molecule}: fidelity of ${summary.runs.length} run(s) against the reference, ${faithful} within the bounds`);
  return out;
}

/**
 * The conformer optimisation of a peptide on the default prior's models and on the reference, then
 * the refinement rounds (total-energy labels only: the reference gives no atomic energies to add).
 */
async function optimisationOf(s: StudySettings, name: string, dir: string, summary: DemoSummary, symbols: readonly string[], bonds: readonly Bond[], resume: boolean, hooks: PipelineHooks): Promise<{ optimisation: OptimisationResult | null; refinement: RefinementRound[] }> {
  const p = moleculeSettings(s, name);
  const prior = summary.default_prior;
  const { mol } = await buildMolecule(p);
  const model = await createPotential(modelSpec(p, join(dir, 'models', priorFolder(prior))));
  const reference = await createPotential(referenceSpec(p, mol));
  try {
    const r = optimisationStage(dir, symbols, bonds, prior, model, reference, p.seed);
    if (!r) return { optimisation: null, refinement: [] };
    hooks.log?.(`${name}: conformers optimised, ΔE(C5 − C7eq) model ${r.delta_e_model_kcal_per_mol.toFixed(2)}, reference ${r.delta_e_reference_kcal_per_mol.toFixed(2)} kcal/mol`);
    if (s.optimisationRefineRounds > 0 && summary.labels !== 'total') {
      hooks.log?.(`${name}: no refinement at the conformer minima: it needs total-energy labels (the reference gives no atomic energies to add)`);
      return { optimisation: r, refinement: [] };
    }
    const prefixed: PipelineHooks = {
      ...hooks,
      log: (line) => hooks.log?.(`${name}: ${line}`),
      progress: (stage, fraction, text) => hooks.progress?.(`${name} ${stage}`, fraction, text),
    };
    const refinement = await refinementStage(p, dir, symbols, bonds, prior, reference, { rounds: s.optimisationRefineRounds, pathStride: s.optimisationPathStride }, resume, prefixed);
    return { optimisation: r, refinement };
  } finally {
    (reference as Potential & { dispose?: () => void }).dispose?.();
  }
}

/** Between stages: end the study if a signal asked for it (finished stages are kept for --resume). */
export function stopIfRequested(signal: AbortSignal | undefined, where: string): void {
  if (signal?.aborted) throw interruptedRun(String(signal.reason), where);
}

/**
 * Run (or continue) a study into `outDir`. `mode`: `new` refuses a non-empty folder, `overwrite`
 * starts over, `resume` continues and refuses changed settings.
 */
export async function runStudy(s: StudySettings, outDir: string, mode: 'new' | 'overwrite' | 'resume', hooks: PipelineHooks = {}): Promise<StudySummary> {
  validateStudySettings(s);
  checkSettingsFile(outDir, s, mode);
  mkdirSync(outDir, { recursive: true });
  writeStageRecord(join(outDir, SETTINGS_FILE), makeStageRecord('study settings', flatSettings(s), {}));
  const molecules: StudyMolecule[] = [];
  for (const name of s.molecules) {
    const folder = findPresetName(name)!;
    const dir = join(outDir, folder);
    const moleculeMode = mode === 'resume' && existsSync(dir) ? 'resume' : mode === 'overwrite' ? 'overwrite' : 'new';
    hooks.log?.(`study: ${folder} (${moleculeMode === 'resume' ? 'continuing' : 'starting'})`);
    const prefixed: PipelineHooks = {
      ...hooks,
      log: (line) => hooks.log?.(`${folder}: ${line}`),
      progress: (stage, fraction, text) => hooks.progress?.(`${folder} ${stage}`, fraction, text),
    };
    const summary = await runPipeline(moleculeSettings(s, name), dir, moleculeMode, prefixed);
    stopIfRequested(hooks.signal, `after the pipeline of ${folder}`);
    const fidelity = await fidelityStage(s, folder, dir, summary, moleculeMode === 'resume', hooks);
    stopIfRequested(hooks.signal, `after the fidelity of ${folder}`);
    const observables = s.observablesTemperatureK > 0 ? await observablesStage(s, folder, dir, summary, moleculeMode === 'resume', hooks) : null;
    stopIfRequested(hooks.signal, `after the observables of ${folder}`);
    const { mol } = await buildMolecule(moleculeSettings(s, name));
    const ramachandran = moleculeRamachandran(dir, summary, mol.symbols, mol.bonds, observables?.reference_run_dir ?? null);
    const { optimisation, refinement } = await optimisationOf(s, name, dir, summary, mol.symbols, mol.bonds, moleculeMode === 'resume', hooks);
    stopIfRequested(hooks.signal, `after the conformer optimisation of ${folder}`);
    const distortions = await distortionsStage(s, folder, dir, summary, moleculeMode === 'resume', hooks);
    const runs: StudyRun[] = summary.runs.map((r) => ({ ...r, run_dir: join(folder, r.run_dir), fidelity: fidelity[r.run_dir] ?? null }));
    molecules.push({
      molecule: summary.molecule,
      folder,
      formula: summary.formula,
      n_atoms: summary.n_atoms,
      labels: summary.labels,
      reference: summary.reference,
      validation: summary.validation.map((v) => ({ prior: v.prior, mae_kcal_per_mol: v.mae_kcal_per_mol, rmse_kcal_per_mol: v.rmse_kcal_per_mol, max_abs_kcal_per_mol: v.max_abs_kcal_per_mol })),
      runs,
      table: studyTable(runs),
      observables,
      distortions,
      ramachandran,
      optimisation,
      refinement,
    });
  }
  const study: StudySummary = { kind: 'study', molecules, settings: s, atomgp_version: VERSION };
  writeFileAtomic(join(outDir, 'study.json'), `${JSON.stringify(study, null, 1)}\n`);
  writeFileAtomic(join(outDir, 'study.html'), studyHtml(study));
  return study;
}
