/**
 * The end-to-end pipeline behind `atomgp pipeline` and `atomgp demo`: relax → sample (WTMetaD) →
 * select and label → active learning on the model's own MD (optional) → train per prior → validate → MD ensemble → demo.json and report.html.
 *
 * Output folder (every stage writes its files atomically and records a fingerprint of its settings
 * and input files beside them, resume.ts; `resume` reuses a finished stage only when its
 * fingerprint matches and refuses any change):
 *   molecule.xyz                      start geometry, relaxed on the reference (Å)
 *   sampling/frames.extxyz            all harvested frames with reference labels (Ha, Ha/bohr)
 *   data/train.extxyz, valid.extxyz   the training and validation sets; data/csv/ ichor-style CSV training sets
 *   active/round_NN/                  active learning (active.ts): the round's model, its NVT runs,
 *                                     the frames it added (selected.extxyz) and their errors (round.json)
 *   models/<prior>/                   one `.model` per atom (property iqa)
 *   runs/<prior>/T<K>_r<NN>/          NVT runs (log.csv, trajectory.extxyz, summary.json)
 *   demo.json, report.html            the summary the report reads, and the report
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stopFlagOf } from '../../dynamics/ensemble.js';
import { AtomgpError } from '../../errors.js';
import { featureCount } from '../../features/alf.js';
import { checkForceFitSize } from '../../gp/fit/additive-forces.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import type { Potential } from '../../potentials/potential.js';
import { readWtmetadCheckpoint } from '../../sampling/checkpoint.js';
import { cvUnit } from '../../sampling/cv.js';
import { VERSION } from '../../version.js';
import { readStageRecord, type StageRecord } from '../fingerprint.js';
import { activeRecordFile, activeSettings, activeStage } from './active.js';
import { dataSettings, selectStage } from './data.js';
import { mdSettings, mdStage } from './md.js';
import { formulaOf, type RelaxedMolecule, relaxStage } from './molecule.js';
import { checkPriorFolders, checkStageSettings, pick, RECORD_FILES, recordStage, type StageContext, stopIfRequested } from './resume.js';
import { checkSamplingCheckpoint, SAMPLING_KEYS, sampleStage, samplingCheckpointFile } from './sample.js';
import { type DemoSummary, type PipelineHooks, type PipelineSettings, resolvedLabels, sampledTrainCount, validateSettings } from './settings.js';
import { trainingSettings, trainStage } from './train.js';
import { validateStage } from './validate.js';

/** Files and folders the pipeline writes at the top of its output folder. */
const OURS = ['molecule.xyz', RECORD_FILES.molecule, 'sampling', 'data', 'active', 'models', 'runs', 'slurm', 'demo.json', 'report.html'];

const MOLECULE_KEYS = ['molecule', 'smiles', 'startFile', 'reference', 'seed'] as const;

function elapsed(t0: number): number {
  return Math.round((performance.now() - t0) / 10) / 100;
}

/** Before sampling: every model the pipeline trains needs at least as many geometries as features. */
function checkTrainingSize(s: PipelineSettings, nAtoms: number): void {
  const k = featureCount(nAtoms);
  if (s.nTrain < k) throw new AtomgpError(`--n-train ${s.nTrain} is fewer than the ${k} features of a ${nAtoms}-atom molecule (a GP needs at least as many training geometries as features)`);
  const first = sampledTrainCount(s);
  if (s.activeRounds > 0 && first < k) {
    throw new AtomgpError(
      `--n-train ${s.nTrain} with --active-fraction ${s.activeFraction} leaves ${first} sampled geometries for the first active round's model, fewer than the ${k} features of a ${nAtoms}-atom molecule; raise --n-train, lower --active-fraction or pass --active-rounds 0`,
    );
  }
}

/** The context of a run folder's stages (a study's later stages train into the same folder). */
export function stageContext(outDir: string, resume: boolean, hooks: PipelineHooks, workers: number): StageContext {
  return {
    outDir,
    resume,
    log: hooks.log ?? (() => {}),
    progress: hooks.progress ?? (() => {}),
    executor: hooks.executor ?? { kind: 'local', workers },
    batchHooks: { ...(hooks.onBatchStatus ? { onStatus: hooks.onBatchStatus } : {}), ...(hooks.signal ? { signal: hooks.signal } : {}) },
    ...stopRequest(hooks.signal),
  };
}

/**
 * A stop request from an abort signal (its reason names the signal, e.g. 'SIGTERM'), as a function
 * for the main thread and as a shared flag for worker threads (the MD runs poll it).
 */
function stopRequest(signal: AbortSignal | undefined): Pick<StageContext, 'stopRequested' | 'stopFlag'> {
  if (!signal) return { stopRequested: () => undefined, stopFlag: new Int32Array(new SharedArrayBuffer(4)) };
  return { stopRequested: () => (signal.aborted ? String(signal.reason) : undefined), stopFlag: stopFlagOf(signal) };
}

/** On resume, refuse changed settings of any finished stage before doing any work. */
function preflight(ctx: StageContext, s: PipelineSettings, labels: 'atomic' | 'total'): void {
  checkPriorFolders(ctx, s.priors);
  checkStageSettings(ctx, 'the molecule', RECORD_FILES.molecule, pick(s, MOLECULE_KEYS, { labels }), s.startFile ? [s.startFile] : []);
  checkStageSettings(ctx, 'sampling', RECORD_FILES.sampling, pick(s, SAMPLING_KEYS));
  checkSamplingCheckpoint(ctx, s);
  checkStageSettings(ctx, 'data', RECORD_FILES.data, dataSettings(s, labels));
  for (let r = 1; r <= s.activeRounds; r++) checkStageSettings(ctx, `active round ${r}`, activeRecordFile(r), activeSettings(s, labels, r));
  s.priors.forEach((prior, pi) => {
    checkStageSettings(ctx, `training ${prior}`, RECORD_FILES.training(prior), trainingSettings(s, pi, labels));
    checkStageSettings(ctx, `md ${prior}`, RECORD_FILES.md(prior), mdSettings(s, prior));
  });
}

/** What a finished or checkpointed sampling in `outDir` recorded for --proton-transfer (false when it recorded nothing). */
function recordedProtonTransfer(outDir: string): boolean {
  const finished = readStageRecord(join(outDir, RECORD_FILES.sampling));
  if (finished) return finished.settings['protonTransfer'] === true;
  const cp = samplingCheckpointFile(outDir);
  return existsSync(cp) && (readWtmetadCheckpoint(cp).fingerprint as unknown as StageRecord).settings['protonTransfer'] === true;
}

/** Prepare the output folder: `new` refuses a folder holding a pipeline, `overwrite` clears atomgp's files in it. */
function prepareOutDir(outDir: string, mode: 'new' | 'overwrite' | 'resume'): void {
  if (existsSync(outDir)) {
    const present = readdirSync(outDir).filter((f) => OURS.includes(f));
    if (mode === 'new' && present.length > 0) {
      throw new AtomgpError(`output folder ${outDir} already holds a pipeline run (${present.join(', ')}); pass --overwrite to replace it or --resume to continue it`);
    }
    if (mode === 'overwrite') for (const f of present) rmSync(join(outDir, f), { recursive: true, force: true });
  }
  mkdirSync(outDir, { recursive: true });
}

/**
 * Run the pipeline into `outDir`. `mode`: `new` refuses a folder that already holds a pipeline,
 * `overwrite` replaces atomgp's files in it, `resume` reuses every finished stage whose settings
 * and inputs are unchanged (and refuses any change).
 */
export async function runPipeline(s: PipelineSettings, outDir: string, mode: 'new' | 'overwrite' | 'resume', hooks: PipelineHooks = {}): Promise<DemoSummary> {
  validateSettings(s);
  const ctx = stageContext(outDir, mode === 'resume', hooks, s.workers);
  const labels = resolvedLabels(s);
  // `--proton-transfer auto` is resolved on the reference after the relaxation; before it, a resume is checked against what the sampling recorded.
  preflight(ctx, s.protonTransfer === 'auto' ? { ...s, protonTransfer: recordedProtonTransfer(outDir) } : s, labels);
  prepareOutDir(outDir, mode);
  const t0 = performance.now();
  const m = await relaxStage(s, outDir, ctx.log, labels);
  // The reference is released however the run ends (an i-PI server or xtb library left open would keep the process alive).
  try {
    if (s.forceSigmaHaPerBohr > 0) checkForceFitSize(m.symbols.length, s.nTrain);
    // Every stage records (and the summary shows) the resolved choice.
    return await runStages(ctx, { ...s, protonTransfer: m.labileHydrogens.length > 0 }, m, outDir, labels, t0);
  } finally {
    const ref = m.reference as Potential & { dispose?: () => void };
    if (typeof ref.dispose === 'function') ref.dispose();
  }
}

/** Every stage after the relaxation (`tRelax`: when it began, for its timing). */
async function runStages(ctx: StageContext, s: PipelineSettings, m: RelaxedMolecule, outDir: string, labels: 'atomic' | 'total', tRelax: number): Promise<DemoSummary> {
  const timings: Record<string, number> = {};
  let t0 = tRelax;
  checkTrainingSize(s, m.symbols.length);
  const moleculeInputs = s.startFile ? [s.startFile] : [];
  recordStage(ctx, 'the molecule', RECORD_FILES.molecule, pick(s, MOLECULE_KEYS, { labels }), moleculeInputs);
  timings['molecule_s'] = elapsed(t0);

  t0 = performance.now();
  stopIfRequested(ctx, 'after the relaxation');
  const sampling = await sampleStage(ctx, s, m);
  timings['sampling_s'] = elapsed(t0);
  stopIfRequested(ctx, 'after the sampling');

  t0 = performance.now();
  const sampled = selectStage(ctx, s, m, sampling.frames, sampling.file, labels);
  timings['selection_s'] = elapsed(t0);
  stopIfRequested(ctx, 'after the selection');

  t0 = performance.now();
  const active = await activeStage(ctx, s, m, sampled, labels);
  const data = active.data;
  if (s.activeRounds > 0) timings['active_s'] = elapsed(t0);
  stopIfRequested(ctx, 'after the active learning');

  t0 = performance.now();
  const training = await trainStage(ctx, s, m, data, labels, active.lastModelFiles);
  timings['training_s'] = elapsed(t0);
  stopIfRequested(ctx, 'after the training');

  t0 = performance.now();
  const validation = await validateStage(ctx, s, training.priors, data.valid, m.symbols.length, labels);
  timings['validation_s'] = elapsed(t0);
  stopIfRequested(ctx, 'after the validation');

  t0 = performance.now();
  const runs = await mdStage(ctx, s, m, training.priors);
  timings['md_s'] = elapsed(t0);

  const summary: DemoSummary = {
    kind: 'demo',
    molecule: m.name,
    formula: formulaOf(m.symbols),
    reference: m.reference.description,
    labels,
    n_atoms: m.symbols.length,
    n_features: training.nFeatures,
    n_frames: sampling.frames.length,
    n_train: data.train.length,
    n_valid: data.valid.length,
    default_prior: s.priors[0]!,
    validation_mae_kcal_per_mol: validation[0]!.mae_kcal_per_mol,
    validation,
    runs,
    sampling: {
      cv_labels: m.cvs.map((c) => c.label ?? c.kind),
      cv_units: m.cvs.map((c) => cvUnit(c)),
      cv_values: sampling.frames.filter((f) => f.cvValues).map((f) => Array.from(f.cvValues!)),
      temperature_K: s.sampleTemperatureK,
      steps: s.sampleSteps,
      hills: sampling.hills,
    },
    training: training.priors.map((p) => ({ prior: p.prior, atoms: p.atoms })),
    active: active.rounds,
    settings: s,
    timings_s: timings,
    atomgp_version: VERSION,
  };
  writeFileAtomic(join(outDir, 'demo.json'), `${JSON.stringify(summary, null, 1)}\n`);
  try {
    const { writeReport } = await import('../../report/report.js');
    writeReport(outDir);
  } catch (e) {
    ctx.log(`report: not written (${(e as Error).message})`);
  }
  return summary;
}
