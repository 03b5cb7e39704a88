/**
 * S-curves: the cumulative distribution of absolute prediction errors that the FFLUX papers plot
 * (x: error in kcal/mol on a log axis, y: fraction of test points with a smaller error), per atom
 * and for the molecule. Percentiles use linear interpolation between order statistics (numpy's
 * default): the p-th percentile of sorted e_0..e_{n−1} sits at position (n − 1)·p/100.
 */
import { AtomgpError } from '../errors.js';
import { KCAL_PER_MOL_PER_HARTREE } from '../chem/units.js';

export interface SCurve {
  /** Absolute errors, ascending. */
  sorted: Float64Array;
  /** fraction[k] = (k + 1)/n: the share of points with an error ≤ sorted[k]. */
  fraction: Float64Array;
  /** p50, p90, p95, p99, max, mean (same unit as the input). */
  percentiles: Record<string, number>;
}

/** Percentiles reported by `sCurve`. */
export const S_CURVE_PERCENTILES = [50, 90, 95, 99] as const;

/** The p-th percentile (0 ≤ p ≤ 100) of an ascending array, linearly interpolated. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new AtomgpError('percentile of an empty set of values');
  if (!(p >= 0 && p <= 100)) throw new AtomgpError(`percentile must be between 0 and 100, got ${p}`);
  const pos = ((n - 1) * p) / 100;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  const w = pos - lo;
  return w === 0 ? sorted[lo]! : sorted[lo]! + w * (sorted[hi]! - sorted[lo]!);
}

/** Cumulative distribution of absolute errors; negative or non-finite values are rejected (naming the point). */
export function sCurve(absErrors: Float64Array | readonly number[]): SCurve {
  const n = absErrors.length;
  if (n === 0) throw new AtomgpError('S-curve: no errors given');
  const sorted = Float64Array.from(absErrors);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    const e = sorted[k]!;
    if (!Number.isFinite(e) || e < 0) throw new AtomgpError(`S-curve: point ${k + 1} has error ${e}; expected a finite absolute (≥ 0) error`);
    sum += e;
  }
  sorted.sort();
  const fraction = new Float64Array(n);
  for (let k = 0; k < n; k++) fraction[k] = (k + 1) / n;
  const percentiles: Record<string, number> = {};
  for (const p of S_CURVE_PERCENTILES) percentiles[`p${p}`] = percentile(sorted, p);
  percentiles['max'] = sorted[n - 1]!;
  percentiles['mean'] = sum / n;
  return { sorted, fraction, percentiles };
}

/** |predicted − reference| in kcal/mol from energies in Ha (equal lengths). */
export function absoluteErrorsKcalPerMol(predictedHa: ArrayLike<number>, referenceHa: ArrayLike<number>): Float64Array {
  if (predictedHa.length !== referenceHa.length) {
    throw new AtomgpError(`errors: ${predictedHa.length} predictions but ${referenceHa.length} reference values`);
  }
  const out = new Float64Array(predictedHa.length);
  for (let k = 0; k < out.length; k++) out[k] = Math.abs(predictedHa[k]! - referenceHa[k]!) * KCAL_PER_MOL_PER_HARTREE;
  return out;
}

/** S-curves for several named error sets at once (e.g. one per atom plus 'molecule'). */
export function sCurves(errors: Record<string, Float64Array | readonly number[]>): Record<string, SCurve> {
  const out: Record<string, SCurve> = {};
  for (const [name, e] of Object.entries(errors)) {
    try {
      out[name] = sCurve(e);
    } catch (err) {
      if (err instanceof AtomgpError) throw new AtomgpError(`${name}: ${err.message}`);
      throw err;
    }
  }
  return out;
}
