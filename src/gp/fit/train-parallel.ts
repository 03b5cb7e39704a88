/**
 * Training several atomic GPs at once: a molecule's atoms are independent fits, so they run in a
 * pool of `node:worker_threads` workers (train-worker.ts), one atom per worker at a time. Each
 * task carries its own seed, so the results do not depend on the number of workers (bit-identical
 * models for --jobs 1 and --jobs N, apart from the `# wall_time_s` line). With one job (or one
 * task) everything runs in this thread.
 *
 * Also the model-set refit (`refitModelSet`): every `.model` file of a folder refit with another
 * prior mean and written under the same file name into another folder.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { AtomgpError } from '../../errors.js';
import { readModel, writeModel } from '../../io/model.js';
import { startSiblingWorker } from '../../util/worker.js';
import type { GpModel } from '../model/model.js';
import { type RefitOptions, refitFromModel, type TrainInput, type TrainProgress, type TrainResult, trainAtomModel } from './train.js';

/** One fit, as plain (structured-cloneable) data. */
export type TrainTask =
  | { kind: 'train'; input: Omit<TrainInput, 'onProgress'> }
  | { kind: 'refit'; model: GpModel; opts: Omit<RefitOptions, 'onProgress'> };

export type TrainWorkerMessage =
  | { type: 'progress'; id: number; progress: TrainProgress }
  | { type: 'done'; id: number; result: TrainResult }
  | { type: 'error'; id: number; message: string; userError: boolean; stack: string };

/** Run one task in this thread. */
export function runTrainTask(task: TrainTask, onProgress?: (p: TrainProgress) => void): TrainResult {
  if (task.kind === 'train') return trainAtomModel(onProgress ? { ...task.input, onProgress } : task.input);
  return refitFromModel(task.model, onProgress ? { ...task.opts, onProgress } : task.opts);
}

export interface ParallelOptions {
  /** Worker threads (default 1: in this thread). */
  jobs?: number;
  onProgress?: (task: number, p: TrainProgress) => void;
  /** Called when a task finishes (in completion order). */
  onDone?: (task: number, result: TrainResult) => void;
}

/** Run the tasks on `jobs` workers; resolves with the results in task order. */
export async function runTrainTasks(tasks: TrainTask[], opts: ParallelOptions = {}): Promise<TrainResult[]> {
  const jobs = opts.jobs ?? 1;
  if (!(Number.isInteger(jobs) && jobs >= 1)) throw new AtomgpError(`jobs must be a positive integer, got ${jobs}`);
  const results: TrainResult[] = new Array(tasks.length);
  if (jobs === 1 || tasks.length <= 1) {
    tasks.forEach((task, i) => {
      results[i] = runTrainTask(task, opts.onProgress ? (p) => opts.onProgress!(i, p) : undefined);
      opts.onDone?.(i, results[i]!);
    });
    return results;
  }
  const nWorkers = Math.min(jobs, tasks.length);
  let next = 0;
  let failure: Error | undefined;
  const workers: Worker[] = [];
  await new Promise<void>((resolve) => {
    let active = 0;
    const feed = (w: Worker): void => {
      if (failure || next >= tasks.length) {
        void w.terminate();
        active--;
        if (active === 0) resolve();
        return;
      }
      const id = next++;
      w.postMessage({ type: 'task', id, task: tasks[id] });
    };
    for (let k = 0; k < nWorkers; k++) {
      const w = startSiblingWorker(import.meta.url, 'train-worker');
      workers.push(w);
      active++;
      w.on('message', (m: TrainWorkerMessage) => {
        if (m.type === 'progress') {
          opts.onProgress?.(m.id, m.progress);
        } else if (m.type === 'done') {
          results[m.id] = m.result;
          opts.onDone?.(m.id, m.result);
          feed(w);
        } else {
          if (!failure) {
            failure = m.userError ? new AtomgpError(m.message) : Object.assign(new Error(m.message), { stack: m.stack });
          }
          feed(w);
        }
      });
      w.on('error', (e) => {
        if (!failure) failure = e;
        active--;
        if (active === 0) resolve();
      });
      feed(w);
    }
  });
  if (failure) throw failure;
  return results;
}

export interface RefitSetEntry {
  /** Input model file. */
  source: string;
  /** Output model file (same file name in outDir). */
  path: string;
  result: TrainResult;
}

/** Read a model for refitting; a file without training data gets the message users need. */
export function readModelForRefit(path: string): GpModel {
  try {
    return readModel(path);
  } catch (e) {
    if (e instanceof AtomgpError && /\[training_data\.x\]/.test(e.message)) {
      let text = '';
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        // readModel already said why it cannot be read
      }
      if (!/^\s*\[training_data\.x\]/m.test(text)) throw new AtomgpError(`cannot refit: ${path} has no [training_data.x]`);
    }
    throw e;
  }
}

/** `.model` files of a folder (sorted), or the file itself. */
export function modelFiles(fileOrDir: string): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(fileOrDir).isDirectory();
  } catch {
    throw new AtomgpError(`${fileOrDir}: does not exist (expected a .model file or a folder of them)`);
  }
  if (!isDir) return [fileOrDir];
  const names = readdirSync(fileOrDir)
    .filter((n) => n.endsWith('.model'))
    .sort();
  if (names.length === 0) throw new AtomgpError(`${fileOrDir}: no .model files in this folder`);
  return names.map((n) => join(fileOrDir, n));
}

/**
 * Refit every `.model` file in `dir` (or one file) with `opts` and write each to `outDir` under
 * the same file name (system name, atom, property and ALF kept). Deterministic for any `jobs`.
 */
export async function refitModelSet(
  dir: string,
  outDir: string,
  opts: Omit<RefitOptions, 'onProgress'> & { jobs?: number; onProgress?: ParallelOptions['onProgress'] } = {},
): Promise<RefitSetEntry[]> {
  const files = modelFiles(dir);
  const models = files.map(readModelForRefit);
  const { jobs, onProgress, ...refit } = opts;
  const tasks: TrainTask[] = models.map((model) => ({ kind: 'refit', model, opts: refit }));
  const results = await runTrainTasks(tasks, { ...(jobs !== undefined ? { jobs } : {}), ...(onProgress ? { onProgress } : {}) });
  mkdirSync(outDir, { recursive: true });
  return results.map((result, i) => {
    const path = join(outDir, basename(files[i]!));
    writeModel(path, result.model);
    return { source: files[i]!, path, result };
  });
}
