/**
 * Training several atomic GPs at once: a molecule's atoms are independent fits, so they run in a
 * pool of `node:worker_threads` workers (train-worker.ts), one atom per worker at a time. Each
 * task carries its own seed, so the results do not depend on the number of workers (bit-identical
 * models for --jobs 1 and --jobs N, apart from the `# wall_time_s` line). With one job (or one
 * task) everything runs in this thread.
 * Reading and writing model files is io/'s (workflows/refit-set.ts `refitModelSet`).
 */
import type { Worker } from 'node:worker_threads';
import { AtomgpError, InterruptedError } from '../../errors.js';
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
  /**
   * Aborting ends the fits at once (their workers are terminated) and rejects with an
   * `InterruptedError` naming the abort's reason (e.g. 'SIGTERM'). With a signal even one job runs
   * in a worker, so that this thread stays free to notice it; the results are the same.
   */
  signal?: AbortSignal;
}

/** Run the tasks on `jobs` workers; resolves with the results in task order. */
export async function runTrainTasks(tasks: TrainTask[], opts: ParallelOptions = {}): Promise<TrainResult[]> {
  const jobs = opts.jobs ?? 1;
  if (!(Number.isInteger(jobs) && jobs >= 1)) throw new AtomgpError(`jobs must be a positive integer, got ${jobs}`);
  const results: TrainResult[] = new Array(tasks.length);
  const signal = opts.signal;
  if (signal?.aborted) throw new InterruptedError(String(signal.reason), `fits interrupted by ${String(signal.reason)}`);
  if ((jobs === 1 || tasks.length <= 1) && signal === undefined) {
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
  let interrupted: string | undefined;
  await new Promise<void>((resolve) => {
    let active = 0;
    const onAbort = (): void => {
      interrupted = String(signal!.reason);
      for (const w of workers) void w.terminate();
      resolve();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const feed = (w: Worker): void => {
      if (interrupted !== undefined) return;
      if (failure || next >= tasks.length) {
        void w.terminate();
        active--;
        if (active === 0) done();
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
        if (active === 0) done();
      });
      feed(w);
    }
  });
  if (interrupted !== undefined) throw new InterruptedError(interrupted, `fits interrupted by ${interrupted}`);
  if (failure) throw failure;
  return results;
}
