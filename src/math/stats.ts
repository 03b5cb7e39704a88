/**
 * Error statistics of predictions against reference values: the one place where MAE, RMSE, the
 * largest error and S-curve percentiles are computed (validation, pipeline, robustness and study
 * all call this). Unit-free: the caller converts (the result is in the units of its inputs).
 */
import { AtomgpError } from '../errors.js';

export interface ErrorStatistics {
  n: number;
  /** Mean absolute error. */
  mae: number;
  /** Root-mean-square error. */
  rmse: number;
  /** Largest absolute error. */
  maxAbs: number;
  /** Mean signed error, predicted − reference. */
  meanSigned: number;
}

/** S-curve percentiles reported by validation (the FFLUX way of showing an error distribution). */
export const S_CURVE_PERCENTILES: readonly number[] = [10, 25, 50, 75, 90, 95, 99, 100];

/** MAE, RMSE, max and mean signed error of `predicted − reference` (same length, n ≥ 1). */
export function errorStatistics(predicted: ArrayLike<number>, reference: ArrayLike<number>): ErrorStatistics {
  const n = reference.length;
  if (n === 0) throw new AtomgpError('error statistics: empty set');
  if (predicted.length !== n) throw new AtomgpError(`error statistics: ${predicted.length} predictions for ${n} reference values`);
  let sum = 0;
  let sum2 = 0;
  let signed = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const d = predicted[i]! - reference[i]!;
    const e = Math.abs(d);
    sum += e;
    sum2 += e * e;
    signed += d;
    if (e > max) max = e;
  }
  return { n, mae: sum / n, rmse: Math.sqrt(sum2 / n), maxAbs: max, meanSigned: signed / n };
}

/** Sorted absolute errors |predicted − reference|. */
export function sortedAbsoluteErrors(predicted: ArrayLike<number>, reference: ArrayLike<number>): Float64Array {
  const n = reference.length;
  const abs = new Float64Array(n);
  for (let i = 0; i < n; i++) abs[i] = Math.abs(predicted[i]! - reference[i]!);
  return abs.sort();
}

/**
 * Nearest-rank percentiles of sorted values: for each p, the smallest value with at least p % of
 * the values at or below it. Keys are the percentages as strings.
 */
export function nearestRankPercentiles(sorted: ArrayLike<number>, percentages: readonly number[] = S_CURVE_PERCENTILES): Record<string, number> {
  const n = sorted.length;
  if (n === 0) throw new AtomgpError('percentiles: empty set');
  const out: Record<string, number> = {};
  for (const p of percentages) {
    const rank = Math.max(1, Math.ceil((p / 100) * n));
    out[String(p)] = sorted[rank - 1]!;
  }
  return out;
}
