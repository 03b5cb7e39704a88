/**
 * Stage 1 of the study: the original model set refit once per prior mean from the training data
 * stored in its files (gp/train-parallel.ts `runTrainTasks`, deterministic) → models/<prior>/, each
 * with a fingerprint of its settings and of the original model files. A finished refit is renamed
 * into place; on resume it is reused when its fingerprint matches, and a change is refused.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { AtomgpError, InterruptedError, interruptedRun } from '../../errors.js';
import { type BatchStatus, type Executor, failuresError, runBatch } from '../../exec/executor.js';
import type { TrainResult } from '../../gp/fit/train.js';
import { runTrainTasks, type TrainTask } from '../../gp/fit/train-parallel.js';
import type { GpModel } from '../../gp/model/model.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { writeModel } from '../../io/model.js';
import type { ModelSet } from '../../io/modelset.js';
import { hashInputs, makeStageRecord, readStageRecord, stageChanges, writeStageRecord } from '../fingerprint.js';
import type { PriorEntry, StudyJson } from './settings.js';

export interface RefitOptions {
  outDir: string;
  priors: readonly PriorEntry[];
  original: ModelSet;
  keepHyperparameters: boolean;
  seed: number;
  workers: number;
  /** Where the fits run (default: `workers` worker threads); on Slurm the batch is OUT/slurm/refit/. */
  executor?: Executor;
  onBatchStatus?: (s: BatchStatus) => void;
  signal?: AbortSignal;
  say: (text: string) => void;
}

function describeMean(m: GpModel): string {
  const mean = m.mean;
  if (mean.type === 'zero') return 'zero';
  if (mean.type === 'constant') return `constant ${mean.value.toFixed(6)} Ha`;
  return `${mean.type} (y_min ${mean.yMin.toFixed(6)} Ha, β ${Array.from(mean.beta, (b) => b.toExponential(2)).join(' ')})`;
}

const RECORD = 'fingerprint.json';

/** Refit every prior whose folder is missing or unfinished; returns the refit log (models/refits.json). */
export async function refitStage(o: RefitOptions): Promise<StudyJson['refits']> {
  const modelsRoot = join(o.outDir, 'models');
  mkdirSync(modelsRoot, { recursive: true });
  const keep = o.keepHyperparameters;
  const inputFiles = o.original.models.map((m) => m.source ?? '').filter((f) => f !== '');
  const inputs = hashInputs(o.outDir, inputFiles);
  const settingsOf = (p: PriorEntry): Record<string, unknown> => ({ prior: p.prior, keep_hyperparameters: keep, seed: o.seed });
  const missing = o.priors.filter((p) => {
    const dir = join(modelsRoot, p.dirName);
    if (!existsSync(dir)) return true;
    const record = readStageRecord(join(dir, RECORD));
    if (!record) {
      rmSync(dir, { recursive: true, force: true }); // no fingerprint: an unfinished or older refit, redone
      return true;
    }
    const changes = stageChanges(record, settingsOf(p), inputs);
    if (changes.length > 0) throw new AtomgpError(`cannot resume the study in ${o.outDir}: the refit ${p.label} was made from other inputs (${changes.join('; ')}); use a new --out`);
    return false;
  });
  const refitLog = join(modelsRoot, 'refits.json');
  const refits: StudyJson['refits'] = existsSync(refitLog) ? (JSON.parse(readFileSync(refitLog, 'utf8')) as StudyJson['refits']) : [];
  if (missing.length === 0) {
    o.say('refit model sets: all present (resume)');
    return refits;
  }
  const original = o.original;
  const tasks: TrainTask[] = [];
  for (const p of missing) for (const m of original.models) tasks.push({ kind: 'refit', model: m, opts: { prior: p.prior, keepHyperparameters: keep, seed: o.seed } });
  o.say(`refitting ${missing.length} model set${missing.length > 1 ? 's' : ''} (${tasks.length} atomic models, ${keep ? 'hyperparameters kept' : 'hyperparameters re-optimised'}) …`);
  let finished = 0;
  const t0 = performance.now();
  const onDone = (i: number, r: TrainResult): void => {
    finished++;
    const p = missing[Math.floor(i / original.nAtoms)]!;
    o.say(`refit ${finished}/${tasks.length}: ${p.label} ${r.model.atom} (log L ${r.logLikelihood.toFixed(2)}, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  };
  const outcome = await runBatch<TrainTask, TrainResult>(
    o.executor ?? { kind: 'local', workers: Math.max(1, o.workers) },
    { kind: 'train', dir: join(o.outDir, 'slurm', 'refit'), name: 'refit', tasks: tasks.map((t, i) => ({ label: `${missing[Math.floor(i / original.nAtoms)]!.label} ${original.models[i % original.nAtoms]!.atom}`, input: t })) },
    (workers) => runTrainTasks(tasks, { jobs: workers, onDone, ...(o.signal ? { signal: o.signal } : {}) }),
    { onDone, ...(o.onBatchStatus ? { onStatus: o.onBatchStatus } : {}), ...(o.signal ? { signal: o.signal } : {}) },
  ).catch((e: unknown) => {
    if (e instanceof InterruptedError) throw interruptedRun(e.signal, 'during the refits (they are redone on --resume)');
    throw e;
  });
  if (outcome.interrupted !== undefined) throw interruptedRun(outcome.interrupted, 'during the refits (Slurm jobs cancelled)');
  if (outcome.failures.length > 0) throw failuresError('refits', outcome.failures);
  const results = outcome.results as TrainResult[];
  missing.forEach((p, k) => {
    const partial = join(modelsRoot, `${p.dirName}.partial`);
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    original.models.forEach((m, a) => {
      const r = results[k * original.nAtoms + a]!;
      writeModel(join(partial, basename(m.source ?? `${m.systemName}_${m.property}_${m.atom}.model`)), r.model);
      const rec = { prior: p.label, atom: r.model.atom, log_likelihood: r.logLikelihood, mean: describeMean(r.model), theta_kept: keep };
      const at = refits.findIndex((x) => x.prior === rec.prior && x.atom === rec.atom);
      if (at >= 0) refits[at] = rec;
      else refits.push(rec);
    });
    writeStageRecord(join(partial, RECORD), makeStageRecord(`refit ${p.label}`, settingsOf(p), inputs));
    renameSync(partial, join(modelsRoot, p.dirName));
  });
  writeFileAtomic(refitLog, JSON.stringify(refits, null, 2) + '\n');
  return refits;
}
