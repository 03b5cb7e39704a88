/**
 * Refit of a model set: every `.model` file of a folder (or one file) refit with other settings
 * (e.g. another prior mean) on the worker pool and written under the same file name into another
 * folder. Reading is io/modelset.ts, training gp/fit.
 */
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RefitOptions } from '../gp/fit/refit.js';
import type { TrainResult } from '../gp/fit/train-options.js';
import { type ParallelOptions, runTrainTasks, type TrainTask } from '../gp/fit/train-parallel.js';
import { writeModel } from '../io/model.js';
import { modelFiles, readModelForRefit } from '../io/modelset.js';

export interface RefitSetEntry {
  /** Input model file. */
  source: string;
  /** Output model file (same file name in outDir). */
  path: string;
  result: TrainResult;
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
