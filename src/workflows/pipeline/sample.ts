/**
 * Pipeline stage 2 (sample): well-tempered metadynamics on the reference from the relaxed start,
 * harvesting labelled frames → sampling/frames.extxyz. Reused on resume when its fingerprint matches.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { massesAmu } from '../../chem/molecule.js';
import { AtomgpError } from '../../errors.js';
import { cvUnit } from '../../sampling/cv.js';
import { type LabelledFrame, readLabelledExtxyz, writeLabelledExtxyz } from '../../sampling/export.js';
import { type HarvestedFrame, runWtmetad } from '../../sampling/wtmetad.js';
import type { RelaxedMolecule } from './molecule.js';
import { finishedStage, pick, RECORD_FILES, recordStage, type StageContext } from './resume.js';
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
  'cvs',
] as const;

export interface SamplingResult {
  frames: LabelledFrame[];
  /** Hills deposited by the run that made the frames. */
  hills: number;
  file: string;
}

export function sampleStage(ctx: StageContext, s: PipelineSettings, m: RelaxedMolecule): SamplingResult {
  const file = join(ctx.outDir, 'sampling', 'frames.extxyz');
  const settings = pick(s, SAMPLING_KEYS);
  const done = finishedStage<{ hills: number }>(ctx, 'sampling', RECORD_FILES.sampling, settings, [m.file], [file]);
  if (done) {
    const frames = readLabelledExtxyz(file).frames;
    ctx.log(`sampling: reusing ${frames.length} frames from ${file}`);
    return { frames, hills: done.result?.hills ?? 0, file };
  }
  const widths = m.cvs.map((c) => (cvUnit(c) === 'rad' ? (s.hillWidthDeg * Math.PI) / 180 : s.hillWidthA));
  ctx.log(`sampling: WTMetaD ${s.sampleSteps} steps × ${s.sampleTimestepFs} fs at ${s.sampleTemperatureK} K, γ = ${s.biasFactor}, CVs ${m.cvs.map((c) => c.label ?? c.kind).join(', ')}`);
  const r = runWtmetad({
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
    ...(s.bondWallFactor > 0 ? { bondWalls: { factor: s.bondWallFactor } } : {}),
    onProgress: (step, nFrames) => ctx.progress('sampling', step / s.sampleSteps, `${nFrames} frames`),
    progressEvery: 500,
  });
  const frames = r.frames as HarvestedFrame[];
  const hills = r.hills.heightsKcalPerMol.length;
  mkdirSync(join(ctx.outDir, 'sampling'), { recursive: true });
  writeLabelledExtxyz(file, m.symbols, frames, { reference: m.reference.description });
  if (!r.completed) {
    throw new AtomgpError(`${r.error?.message ?? `sampling stopped at step ${r.stepsCompleted} of ${s.sampleSteps} (${r.failure?.kind ?? 'failure'})`} Frames so far: ${file}.`);
  }
  recordStage(ctx, 'sampling', RECORD_FILES.sampling, settings, [m.file], { hills });
  ctx.log(`sampling: ${frames.length} frames, ${hills} hills, mean T ${r.meanTemperatureK.toFixed(0)} K, ${r.wallSeconds.toFixed(1)} s`);
  return { frames, hills, file };
}
