/**
 * Pipeline stage 5a (active learning): make the training set cover what the model's own MD visits.
 * Validation on held-out sampling frames says how good the model is where the *sampler* went; NVT
 * on the model goes where the *model* lets it, and where the model is too low (a hole) the run is
 * drawn in. So, per round:
 *   1. train the default prior on the current set → active/round_NN/models/
 *   2. NVT runs on it at every MD temperature (equilibration included, failures kept) →
 *      active/round_NN/runs/; every frame `activeStrideFs` apart, the last frames before a
 *      failure and (round 1) the relaxed minimum are candidates
 *   3. the reference on every candidate; those with |E_model − E_ref| > threshold form the pool,
 *      of which activeFramesPerRound are picked by farthest-point sampling (inverse distances) from the
 *      worst → active/round_NN/selected.extxyz (reference labels) and round.json (the errors:
 *      the round's fidelity on its own MD)
 *   4. the set grows by them; the next round (or the final training) uses it.
 * The final set is data/train.extxyz (the sampling's part: data/train-sampled.extxyz). Every
 * round is recorded and reused on resume when its settings and inputs match.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { massesAmu } from '../../chem/molecule.js';
import { BOLTZMANN_KCAL_PER_MOL_PER_K, KCAL_PER_MOL_PER_HARTREE } from '../../chem/units.js';
import { runEnsembleWith, runLabel } from '../../dynamics/ensemble.js';
import { DEFAULT_EQUILIBRATION } from '../../dynamics/equilibrate.js';
import { DEFAULT_INTEGRATOR_SETTINGS } from '../../dynamics/integrators.js';
import type { MdSummary } from '../../dynamics/run.js';
import { AtomgpError } from '../../errors.js';
import { failuresError } from '../../exec/executor.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { readXyz } from '../../io/xyz.js';
import { errorStatistics } from '../../math/stats.js';
import { lbfgs } from '../../optimize/lbfgs.js';
import { createPotential } from '../../potentials/factory.js';
import { createResult, type Potential } from '../../potentials/potential.js';
import { type LabelledFrame, readLabelledExtxyz, writeFerebusCsvSets, writeGaussianInputs, writeLabelledExtxyz } from '../../sampling/export.js';
import { farthestPointSampling, inverseDistanceDescriptor } from '../../sampling/select.js';
import { spreadFrames } from '../fidelity.js';
import type { DataSets } from './data.js';
import type { RelaxedMolecule } from './molecule.js';
import { finishedStage, interruptedError, pick, recordStage, type StageContext, stopIfRequested } from './resume.js';
import { activeFramesPerRound, modelSpec, type PipelineSettings } from './settings.js';
import { TRAINING_KEYS, trainModelSet } from './train.js';

export const ACTIVE_KEYS = [
  'activeRounds',
  'activeFraction',
  'activeTimePs',
  'activeReplicas',
  'activeStrideFs',
  'activeThresholdKcalPerMol',
  'mdTemperaturesK',
  'mdTimestepFs',
  'protonTransfer',
  'repulsion',
] as const;

/** What one round found (demo.json `active`). */
export interface ActiveRound {
  round: number;
  /** Training geometries of the round's model. */
  n_train: number;
  runs: number;
  survived: number;
  candidates: number;
  /** The round's model against the reference on all candidates (total energy, kcal/mol). */
  candidate_mae_kcal_per_mol: number;
  candidate_max_abs_kcal_per_mol: number;
  /** Mean signed error: negative when the model lies below the reference. */
  candidate_mean_signed_kcal_per_mol: number;
  /** Candidates with |error| above the threshold, and how many of them were added. */
  above_threshold: number;
  /** Candidates more than the thermal reach above the reference minimum (never added), and that reach, kcal/mol. */
  beyond_thermal_reach: number;
  thermal_reach_kcal_per_mol: number;
  added: number;
}

function roundName(r: number): string {
  return `round_${String(r).padStart(2, '0')}`;
}

/** The record of round `r` (its exploration and selection), relative to the output folder. */
export function activeRecordFile(r: number): string {
  return join('active', roundName(r), 'fingerprint.json');
}

/** The settings round `r` records (its model's training settings included). */
export function activeSettings(s: PipelineSettings, labels: 'atomic' | 'total', r: number): Record<string, unknown> {
  return pick(s, [...ACTIVE_KEYS, ...TRAINING_KEYS], { prior: s.priors[0]!, labels, round: r });
}

/** Frames of one exploration run: equilibration, production, and the last ones before a failure. */
function runFrames(dir: string): Float64Array[] {
  const out: Float64Array[] = [];
  for (const f of ['equilibration.extxyz', 'trajectory.extxyz', 'failure-frames.extxyz']) {
    const p = join(dir, f);
    if (existsSync(p)) for (const fr of readXyz(p)) out.push(fr.positionsA);
  }
  return out;
}

/**
 * How far above the minimum (kcal/mol) NVT at `temperatureK` goes: for n = 3N − 6 harmonic modes
 * E_pot − E_min is Gamma(n/2, k_BT) distributed (mean n/2·k_BT, sd √(n/2)·k_BT); mean + 8 sd
 * is exceeded with probability < 1e-6 per independent sample (n = 21: 1e-7; the tail is longer for
 * small n, whence 8 and not 6 sd: for n = 21, 6 sd leave 1.3e-5).
 */
export function thermalReachKcalPerMol(nAtoms: number, temperatureK: number): number {
  const half = Math.max(1, 3 * nAtoms - 6) / 2;
  return BOLTZMANN_KCAL_PER_MOL_PER_K * temperatureK * (half + 8 * Math.sqrt(half));
}

function referenceMinimumHa(reference: Potential, startA: Float64Array): number {
  const r = createResult(reference.nAtoms);
  reference.compute(startA, r, false);
  return r.energyHa;
}

/** Most frames a round takes from its model's descent from the minimum. */
const DESCENT_FRAMES = 50;

/**
 * The path of L-BFGS on the model from the reference's minimum, at most `maxFrames` geometries
 * spread along it. Where the model's minimum is not the reference's, this walks to the model's own
 * (or into a hole, until a frame is undefined): exactly the geometries the model gets wrong.
 */
export function descentPath(model: Potential, startA: Float64Array, maxFrames: number): Float64Array[] {
  const path: Float64Array[] = [];
  try {
    lbfgs(model, startA, { fmaxKcalPerMolPerA: 0.05, maxSteps: 1000, energyTolKcalPerMol: 1e-6, onStep: (st) => path.push(st.positionsA.slice()) });
  } catch (e) {
    if (!(e instanceof AtomgpError)) throw e; // the path so far is kept: it ends where the model's frame broke down
  }
  return spreadFrames(path.length, maxFrames).map((i) => path[i]!).filter((_, k) => k > 0 || path.length === 1);
}

/**
 * Which candidates to add: those with |error| > `thresholdHa`, at most `count` of them spread by
 * farthest-point sampling (inverse distances) starting from the worst. Returns candidate indices.
 */
export function pickActiveFrames(positionsA: readonly Float64Array[], errorsHa: ArrayLike<number>, count: number, thresholdHa: number): number[] {
  const pool: number[] = [];
  for (let i = 0; i < positionsA.length; i++) if (Math.abs(errorsHa[i]!) > thresholdHa) pool.push(i);
  if (pool.length <= count) return pool;
  const nAtoms = positionsA[0]!.length / 3;
  const dim = (nAtoms * (nAtoms - 1)) / 2;
  const desc = new Float64Array(pool.length * dim);
  pool.forEach((c, k) => {
    inverseDistanceDescriptor(positionsA[c]!, desc.subarray(k * dim, (k + 1) * dim));
  });
  let worst = 0;
  pool.forEach((c, k) => {
    if (Math.abs(errorsHa[c]!) > Math.abs(errorsHa[pool[worst]!]!)) worst = k;
  });
  return farthestPointSampling(desc, dim, count, worst).picked.map((k) => pool[k]!);
}

/** Label `positions` with the reference (energy, forces; atomic energies with atomic labels). */
function label(reference: Potential, positions: readonly Float64Array[], atomic: boolean): LabelledFrame[] {
  const r = createResult(reference.nAtoms);
  return positions.map((p, i) => {
    reference.compute(p, r, true);
    if (!Number.isFinite(r.energyHa)) throw new AtomgpError(`active learning: the reference gave a non-finite energy on candidate ${i + 1}`);
    return {
      positionsA: p,
      energyHa: r.energyHa,
      forcesHaPerBohr: r.forcesHaPerBohr.slice(),
      ...(atomic ? { atomicEnergiesHa: r.atomicEnergiesHa.slice() } : {}),
    };
  });
}

/** A round's NVT runs on its model at every MD temperature; their summaries and every frame they left. */
async function explore(
  ctx: StageContext,
  s: PipelineSettings,
  m: RelaxedMolecule,
  modelDir: string,
  runRoot: string,
  r: number,
  stage: string,
  nTrain: number,
): Promise<{ summaries: MdSummary[]; frames: Float64Array[] }> {
  const prior = s.priors[0]!;
  const steps = Math.round((s.activeTimePs * 1000) / s.mdTimestepFs);
  const stride = Math.max(1, Math.round(s.activeStrideFs / s.mdTimestepFs));
  ctx.log(`${stage}: ${s.mdTemperaturesK.length * s.activeReplicas} NVT run(s) of ${s.activeTimePs} ps at ${s.mdTemperaturesK.join(', ')} K on the ${prior} model of ${nTrain} geometries`);
  const outcome = await runEnsembleWith(
    ctx.executor,
    {
      potentialSpec: modelSpec(s, modelDir),
      symbols: m.symbols,
      massesAmu: massesAmu(m.symbols),
      startPositionsA: m.startA,
      settings: { ...DEFAULT_INTEGRATOR_SETTINGS, ensemble: 'nvt', timestepFs: s.mdTimestepFs, temperatureK: s.mdTemperaturesK[0]! },
      temperaturesK: s.mdTemperaturesK,
      replicas: s.activeReplicas,
      steps,
      // Seeds apart from the final runs' (seed + replica), so the check runs are not the explored ones.
      seed: s.seed + 100_003 * r,
      outDir: runRoot,
      mode: 'overwrite',
      equilibration: DEFAULT_EQUILIBRATION,
      energyMinimum: 'search',
      // exploration, not a verdict: a labile H whose transfer the sampling covers may change partner
      ...(m.labileHydrogens.length > 0 ? { monitorReference: { labileHydrogens: m.labileHydrogens } } : {}),
      logEvery: Math.max(20, stride),
      trajStride: stride,
      progressEvery: 1000,
      onProgress: (q) => ctx.progress(stage, q.stepsDone / q.stepsTotal, `${q.runsDone}/${q.runsTotal} runs`),
      stop: ctx.stopFlag,
    },
    ctx.batchHooks,
  );
  if (outcome.interrupted !== undefined) throw interruptedError(outcome.interrupted, `during ${stage} (Slurm jobs cancelled; its runs are redone on resume)`);
  const stopped = outcome.summaries.find((x) => x?.interrupted !== undefined)?.interrupted;
  if (stopped !== undefined) throw interruptedError(stopped, `during ${stage} (its runs are redone on resume)`);
  if (outcome.failures.length > 0) throw failuresError(stage, outcome.failures);
  const summaries = outcome.summaries as MdSummary[];
  const runDirs = s.mdTemperaturesK.flatMap((t) => Array.from({ length: s.activeReplicas }, (_, k) => join(runRoot, runLabel(t, k))));
  return { summaries, frames: runDirs.flatMap(runFrames) };
}

export async function activeStage(
  ctx: StageContext,
  s: PipelineSettings,
  m: RelaxedMolecule,
  data: DataSets,
  labels: 'atomic' | 'total',
): Promise<{ data: DataSets; rounds: ActiveRound[]; lastModelFiles?: string[] }> {
  if (s.activeRounds === 0) return { data, rounds: [] };
  const prior = s.priors[0]!;
  const root = join(ctx.outDir, 'active');
  let train: LabelledFrame[] = [...data.train];
  let trainFile = data.trainFile;
  const rounds: ActiveRound[] = [];
  let previousFiles: string[] | undefined;
  const thresholdHa = s.activeThresholdKcalPerMol / KCAL_PER_MOL_PER_HARTREE;
  const perRound = activeFramesPerRound(s);
  const capHa = thermalReachKcalPerMol(m.symbols.length, Math.max(...s.mdTemperaturesK)) / KCAL_PER_MOL_PER_HARTREE;
  for (let r = 1; r <= s.activeRounds; r++) {
    const dir = join(root, roundName(r));
    const stage = `active round ${r}`;
    const settings = activeSettings(s, labels, r);
    const modelDir = join(dir, 'models');
    const set = await trainModelSet(ctx, s, m, train, data.system, prior, labels, {
      dir: modelDir,
      stage: `${stage}: training ${prior}`,
      recordFile: join('active', roundName(r), 'models', 'fingerprint.json'),
      inputs: [trainFile, ...(!s.coldStart && labels === 'total' && previousFiles ? previousFiles : [])],
      settings,
      batch: `active-${roundName(r)}`,
      ...(previousFiles ? { warmStartFiles: previousFiles } : {}),
    });
    previousFiles = set.files;
    const selectedFile = join(dir, 'selected.extxyz');
    const recordFile = activeRecordFile(r);
    const inputs = [...set.files, m.file];
    const done = finishedStage<ActiveRound>(ctx, stage, recordFile, settings, inputs, [selectedFile]);
    let added: LabelledFrame[];
    if (done?.result) {
      added = done.result.added > 0 ? readLabelledExtxyz(selectedFile).frames : [];
      rounds.push(done.result);
      ctx.log(`${stage}: reusing ${added.length} added frames`);
    } else {
      const { summaries, frames } = await explore(ctx, s, m, modelDir, join(dir, 'runs'), r, stage, train.length);
      const model = await createPotential(modelSpec(s, modelDir));
      const descent = descentPath(model, m.startA, DESCENT_FRAMES);
      const positions = [...(r === 1 ? [m.startA] : []), ...descent, ...frames];
      ctx.log(`${stage}: the reference on ${positions.length} candidate frames (${descent.length} from the model's descent from the minimum)`);
      const candidates = label(m.reference, positions, labels === 'atomic');
      const res = createResult(m.symbols.length);
      const predicted = Float64Array.from(candidates, (c) => {
        model.compute(c.positionsA, res, false);
        return res.energyHa;
      });
      const labelled = Float64Array.from(candidates, (c) => c.energyHa!);
      const errors = Float64Array.from(predicted, (e, i) => e - labelled[i]!);
      const stats = errorStatistics(predicted, labelled);
      // Round 1 always adds the relaxed minimum (candidate 0): every ΔE is measured from it.
      // Beyond the thermal reach a frame is not one the MD at these temperatures should visit: its
      // error is reported but it is not added (thousands of kcal/mol of a collapsed frame would
      // dominate the fit of the thermal region).
      const eMin = referenceMinimumHa(m.reference, m.startA);
      const beyond = candidates.map((c) => c.energyHa! - eMin > capHa);
      const eligible = Float64Array.from(errors, (e, i) => (beyond[i] ? 0 : e));
      const picked = r === 1 ? [0, ...pickActiveFrames(positions.slice(1), eligible.subarray(1), perRound - 1, thresholdHa).map((i) => i + 1)] : pickActiveFrames(positions, eligible, perRound, thresholdHa);
      added = picked.map((i) => candidates[i]!);
      mkdirSync(dir, { recursive: true });
      writeLabelledExtxyz(selectedFile, m.symbols, added, { reference: m.reference.description, round: r });
      const result: ActiveRound = {
        round: r,
        n_train: train.length,
        runs: summaries.length,
        survived: summaries.filter((x) => x.survived).length,
        candidates: candidates.length,
        candidate_mae_kcal_per_mol: stats.mae * KCAL_PER_MOL_PER_HARTREE,
        candidate_max_abs_kcal_per_mol: stats.maxAbs * KCAL_PER_MOL_PER_HARTREE,
        candidate_mean_signed_kcal_per_mol: stats.meanSigned * KCAL_PER_MOL_PER_HARTREE,
        above_threshold: Array.from(errors).filter((e) => Math.abs(e) > thresholdHa).length,
        beyond_thermal_reach: beyond.filter((b) => b).length,
        thermal_reach_kcal_per_mol: capHa * KCAL_PER_MOL_PER_HARTREE,
        added: added.length,
      };
      writeFileAtomic(join(dir, 'round.json'), `${JSON.stringify({ ...result, errors_kcal_per_mol: Array.from(errors, (e) => e * KCAL_PER_MOL_PER_HARTREE) }, null, 1)}\n`);
      recordStage(ctx, stage, recordFile, settings, inputs, result);
      rounds.push(result);
      ctx.log(
        `${stage}: ${result.survived}/${result.runs} runs survived; model − reference on ${result.candidates} frames: MAE ${result.candidate_mae_kcal_per_mol.toFixed(2)}, max ${result.candidate_max_abs_kcal_per_mol.toFixed(1)} kcal/mol; ${result.above_threshold} above ${s.activeThresholdKcalPerMol} kcal/mol, ${added.length} added`,
      );
    }
    stopIfRequested(ctx, `after ${stage}`);
    train = [...train, ...added];
    trainFile = join(dir, 'train.extxyz');
    writeLabelledExtxyz(trainFile, m.symbols, train, { selection: `${data.train.length} sampled + active rounds 1-${r}` });
  }
  // Rounds that found fewer frames above the threshold leave the set short: the sampling's reserve fills it.
  const fromRounds = train.length - data.train.length;
  const topUp = data.reserve.slice(0, Math.max(0, s.nTrain - train.length));
  train = [...train, ...topUp];
  const finalFile = join(ctx.outDir, 'data', 'train.extxyz');
  writeLabelledExtxyz(finalFile, m.symbols, train, {
    selection: `${data.train.length} sampled + ${fromRounds} from ${s.activeRounds} active round(s) + ${topUp.length} sampled (top-up)`,
  });
  if (s.gaussian) {
    // The Gaussian inputs are of the set the models are trained on.
    const dir = join(ctx.outDir, 'data', 'gaussian', 'train');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeGaussianInputs(dir, data.system, m.symbols, train, { method: s.gaussianMethod, basisSet: s.gaussianBasis });
  }
  if (labels === 'atomic') {
    const idx = (k: number, from = 0): number[] => Array.from({ length: k }, (_, i) => i + from);
    writeFerebusCsvSets(join(ctx.outDir, 'data', 'csv'), data.system, m.symbols, m.alfs, [...train, ...data.valid], idx(train.length), idx(data.valid.length, train.length));
  }
  ctx.log(`active learning: ${train.length} training geometries (${data.train.length + topUp.length} sampled, ${fromRounds} from the model's own MD)`);
  return { data: { ...data, train, trainFile: finalFile }, rounds, ...(previousFiles ? { lastModelFiles: previousFiles } : {}) };
}
