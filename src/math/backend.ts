/**
 * Which implementation does atomgp's dense linear algebra: chosen once per process, here, like
 * OpenMM's Platform. The three back ends share one contract (`DenseBackend`):
 *   native  OpenBLAS/LAPACK through koffi (native-lapack.ts) for the O(n³) factorisation and
 *           inverse and the level-3 products;
 *   wasm    atomgp's blocked wasm-SIMD kernels (linalg-wasm.ts, driven by linalg.ts), optionally
 *           on a team of threads sharing one wasm memory (linalg-team.ts);
 *   js      the same blocked algorithms in plain TypeScript (linalg.ts), the reference.
 *
 * This module is the only place that reads the environment for them:
 *   ATOMGP_LAPACK           unset/`auto`: OpenBLAS when it loads; `off`: never; a path or soname:
 *                           that library (an error if it cannot be loaded);
 *   ATOMGP_NO_WASM          set and not `0`: no wasm kernels (linear algebra and prediction);
 *   ATOMGP_PREDICT_BACKEND  unset/`auto`: the native kernel when it loads (native-predict.ts), else
 *                           wasm; `native`: the native kernel (an error if it cannot be loaded);
 *                           `wasm`: the WebAssembly kernel; `ts` (or `js`, `typescript`): the
 *                           TypeScript prediction pass;
 *   ATOMGP_THREADS          threads per likelihood evaluation, and per call of a large GP model
 *                           set (potentials/gp.ts; 1 disables the team).
 * Library users can set the same choices in code with `configureBackend` before first use.
 */
import { availableParallelism } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { AtomgpError } from '../errors.js';

export type PredictSetting = 'auto' | 'native' | 'wasm' | 'ts';

export interface BackendSettings {
  /** `auto`, `off`, or the path/soname of a LAPACK library. */
  lapack: string;
  /** Whether the wasm-SIMD kernels may be used (linear algebra and prediction). */
  wasm: boolean;
  /** Prediction pass: `auto` (native, else wasm, when available), `native`, `wasm` or `ts`. */
  predict: PredictSetting;
  /** Threads per likelihood evaluation, or undefined for the default (2 on the main thread). */
  threads?: number;
}

/** Largest team of threads (the wasm memories reserve one result slot per thread). */
export const MAX_THREADS = 8;

let settings: BackendSettings | undefined;
/** An invalid ATOMGP_THREADS, reported when threads are asked for (not when predicting). */
let threadsError: string | undefined;
/** An unknown ATOMGP_PREDICT_BACKEND, reported when a prediction kernel is chosen. */
let predictError: string | undefined;

/** The settings from an environment (the only reader of these variables). */
export function settingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): { settings: BackendSettings; threadsError?: string; predictError?: string } {
  const lapack = (env.ATOMGP_LAPACK ?? 'auto').trim();
  const noWasm = env.ATOMGP_NO_WASM?.trim();
  const wasm = !(noWasm && noWasm !== '0');
  const p = env.ATOMGP_PREDICT_BACKEND?.trim().toLowerCase();
  const known = p === undefined || p === '' || ['auto', 'native', 'wasm', 'ts', 'js', 'typescript'].includes(p);
  const predict: PredictSetting = p === 'ts' || p === 'js' || p === 'typescript' || !wasm ? 'ts' : p === 'native' || p === 'wasm' ? p : 'auto';
  const out: BackendSettings = { lapack, wasm, predict };
  const predictError = known ? undefined : `ATOMGP_PREDICT_BACKEND must be auto, native, wasm or ts, got '${env.ATOMGP_PREDICT_BACKEND}'`;
  if (predictError) return { settings: out, predictError };
  const t = env.ATOMGP_THREADS;
  if (t !== undefined && t !== '') {
    const v = Number(t);
    if (!(Number.isInteger(v) && v >= 1)) return { settings: out, threadsError: `ATOMGP_THREADS must be a positive integer, got '${t}'` };
    out.threads = v;
  }
  return { settings: out };
}

/** The process's back-end settings (read from the environment on first use). */
export function backendSettings(): Readonly<BackendSettings> {
  if (!settings) {
    const r = settingsFromEnvironment();
    settings = r.settings;
    threadsError = r.threadsError;
    predictError = r.predictError;
  }
  return settings;
}

/** The prediction setting; an unknown ATOMGP_PREDICT_BACKEND is an error naming it. */
export function predictSetting(): PredictSetting {
  const s = backendSettings();
  if (predictError) throw new AtomgpError(predictError);
  return s.predict;
}

/**
 * Overrides settings in code (before the first matrix is allocated or the library loaded: a
 * back end already in use keeps running). Returns the settings now in force.
 */
export function configureBackend(overrides: Partial<BackendSettings>): Readonly<BackendSettings> {
  if (overrides.threads !== undefined && !(Number.isInteger(overrides.threads) && overrides.threads >= 1)) {
    throw new AtomgpError(`threads must be a positive integer, got ${overrides.threads}`);
  }
  settings = { ...backendSettings(), ...overrides };
  if (overrides.threads !== undefined) threadsError = undefined;
  return settings;
}

/** Forget the settings so that the environment is read again (tests that change it). */
export function resetBackendSettings(): void {
  settings = undefined;
  threadsError = undefined;
  predictError = undefined;
}

/** Threads per likelihood evaluation (and large predictions): the setting, or 2 on the main thread of a multi-core machine, else 1. */
export function defaultThreads(): number {
  const s = backendSettings();
  if (threadsError) throw new AtomgpError(threadsError);
  if (s.threads !== undefined) return Math.min(s.threads, MAX_THREADS);
  // Worker threads (e.g. the trainer's --jobs pool) already use the other cores.
  return isMainThread ? Math.min(2, availableParallelism()) : 1;
}
