/**
 * Honest resume for the pipeline: where each stage records its fingerprint, and the checks that
 * reuse a finished stage only when its settings and input files are unchanged.
 *
 *   molecule.fingerprint.json       stage 1 (relax): molecule source, reference
 *   sampling/fingerprint.json       WTMetaD settings, CVs, molecule.xyz; result: hills deposited
 *   data/fingerprint.json           selection and labels, sampling/frames.extxyz
 *   models/<prior>/fingerprint.json training settings, data/train.extxyz; result: per-atom log L
 *   runs/<prior>/fingerprint.json   NVT settings, the prior's model files, molecule.xyz
 */

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AtomgpError, interruptedRun } from '../../errors.js';
import type { BatchStatus, Executor } from '../../exec/executor.js';
import { hashInputs, makeStageRecord, readStageRecord, type StageRecord, type StageSettings, stageChanges, writeStageRecord } from '../fingerprint.js';
import { type PipelineSettings, priorFolder, SETTING_FLAGS } from './settings.js';

export interface StageContext {
  outDir: string;
  resume: boolean;
  log: (line: string) => void;
  progress: (stage: string, fraction: number, text: string) => void;
  /** Where independent jobs (atomic fits, MD runs) go. */
  executor: Executor;
  batchHooks: { onStatus?: (s: BatchStatus) => void; signal?: AbortSignal };
  /** The signal (e.g. 'SIGTERM') that asked the run to stop, or undefined. */
  stopRequested: () => string | undefined;
  /** The same request in shared memory for worker threads (0: run on; 2 or 15: the signal's number). */
  stopFlag: Int32Array;
}

/** A stage ended early by a signal: the one line the CLI prints, with exit status 128 + the signal's number. */
export const interruptedError = interruptedRun;

/** Between stages: end the run if a signal asked for it. */
export function stopIfRequested(ctx: StageContext, where: string): void {
  const sig = ctx.stopRequested();
  if (sig !== undefined) throw interruptedError(sig, where);
}

/** Stage-record files, relative to the run folder. */
export const RECORD_FILES = {
  molecule: 'molecule.fingerprint.json',
  sampling: join('sampling', 'fingerprint.json'),
  data: join('data', 'fingerprint.json'),
  training: (prior: string): string => join('models', priorFolder(prior), 'fingerprint.json'),
  md: (prior: string): string => join('runs', priorFolder(prior), 'fingerprint.json'),
};

/**
 * Settings added after stage records were first written, with the value that means "as before":
 * recorded only when different, so a stage made before the setting existed resumes when the
 * setting is given that value (and is refused under any other).
 */
const LATER_SETTINGS: Partial<Record<keyof PipelineSettings, unknown>> = { splitSigmaHa: 0, protonTransfer: false, repulsion: 'none' };

/** Whether a setting is one added later and has the value that means "as before" (then it is not recorded). */
export function isLaterDefault(key: string, value: unknown): boolean {
  return key in LATER_SETTINGS && LATER_SETTINGS[key as keyof PipelineSettings] === value;
}

/** The value an unrecorded setting stands for: its "as before" value if it was added later. */
export const laterDefault = (key: string): unknown => LATER_SETTINGS[key as keyof PipelineSettings];

/** The named settings, as a stage records them. */
export function pick(s: PipelineSettings, keys: readonly (keyof PipelineSettings)[], extra: StageSettings = {}): StageSettings {
  const out: StageSettings = {};
  for (const k of keys) if (!isLaterDefault(k, s[k])) out[k] = s[k];
  return { ...out, ...extra };
}

const flag = (key: string): string => (SETTING_FLAGS as Record<string, string>)[key] ?? key;

function refuse(ctx: StageContext, stage: string, changes: readonly string[]): never {
  throw new AtomgpError(`cannot resume ${ctx.outDir}: ${stage} was made with other inputs (${changes.join('; ')}); resume with the recorded settings, or use --overwrite or a new --out`);
}

/**
 * On resume: the record of a stage that finished with these settings and inputs (reuse it), or
 * undefined when it did not finish (run it). A finished stage whose settings or inputs changed is
 * refused. `outputs`: files that must exist for the stage to count as finished.
 */
export function finishedStage<R>(ctx: StageContext, stage: string, recordFile: string, settings: StageSettings, inputFiles: readonly string[], outputs: readonly string[]): StageRecord<R> | undefined {
  if (!ctx.resume) return undefined;
  const record = readStageRecord<R>(join(ctx.outDir, recordFile));
  if (!record || !outputs.every((f) => existsSync(f))) return undefined;
  const changes = stageChanges(record, settings, hashInputs(ctx.outDir, inputFiles), flag, laterDefault);
  if (changes.length > 0) refuse(ctx, stage, changes);
  return record;
}

/**
 * On resume, refuse to continue from a checkpoint (a stage stopped part-way) whose recorded
 * settings or inputs differ from the current ones.
 */
export function checkCheckpointRecord(ctx: StageContext, stage: string, record: StageRecord, settings: StageSettings, inputFiles?: readonly string[]): void {
  const inputs = inputFiles ? hashInputs(ctx.outDir, inputFiles) : record.inputs;
  const changes = stageChanges(record, settings, inputs, flag, laterDefault);
  if (changes.length > 0) refuse(ctx, stage, changes);
}

/**
 * On resume, refuse a stage whose recorded settings (and, when `inputFiles` is given, inputs)
 * differ. For the preflight before any work, and for stages that are redone anyway.
 */
export function checkStageSettings(ctx: StageContext, stage: string, recordFile: string, settings: StageSettings, inputFiles?: readonly string[]): void {
  if (!ctx.resume) return;
  const record = readStageRecord(join(ctx.outDir, recordFile));
  if (!record) return;
  const inputs = inputFiles ? hashInputs(ctx.outDir, inputFiles) : record.inputs;
  const changes = stageChanges(record, settings, inputs, flag, laterDefault);
  if (changes.length > 0) refuse(ctx, stage, changes);
}

/** Record a finished stage (after its outputs are written). */
export function recordStage<R>(ctx: StageContext, stage: string, recordFile: string, settings: StageSettings, inputFiles: readonly string[], result?: R): void {
  writeStageRecord(join(ctx.outDir, recordFile), makeStageRecord(stage, settings, hashInputs(ctx.outDir, inputFiles), result));
}

/**
 * Before any work on a resume: a prior whose models or runs are in the folder but not in --priors
 * means the priors changed (its folders would stay beside the new ones).
 */
export function checkPriorFolders(ctx: StageContext, priors: readonly string[]): void {
  if (!ctx.resume) return;
  const wanted = new Set(priors.map(priorFolder));
  for (const root of ['models', 'runs']) {
    const dir = join(ctx.outDir, root);
    if (!existsSync(dir)) continue;
    const stale = readdirSync(dir).filter((d) => statSync(join(dir, d)).isDirectory() && !wanted.has(d));
    if (stale.length > 0) {
      throw new AtomgpError(
        `cannot resume ${ctx.outDir}: --priors changed (${root}/ holds ${stale.join(', ')}, not in --priors ${priors.join(',')}); resume with the recorded priors, or use --overwrite or a new --out`,
      );
    }
  }
}
