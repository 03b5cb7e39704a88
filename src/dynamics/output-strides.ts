/**
 * Output intervals of an MD run when the user gives none, so that a long run's files stay bounded
 * and a kill loses little: at most MAX_LOG_RECORDS log lines and MAX_TRAJECTORY_FRAMES trajectory
 * frames per run whatever its length, and a checkpoint at least every CHECKPOINT_FRACTION of a long
 * run. Short runs keep the historical defaults (a log line every step, a frame every 10 steps, a
 * checkpoint at the end). A resumed run keeps the intervals it was started with (they are part of
 * its checkpoint's fingerprint), so extending `--steps` on resume does not change them.
 */
import type { Fingerprint } from './checkpoint.js';

export const MAX_LOG_RECORDS = 200_000;
export const MAX_TRAJECTORY_FRAMES = 10_000;
/** Runs longer than this many steps checkpoint on their own (100 ps at 0.5 fs). */
export const LONG_RUN_STEPS = 200_000;
/** A long run checkpoints every 1/1000 of its length, and at least every 10 000 steps apart. */
export const CHECKPOINT_FRACTION = 1e-3;

export interface OutputStrides {
  logEvery: number;
  trajStride: number;
  /** 0: only at the end. */
  checkpointEvery: number;
}

/** The default intervals for a run of `steps` steps. */
export function defaultOutputStrides(steps: number): OutputStrides {
  const logEvery = Math.max(1, Math.ceil(steps / MAX_LOG_RECORDS));
  const trajStride = Math.max(10, Math.ceil(steps / MAX_TRAJECTORY_FRAMES));
  const checkpointEvery = steps > LONG_RUN_STEPS ? Math.max(10_000, Math.ceil(steps * CHECKPOINT_FRACTION)) : 0;
  return { logEvery, trajStride, checkpointEvery };
}

/**
 * The intervals of a run: the given ones, else those recorded in the checkpoint being resumed
 * (log and trajectory), else the defaults for its length.
 */
export function outputStrides(steps: number, given: Partial<OutputStrides>, resumed?: Fingerprint): OutputStrides {
  const d = defaultOutputStrides(steps);
  const recorded = (key: 'logEvery' | 'trajStride'): number | undefined => {
    const v = resumed?.[key];
    return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : undefined;
  };
  return {
    logEvery: given.logEvery ?? recorded('logEvery') ?? d.logEvery,
    trajStride: given.trajStride ?? recorded('trajStride') ?? d.trajStride,
    checkpointEvery: given.checkpointEvery ?? d.checkpointEvery,
  };
}
