/**
 * Pipeline stage 5 (train, one model set per prior mean): one GP per atom on atomic labels (worker
 * threads) or the additive GP on total energies → models/<prior>/SYSTEM_iqa_ATOM.model. A later
 * prior in `same-hyperparameters` mode refits the first prior's models (θ and σ² kept).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { InterruptedError } from '../../errors.js';
import { failuresError, runBatch } from '../../exec/executor.js';
import { featureCount } from '../../features/alf.js';
import { featurizeFrames } from '../../features/frames.js';
import { type AdditiveTrainInput, trainAdditive } from '../../gp/fit/additive.js';
import { type ForceFitFrame, type ForceFitOptions, refitAdditiveWithForces, signalVarianceOf } from '../../gp/fit/additive-forces.js';
import { refitAdditiveWithForcesInWorker, trainAdditiveInWorker } from '../../gp/fit/fit-job.js';
import { refitFromModel, type TrainResult } from '../../gp/fit/train.js';
import { kernelReachBounds } from '../../gp/fit/train-options.js';
import { runTrainTasks, type TrainTask } from '../../gp/fit/train-parallel.js';
import { alfKernel } from '../../gp/kernel/setup.js';
import type { GpModel } from '../../gp/model/model.js';
import { readModel, writeModel } from '../../io/model.js';
import { writeModelSetTerms } from '../../io/modelset.js';
import { atomNames, type LabelledFrame } from '../../sampling/export.js';
import type { DataSets } from './data.js';
import type { RelaxedMolecule } from './molecule.js';
import { finishedStage, interruptedError, pick, RECORD_FILES, recordStage, type StageContext } from './resume.js';
import { type DemoSummary, type PipelineSettings, priorFolder } from './settings.js';

/** θ bounds of the settings: an absolute floor when `--theta-min` is given, else the kernel reach (neither: the trainers' defaults). */
function thetaLimits(s: PipelineSettings, nFeatures: number): { thetaBounds?: [number, number]; thetaVarBounds?: [number, number] } {
  if (s.thetaMin > 0) return { thetaBounds: [s.thetaMin, 1e3] };
  return s.kernelReach > 0 ? { thetaVarBounds: kernelReachBounds(s.kernelReach, nFeatures) } : {};
}

export const TRAINING_KEYS = ['seed', 'kernel', 'restarts', 'maxIterations', 'noise', 'optimiseNoise', 'kernelReach', 'thetaMin', 'energySigmaHa', 'forceSigmaHaPerBohr', 'splitSigmaHa', 'coldStart'] as const;

export type AtomTraining = DemoSummary['training'][number]['atoms'];

export interface PriorModels {
  prior: string;
  dir: string;
  files: string[];
  atoms: AtomTraining;
}

export interface TrainingResult {
  priors: PriorModels[];
  nFeatures: number;
}

/**
 * A long fit of the main thread: with a signal to watch (the local executor installs one) it runs in
 * a worker thread, so that SIGINT/SIGTERM end it at once (the stage is redone on resume, with the
 * same seeds, so identically); without one, here.
 */
async function inWorkerIfSignal<T>(ctx: StageContext, stage: string, here: () => T, inWorker: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const signal = ctx.batchHooks.signal;
  if (!signal) return here();
  try {
    return await inWorker(signal);
  } catch (e) {
    if (e instanceof InterruptedError) throw interruptedError(e.signal, `during ${stage} (its fits are redone on resume)`);
    throw e;
  }
}

/**
 * The weights of a trained model set refit on the training frames' energies (atomic or total) and
 * forces (gp/fit/additive-forces.ts), when `--force-sigma-Ha-per-bohr` > 0 and the frames carry
 * forces, and with total labels the split observation when `--split-sigma-Ha` > 0; otherwise the
 * models unchanged (wall time 0).
 */
async function forceFit(
  ctx: StageContext,
  s: PipelineSettings,
  stage: string,
  models: GpModel[],
  train: readonly LabelledFrame[],
  labels: 'atomic' | 'total',
): Promise<{ models: GpModel[]; wallTimeS: number }> {
  const forces = s.forceSigmaHaPerBohr > 0 && train.some((f) => f.forcesHaPerBohr !== undefined);
  const split = labels === 'total' && s.splitSigmaHa > 0;
  if (!forces && !split) return { models, wallTimeS: 0 };
  const frames: ForceFitFrame[] = train.map((f) => ({
    positionsA: f.positionsA,
    energyHa: f.energyHa!,
    ...(forces && f.forcesHaPerBohr ? { forcesHaPerBohr: f.forcesHaPerBohr } : {}),
    ...(labels === 'atomic' ? { atomicEnergiesHa: f.atomicEnergiesHa! } : {}),
  }));
  const opts: ForceFitOptions = {
    signalVarianceHa2: models.map(signalVarianceOf),
    energyLabels: labels,
    sigmaEnergyHa: s.energySigmaHa,
    ...(forces ? { sigmaForceHaPerBohr: s.forceSigmaHaPerBohr } : {}),
    ...(split ? { splitSigmaHa: s.splitSigmaHa } : {}),
    onProgress: (done, all) => ctx.progress(stage, done / all, `force fit: ${done}/${all} frames`),
  };
  const ff = await inWorkerIfSignal(ctx, stage, () => refitAdditiveWithForces(models, frames, opts), (signal) => refitAdditiveWithForcesInWorker(models, frames, opts, signal));
  const what = labels === 'atomic' ? `${train.length} × ${models.length} atomic energies` : `${train.length} energies`;
  const withForces = forces ? ` and the forces of ${ff.forceFrames} frames` : '';
  const noise = `σ_E ${s.energySigmaHa} Ha${forces ? `, σ_F ${s.forceSigmaHaPerBohr} Ha/bohr` : ''}${split ? `, each atom an equal share of the deviation from the prior ± ${s.splitSigmaHa} Ha` : ''}`;
  ctx.log(`${stage}: weights refit on ${what}${withForces} (${noise}) in ${ff.wallTimeS.toFixed(1)} s`);
  return { models: ff.models, wallTimeS: ff.wallTimeS };
}

/** Whether prior `pi` is refit from the first prior's models (θ and σ² kept) instead of trained. */
function isRefit(s: PipelineSettings, pi: number, labels: 'atomic' | 'total'): boolean {
  return pi > 0 && s.priorMode === 'same-hyperparameters' && labels === 'atomic';
}

export function trainingSettings(s: PipelineSettings, pi: number, labels: 'atomic' | 'total'): Record<string, unknown> {
  return pick(s, TRAINING_KEYS, { prior: s.priors[pi]!, labels, priorMode: isRefit(s, pi, labels) ? 'same-hyperparameters' : 'retrain' });
}

/** Where one prior's models go and how the stage that makes them is recorded. */
export interface ModelSetTarget {
  dir: string;
  /** Stage name in messages and records (`training shift:0.05`, `active round 1`). */
  stage: string;
  recordFile: string;
  /** Files whose contents the models depend on (the training set, refit sources). */
  inputs: string[];
  settings: Record<string, unknown>;
  /** Folder of its Slurm batch under OUT/slurm/ (`train-shift_0.05`). */
  batch: string;
  /**
   * Total-energy labels: model files (one per atom) whose θ is the search's only start (the previous
   * active round's; `--cold-start` switches it off). They are part of `inputs`.
   */
  warmStartFiles?: string[];
}

/**
 * Train one prior's model set on `train` (per-atom GPs on atomic labels through the executor, or
 * the additive GP on totals), or refit `refitFrom` with θ and σ² kept; written to `target.dir`
 * and recorded. Reused on resume when its record matches.
 */
export async function trainModelSet(
  ctx: StageContext,
  s: PipelineSettings,
  m: Pick<RelaxedMolecule, 'symbols' | 'alfs'> & { reference: { description: string } },
  train: readonly LabelledFrame[],
  system: string,
  prior: string,
  labels: 'atomic' | 'total',
  target: ModelSetTarget,
  refitFrom?: () => GpModel[],
): Promise<{ files: string[]; atoms: AtomTraining; models?: GpModel[] }> {
  const n = m.symbols.length;
  const names = atomNames(m.symbols);
  const { dir, stage } = target;
  const files = names.map((a) => join(dir, `${system}_iqa_${a}.model`));
  const done = finishedStage<{ atoms: AtomTraining }>(ctx, stage, target.recordFile, target.settings, target.inputs, files);
  if (done) {
    ctx.log(`${stage}: reusing ${dir}`);
    writeModelSetTerms(dir, { repulsion: s.repulsion });
    return { files, atoms: done.result?.atoms ?? [] };
  }
  const xTrain = featurizeFrames(
    train.map((f) => f.positionsA),
    m.alfs.map((alf) => alf.map((k) => k - 1)),
    { labels: names.map((a) => `atom ${a}`) },
  );
  const K = xTrain[0]!.length / train.length;
  const tp = performance.now();
  let models: GpModel[];
  const atoms: AtomTraining = [];
  if (labels === 'atomic') {
    let results: TrainResult[];
    if (refitFrom) {
      results = refitFrom().map((fm) => refitFromModel(fm, { prior, keepHyperparameters: true }));
    } else {
      const tasks: TrainTask[] = names.map((atom, a) => ({
        kind: 'train',
        input: {
          x: xTrain[a]!,
          y: Float64Array.from(train, (f) => f.atomicEnergiesHa![a]!),
          nFeatures: K,
          kernel: alfKernel(s.kernel, K),
          prior,
          likelihood: 'marginal',
          noise: s.noise,
          optimiseNoise: s.optimiseNoise,
          ...thetaLimits(s, K),
          noiseBounds: [1e-10, 1e-4],
          restarts: s.restarts,
          maxIterations: s.maxIterations,
          seed: s.seed + a,
          systemName: system,
          atom,
          property: 'iqa',
          alf: m.alfs[a]!,
          nAtoms: n,
          notes: [`reference ${m.reference.description}`, 'labels atomic energies of the reference (equal-share split)'],
        },
      }));
      let finished = 0;
      const onDone = (i: number, r: TrainResult): void => {
        finished++;
        ctx.progress(stage, finished / tasks.length, `${names[i]} log L ${r.logLikelihood.toFixed(1)}`);
      };
      // Locally a signal terminates the fits (this set is trained again on --resume; the fits are seeded, so identically).
      const signal = ctx.batchHooks.signal;
      let outcome: Awaited<ReturnType<typeof runBatch<TrainTask, TrainResult>>>;
      try {
        outcome = await runBatch<TrainTask, TrainResult>(
          ctx.executor,
          { kind: 'train', dir: join(ctx.outDir, 'slurm', target.batch), name: 'train', tasks: tasks.map((t, a) => ({ label: names[a]!, input: t })) },
          (workers) => runTrainTasks(tasks, { jobs: workers, onDone, ...(signal ? { signal } : {}) }),
          { onDone, ...ctx.batchHooks },
        );
      } catch (e) {
        if (e instanceof InterruptedError) throw interruptedError(e.signal, `during ${stage} (its fits are redone on resume)`);
        throw e;
      }
      if (outcome.interrupted !== undefined) throw interruptedError(outcome.interrupted, `during ${stage} (Slurm jobs cancelled, finished fits kept)`);
      if (outcome.failures.length > 0) throw failuresError(stage, outcome.failures);
      results = outcome.results as TrainResult[];
    }
    models = results.map((r) => r.model);
    const ff = await forceFit(ctx, s, stage, models, train, 'atomic');
    models = ff.models;
    const forceFitS = ff.wallTimeS;
    results.forEach((r, a) => {
      atoms.push({ atom: names[a]!, log_likelihood: r.logLikelihood, wall_time_s: r.wallTimeS + forceFitS / n });
    });
  } else {
    const warm = !s.coldStart && target.warmStartFiles ? target.warmStartFiles.map((f) => readModel(f)) : undefined;
    const input: AdditiveTrainInput = {
      atoms: m.symbols.map((sym, a) => ({ label: `${sym}${a + 1}`, alf: [...m.alfs[a]!], x: xTrain[a]! })),
      nFeatures: K,
      kernel: alfKernel(s.kernel, K),
      yTotalHa: Float64Array.from(train, (f) => f.energyHa!),
      prior,
      noise: s.noise,
      optimiseNoise: s.optimiseNoise,
      ...thetaLimits(s, K),
      restarts: warm ? 1 : s.restarts,
      ...(warm ? { warmStart: warm } : {}),
      maxIterations: s.maxIterations,
      seed: s.seed,
      systemName: system,
      onProgress: (p) => ctx.progress(stage, (p.start - 1 + Math.min(1, p.iteration / s.maxIterations)) / p.starts, `log L ${p.logLikelihood.toFixed(1)}`),
    };
    const r = await inWorkerIfSignal(ctx, stage, () => trainAdditive(input), (signal) => trainAdditiveInWorker(input, signal));
    models = r.models;
    const ff = await forceFit(ctx, s, stage, models, train, 'total');
    models = ff.models;
    const wall = r.wallTimeS + ff.wallTimeS;
    for (const md of models) atoms.push({ atom: md.atom, log_likelihood: r.logLikelihood, wall_time_s: wall / models.length });
  }
  mkdirSync(dir, { recursive: true });
  models.forEach((md, a) => {
    writeModel(files[a]!, md);
  });
  // The folder says which terms the pipeline adds to these models, so `atomgp md --models DIR` runs the validated potential.
  writeModelSetTerms(dir, { repulsion: s.repulsion });
  recordStage(ctx, stage, target.recordFile, target.settings, target.inputs, { atoms });
  ctx.log(`${stage}: ${models.length} models in ${((performance.now() - tp) / 1000).toFixed(1)} s → ${dir}`);
  return { files, atoms, models };
}

/** `warmStartFiles`: the last active round's models, the default prior's start (total labels). */
export async function trainStage(ctx: StageContext, s: PipelineSettings, m: RelaxedMolecule, data: DataSets, labels: 'atomic' | 'total', warmStartFiles?: string[]): Promise<TrainingResult> {
  const out: PriorModels[] = [];
  let firstModels: GpModel[] | undefined;
  for (const [pi, prior] of s.priors.entries()) {
    const dir = join(ctx.outDir, 'models', priorFolder(prior));
    const refit = isRefit(s, pi, labels);
    const warm = pi === 0 && labels === 'total' && !s.coldStart ? warmStartFiles : undefined;
    const inputs = [data.trainFile, ...(refit ? out[0]!.files : []), ...(warm ?? [])];
    const r = await trainModelSet(
      ctx,
      s,
      m,
      data.train,
      data.system,
      prior,
      labels,
      { dir, stage: `training ${prior}`, recordFile: RECORD_FILES.training(prior), inputs, settings: trainingSettings(s, pi, labels), batch: `train-${priorFolder(prior)}`, ...(warm ? { warmStartFiles: warm } : {}) },
      refit
        ? () => {
            firstModels ??= out[0]!.files.map((f) => readModel(f));
            return firstModels;
          }
        : undefined,
    );
    if (pi === 0 && r.models) firstModels = r.models;
    out.push({ prior, dir, files: r.files, atoms: r.atoms });
  }
  const K = featureCount(m.symbols.length);
  return { priors: out, nFeatures: K };
}
