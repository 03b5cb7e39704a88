/**
 * Pipeline stages 3-4 (select, label): training and validation sets from the sampled frames →
 * data/train.extxyz (data/train-sampled.extxyz with active learning), data/valid.extxyz; with atomic labels the ichor/FEREBUS CSV sets
 * (data/csv/), and on request Gaussian inputs (data/gaussian/). Deterministic and cheap, so it is
 * redone on resume, after checking that its recorded settings still hold.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type LabelledFrame, writeFerebusCsvSets, writeGaussianInputs, writeLabelledExtxyz } from '../../sampling/export.js';
import { selectTrainingSets } from '../../sampling/select.js';
import type { RelaxedMolecule } from './molecule.js';
import { checkStageSettings, pick, RECORD_FILES, recordStage, type StageContext } from './resume.js';
import { type PipelineSettings, sampledTrainCount } from './settings.js';

export const DATA_KEYS = ['seed', 'nTrain', 'nValid', 'selection', 'gaussian', 'gaussianMethod', 'gaussianBasis'] as const;

export interface DataSets {
  train: LabelledFrame[];
  /** Selected training frames the active rounds stand in for (in selection order); they fill a set the rounds left short. */
  reserve: LabelledFrame[];
  valid: LabelledFrame[];
  trainFile: string;
  validFile: string;
  /** System name of the model and CSV files (`MALONDIALDEHYDE`). */
  system: string;
}

export function dataSettings(s: PipelineSettings, labels: 'atomic' | 'total'): Record<string, unknown> {
  // Active learning takes part of nTrain; without it the record is what it always was.
  return pick(s, DATA_KEYS, { labels, ...(s.activeRounds > 0 ? { activeRounds: s.activeRounds, activeFraction: s.activeFraction } : {}) });
}

export function selectStage(ctx: StageContext, s: PipelineSettings, m: RelaxedMolecule, frames: readonly LabelledFrame[], framesFile: string, labels: 'atomic' | 'total'): DataSets {
  const settings = dataSettings(s, labels);
  checkStageSettings(ctx, 'data', RECORD_FILES.data, settings, [framesFile]);
  // nTrain are selected whatever the active learning takes, so the validation set is the same with
  // and without it; the active rounds replace the last of them (the reserve, kept for a top-up).
  const sel = selectTrainingSets(frames, s.nTrain, s.nValid, s.selection, s.seed);
  const train = sel.train.slice(0, sampledTrainCount(s)).map((i) => frames[i]!);
  const reserve = sel.train.slice(sampledTrainCount(s)).map((i) => frames[i]!);
  const valid = sel.valid.map((i) => frames[i]!);
  const dataDir = join(ctx.outDir, 'data');
  mkdirSync(dataDir, { recursive: true });
  // With active learning data/train.extxyz is the final set (active.ts), the sampling's part is kept apart.
  const trainFile = join(dataDir, s.activeRounds > 0 ? 'train-sampled.extxyz' : 'train.extxyz');
  const validFile = join(dataDir, 'valid.extxyz');
  writeLabelledExtxyz(trainFile, m.symbols, train, { selection: sel.rule });
  writeLabelledExtxyz(validFile, m.symbols, valid, { selection: sel.rule });
  const system = m.name.toUpperCase().replace(/[^A-Z0-9]/g, '');
  if (labels === 'atomic') {
    const idx = (k: number): number[] => Array.from({ length: k }, (_, i) => i);
    mkdirSync(join(dataDir, 'csv'), { recursive: true });
    writeFerebusCsvSets(join(dataDir, 'csv'), system, m.symbols, m.alfs, [...train, ...valid], idx(train.length), idx(valid.length).map((i) => i + train.length));
  }
  if (s.gaussian) {
    const g = { method: s.gaussianMethod, basisSet: s.gaussianBasis };
    for (const [what, set] of [['train', train], ['valid', valid]] as const) {
      const dir = join(dataDir, 'gaussian', what);
      mkdirSync(dir, { recursive: true });
      writeGaussianInputs(dir, system, m.symbols, set, g);
    }
    ctx.log(`data: Gaussian inputs (${s.gaussianMethod}/${s.gaussianBasis}, output=wfn) in ${join(dataDir, 'gaussian')}`);
  }
  recordStage(ctx, 'data', RECORD_FILES.data, settings, [framesFile]);
  ctx.log(`data: ${train.length} training + ${valid.length} validation frames (${sel.rule}: ${sel.descriptor})`);
  return { train, reserve, valid, trainFile, validFile, system };
}
