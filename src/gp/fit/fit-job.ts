/**
 * The two long fits of a total-energy model set — the additive model's hyperparameter search
 * (additive.ts) and the weight refit on energies and forces (additive-forces.ts) — as jobs that run
 * in a worker thread (fit-job-worker.ts). They take minutes to half an hour on a 23-atom molecule;
 * run in the main thread they keep it from noticing SIGINT/SIGTERM until they end. In a worker the
 * main thread stays free: an abort terminates the worker at once. The result is the same as in the
 * main thread (the same code on structured-cloned inputs).
 */
import { AtomgpError, InterruptedError } from '../../errors.js';
import { startSiblingWorker } from '../../util/worker.js';
import type { GpModel } from '../model/model.js';
import { type AdditiveProgress, type AdditiveTrainInput, type AdditiveTrainResult, trainAdditive } from './additive.js';
import { type ForceFitFrame, type ForceFitOptions, type ForceFitResult, refitAdditiveWithForces } from './additive-forces.js';

export type FitJob =
  | { kind: 'additive'; input: Omit<AdditiveTrainInput, 'onProgress'> }
  | { kind: 'force-fit'; models: GpModel[]; frames: ForceFitFrame[]; opts: Omit<ForceFitOptions, 'onProgress' | 'lapack'> & { lapack?: false } };

export type FitJobProgress = { kind: 'additive'; progress: AdditiveProgress } | { kind: 'force-fit'; done: number; all: number };

export type FitJobMessage =
  | { type: 'progress'; progress: FitJobProgress }
  | { type: 'done'; result: AdditiveTrainResult | ForceFitResult }
  | { type: 'error'; message: string; userError: boolean; stack: string };

/** Run a job in this thread. */
export function runFitJob(job: FitJob, onProgress?: (p: FitJobProgress) => void): AdditiveTrainResult | ForceFitResult {
  if (job.kind === 'additive') return trainAdditive(onProgress ? { ...job.input, onProgress: (progress) => onProgress({ kind: 'additive', progress }) } : job.input);
  return refitAdditiveWithForces(job.models, job.frames, onProgress ? { ...job.opts, onProgress: (done, all) => onProgress({ kind: 'force-fit', done, all }) } : job.opts);
}

export interface FitJobOptions {
  onProgress?: (p: FitJobProgress) => void;
  /** Aborting terminates the worker and rejects with an `InterruptedError` naming the reason. */
  signal?: AbortSignal;
}

/** Run a job in a worker thread; resolves with its result. */
export function runFitJobInWorker(job: FitJob, opts: FitJobOptions = {}): Promise<AdditiveTrainResult | ForceFitResult> {
  const { signal, onProgress } = opts;
  if (signal?.aborted) return Promise.reject(new InterruptedError(String(signal.reason), `fit interrupted by ${String(signal.reason)}`));
  const w = startSiblingWorker(import.meta.url, 'fit-job-worker');
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void w.terminate();
      f();
    };
    const onAbort = (): void => finish(() => reject(new InterruptedError(String(signal!.reason), `fit interrupted by ${String(signal!.reason)}`)));
    signal?.addEventListener('abort', onAbort, { once: true });
    w.on('message', (m: FitJobMessage) => {
      if (m.type === 'progress') onProgress?.(m.progress);
      else if (m.type === 'done') finish(() => resolve(m.result));
      else finish(() => reject(m.userError ? new AtomgpError(m.message) : Object.assign(new Error(m.message), { stack: m.stack })));
    });
    w.on('error', (e) => finish(() => reject(e)));
    w.on('exit', (code) => finish(() => reject(new Error(`fit worker exited with code ${code} before its result`))));
    w.postMessage(job);
  });
}

/** `trainAdditive` in a worker thread. */
export async function trainAdditiveInWorker(input: AdditiveTrainInput, signal?: AbortSignal): Promise<AdditiveTrainResult> {
  const { onProgress, ...rest } = input;
  return (await runFitJobInWorker(
    { kind: 'additive', input: rest },
    { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress: (p) => p.kind === 'additive' && onProgress(p.progress) } : {}) },
  )) as AdditiveTrainResult;
}

/** `refitAdditiveWithForces` in a worker thread (the worker loads its own LAPACK). */
export async function refitAdditiveWithForcesInWorker(models: GpModel[], frames: ForceFitFrame[], opts: ForceFitOptions, signal?: AbortSignal): Promise<ForceFitResult> {
  const { onProgress, lapack, ...rest } = opts;
  if (lapack !== undefined && lapack !== false) throw new AtomgpError('force fit in a worker: pass lapack false or leave it to the worker');
  return (await runFitJobInWorker(
    { kind: 'force-fit', models, frames, opts: { ...rest, ...(lapack === false ? { lapack: false as const } : {}) } },
    { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress: (p) => p.kind === 'force-fit' && onProgress(p.done, p.all) } : {}) },
  )) as ForceFitResult;
}
