/**
 * Prior mean functions m(x) of the FFLUX model format (formats.md, [mean]); features in bohr and
 * radians, values in the property's unit (Ha for iqa). Far from the training data the prediction
 * falls back to m(x), so these decide the dynamics there (science.md §3).
 *   zero       m = 0
 *   constant   m = value
 *   linear     m = y_min + Σ_k β_k (x_k − x_min,k)
 *   quadratic  m = y_min + Σ_k β_k (x_k − x_min,k)²
 * Differences are plain (not wrapped for the cyclic φ features), as ichor evaluates them.
 */
import type { MeanSpec } from './model.js';

/** m(x) for the row x[off .. off + K). */
export function evaluateMean(mean: MeanSpec, x: Float64Array, off: number): number {
  switch (mean.type) {
    case 'zero':
      return 0;
    case 'constant':
      return mean.value;
    case 'linear': {
      const { beta, xMin } = mean;
      let s = mean.yMin;
      for (let k = 0; k < beta.length; k++) s += beta[k]! * (x[off + k]! - xMin[k]!);
      return s;
    }
    case 'quadratic': {
      const { beta, xMin } = mean;
      let s = mean.yMin;
      for (let k = 0; k < beta.length; k++) {
        const d = x[off + k]! - xMin[k]!;
        s += beta[k]! * d * d;
      }
      return s;
    }
  }
}

/** Adds scale · ∂m/∂x_k to grad[k] for every feature k of the row x[off ..]. */
export function addMeanGradient(mean: MeanSpec, x: Float64Array, off: number, scale: number, grad: Float64Array): void {
  switch (mean.type) {
    case 'zero':
    case 'constant':
      return;
    case 'linear': {
      const { beta } = mean;
      for (let k = 0; k < beta.length; k++) grad[k] = grad[k]! + scale * beta[k]!;
      return;
    }
    case 'quadratic': {
      const { beta, xMin } = mean;
      for (let k = 0; k < beta.length; k++) grad[k] = grad[k]! + scale * 2 * beta[k]! * (x[off + k]! - xMin[k]!);
      return;
    }
  }
}

/** m(x_i) for every row of X (n × K row-major), into `out` (allocated if not given). */
export function evaluateMeanRows(mean: MeanSpec, X: Float64Array, n: number, nFeatures: number, out?: Float64Array): Float64Array {
  const m = out ?? new Float64Array(n);
  for (let i = 0; i < n; i++) m[i] = evaluateMean(mean, X, i * nFeatures);
  return m;
}
