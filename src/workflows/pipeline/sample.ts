/**
 * Pipeline stage 2 (sample): well-tempered metadynamics on the reference from the relaxed start,
 * harvesting labelled frames → sampling/frames.extxyz. Reused on resume when its fingerprint matches.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { massesAmu } from '../../chem/molecule.js';
import { AtomgpError } from '../../errors.js';
import { bondWallsFromStart } from '../../sampling/bias.js';
import { readWtmetadCheckpoint, writeWtmetadCheckpoint } from '../../sampling/checkpoint.js';
import { cvUnit } from '../../sampling/cv.js';
import { type LabelledFrame, readLabelledExtxyz, writeLabelledExtxyz } from '../../sampling/export.js';
import { type HarvestedFrame, runWtmetadInterruptible, type WtmetadCheckpoint } from '../../sampling/wtmetad.js';
import { hashInputs, makeStageRecord, type StageRecord } from '../fingerprint.js';
import type { RelaxedMolecule } from './molecule.js';
import { checkCheckpointRecord, finishedStage, interruptedError, pick, RECORD_FILES, recordStage, type StageContext } from './resume.js';
import type { PipelineSettings } from './settings.js';

export const SAMPLING_KEYS = [
  'seed',
  'sampleTemperatureK',
  'sampleSteps',
  'sampleTimestepFs',
  'harvestEvery',
  'biasFactor',
  'hillHeightKcalPerMol',
  'hillWidthDeg',
  'hillWidthA',
  'hillStrideSteps',
  'bondWallFactor',
  'protonTransfer',
  'cvs',
] as const;


export interface SamplingResult {
  frames: LabelledFrame[];
  /** Hills deposited by the run that made the frames. */
  hills: number;
  file: string;
}

/** Steps between two checkpoints of the sampling (and at a signal); not a setting: the run does not depend on it. */
export const SAMPLING_CHECKPOINT_EVERY = 5000;

export const samplingCheckpointFile = (outDir: string): string => join(outDir, 'sampling', 'checkpoint.json');

/** On resume: the sampling checkpoint, refused when it was written with other settings (before any work). */
export function checkSamplingCheckpoint(ctx: StageContext, s: PipelineSettings): void {
  const file = samplingCheckpointFile(ctx.outDir);
  if (!ctx.resume || !existsSync(file)) return;
  checkCheckpointRecord(ctx, 'sampling (stopped part-way)', readWtmetadCheckpoint(file).fingerprint as unknown as StageRecord, pick(s, SAMPLING_KEYS));
}

export async function sampleStage(ctx: StageContext, s: PipelineSettings, m: RelaxedMolecule): Promise<SamplingResult> {
  const file = join(ctx.outDir, 'sampling', 'frames.extxyz');
  const cpFile = samplingCheckpointFile(ctx.outDir);
  const settings = pick(s, SAMPLING_KEYS);
  const done = finishedStage<{ hills: number }>(ctx, 'sampling', RECORD_FILES.sampling, settings, [m.file], [file]);
  if (done) {
    const frames = readLabelledExtxyz(file).frames;
    ctx.log(`sampling: reusing ${frames.length} frames from ${file}`);
    return { frames, hills: done.result?.hills ?? 0, file };
  }
  // A sampling stopped by a signal (or killed after a checkpoint) continues from its checkpoint.
  const record = makeStageRecord('sampling (checkpoint)', settings, hashInputs(ctx.outDir, [m.file]));
  let resumeFrom: WtmetadCheckpoint | undefined;
  if (ctx.resume && existsSync(cpFile)) {
    const saved = readWtmetadCheckpoint(cpFile);
    checkCheckpointRecord(ctx, 'sampling (stopped part-way)', saved.fingerprint as unknown as StageRecord, settings, [m.file]);
    resumeFrom = saved.checkpoint;
    ctx.log(`sampling: continuing from the checkpoint at step ${resumeFrom.state.step} (${resumeFrom.frames.length} frames, ${resumeFrom.hills.heightsKcalPerMol.length} hills)`);
  }
  const widths = m.cvs.map((c) => (cvUnit(c) === 'rad' ? (s.hillWidthDeg * Math.PI) / 180 : s.hillWidthA));
  ctx.log(`sampling: WTMetaD ${s.sampleSteps} steps × ${s.sampleTimestepFs} fs at ${s.sampleTemperatureK} K, γ = ${s.biasFactor}, CVs ${m.cvs.map((c) => c.label ?? c.kind).join(', ')}`);
  mkdirSync(join(ctx.outDir, 'sampling'), { recursive: true });
  const r = await runWtmetadInterruptible(
    {
      potential: m.reference,
      symbols: m.symbols,
      massesAmu: massesAmu(m.symbols),
      startPositionsA: m.startA,
      cvs: m.cvs,
      temperatureK: s.sampleTemperatureK,
      biasFactor: s.biasFactor,
      hillHeightKcalPerMol: s.hillHeightKcalPerMol,
      hillWidths: widths,
      strideSteps: s.hillStrideSteps,
      timestepFs: s.sampleTimestepFs,
      steps: s.sampleSteps,
      harvestEvery: s.harvestEvery,
      seed: s.seed,
      ...(s.bondWallFactor > 0 ? { bondWalls: bondWallsFromStart(m.symbols, m.startA, s.bondWallFactor, undefined, m.labileHydrogens) } : {}),
      ...(resumeFrom ? { resumeFrom } : {}),
      onProgress: (step, nFrames) => ctx.progress('sampling', step / s.sampleSteps, `${nFrames} frames`),
      progressEvery: 500,
    },
    ctx.stopRequested,
    { checkpointEvery: SAMPLING_CHECKPOINT_EVERY, onCheckpoint: (cp) => writeWtmetadCheckpoint(cpFile, cp, record as unknown as Record<string, unknown>) },
  );
  if (r.interrupted !== undefined) throw interruptedError(r.interrupted, `during sampling at step ${r.stepsCompleted} of ${s.sampleSteps} (checkpoint written)`);
  const frames = r.frames as HarvestedFrame[];
  const hills = r.hills.heightsKcalPerMol.length;
  writeLabelledExtxyz(file, m.symbols, frames, { reference: m.reference.description });
  if (!r.completed) {
    throw new AtomgpError(`${r.error?.message ?? `sampling stopped at step ${r.stepsCompleted} of ${s.sampleSteps} (${r.failure?.kind ?? 'failure'})`} Frames so far: ${file}.`);
  }
  recordStage(ctx, 'sampling', RECORD_FILES.sampling, settings, [m.file], { hills });
  rmSync(cpFile, { force: true });
  ctx.log(`sampling: ${frames.length} frames, ${hills} hills, mean T ${r.meanTemperatureK.toFixed(0)} K, ${r.wallSeconds.toFixed(1)} s`);
  return { frames, hills, file };
}
