/**
 * Validation of a GP model on a labelled set: errors of E(x) = m(x) + Σ_j w_j k(x, x_j) against the
 * reference values, in Ha, kJ/mol and kcal/mol, with S-curve percentiles (the FFLUX way of showing
 * the error distribution: the fraction of points below each absolute error).
 */
import { KCAL_PER_MOL_PER_HARTREE, KJ_PER_MOL_PER_HARTREE } from '../../chem/units.js';
import { AtomgpError } from '../../errors.js';
import { CompiledKernel } from '../kernel/kernel.js';
import { evaluateMean } from '../model/mean.js';
import type { GpModel, PeriodicPrefactor } from '../model/model.js';

export interface ValidationReport {
  n: number;
  mae_Ha: number;
  rmse_Ha: number;
  max_abs_Ha: number;
  mae_kJmol: number;
  rmse_kJmol: number;
  max_abs_kJmol: number;
  mae_kcalmol: number;
  rmse_kcalmol: number;
  max_abs_kcalmol: number;
  /** Absolute error (Ha) below which the given percentage of points lie. */
  percentiles_Ha: Record<string, number>;
}

export const S_CURVE_PERCENTILES = [10, 25, 50, 75, 90, 95, 99, 100];

/** Predictions E(x_i) for the rows of x (n × nFeatures). */
export function predictRows(model: GpModel, x: Float64Array, n: number, periodicPrefactor: PeriodicPrefactor = 4): Float64Array {
  const K = model.nFeatures;
  if (x.length !== n * K) throw new AtomgpError(`validation: ${x.length} feature values for ${n} points × ${K} features`);
  const kernel = new CompiledKernel(model.kernels, model.composition, K, periodicPrefactor);
  const out = new Float64Array(n);
  const w = model.weights;
  const tx = model.trainX;
  for (let i = 0; i < n; i++) {
    let s = evaluateMean(model.mean, x, i * K);
    for (let j = 0; j < model.nTrain; j++) s += w[j]! * kernel.value(x, i * K, tx, j * K);
    out[i] = s;
  }
  return out;
}

/** Error statistics of predictions against reference values. */
export function errorReport(predicted: Float64Array, reference: Float64Array): ValidationReport {
  const n = reference.length;
  if (n === 0) throw new AtomgpError('validation: empty set');
  const abs = new Float64Array(n);
  let sum = 0;
  let sum2 = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.abs(predicted[i]! - reference[i]!);
    abs[i] = e;
    sum += e;
    sum2 += e * e;
    if (e > max) max = e;
  }
  abs.sort();
  const percentiles_Ha: Record<string, number> = {};
  for (const p of S_CURVE_PERCENTILES) {
    // Nearest-rank percentile: the smallest error with at least p% of points at or below it.
    const rank = Math.max(1, Math.ceil((p / 100) * n));
    percentiles_Ha[String(p)] = abs[rank - 1]!;
  }
  const mae = sum / n;
  const rmse = Math.sqrt(sum2 / n);
  return {
    n,
    mae_Ha: mae,
    rmse_Ha: rmse,
    max_abs_Ha: max,
    mae_kJmol: mae * KJ_PER_MOL_PER_HARTREE,
    rmse_kJmol: rmse * KJ_PER_MOL_PER_HARTREE,
    max_abs_kJmol: max * KJ_PER_MOL_PER_HARTREE,
    mae_kcalmol: mae * KCAL_PER_MOL_PER_HARTREE,
    rmse_kcalmol: rmse * KCAL_PER_MOL_PER_HARTREE,
    max_abs_kcalmol: max * KCAL_PER_MOL_PER_HARTREE,
    percentiles_Ha,
  };
}

/** Validates a model on features x (n × nFeatures) with reference values y. */
export function validateModel(
  model: GpModel,
  x: Float64Array,
  y: Float64Array,
  periodicPrefactor: PeriodicPrefactor = 4,
): ValidationReport {
  if (x.length !== y.length * model.nFeatures) {
    throw new AtomgpError(
      `validation set has ${x.length / Math.max(1, y.length)} features per point, the model ${model.atom} expects ${model.nFeatures}`,
    );
  }
  return errorReport(predictRows(model, x, y.length, periodicPrefactor), y);
}

/** Human-readable report lines. */
export function formatReport(r: ValidationReport, label = ''): string {
  const f = (v: number, d = 6) => v.toPrecision(d);
  const lines = [
    `${label}n = ${r.n}`,
    `             Ha            kJ/mol        kcal/mol`,
    `  MAE   ${f(r.mae_Ha).padStart(12)}  ${f(r.mae_kJmol).padStart(12)}  ${f(r.mae_kcalmol).padStart(12)}`,
    `  RMSE  ${f(r.rmse_Ha).padStart(12)}  ${f(r.rmse_kJmol).padStart(12)}  ${f(r.rmse_kcalmol).padStart(12)}`,
    `  max   ${f(r.max_abs_Ha).padStart(12)}  ${f(r.max_abs_kJmol).padStart(12)}  ${f(r.max_abs_kcalmol).padStart(12)}`,
    '  S-curve (|error| below which p% of points lie):',
  ];
  for (const [p, v] of Object.entries(r.percentiles_Ha)) {
    lines.push(`    ${p.padStart(3)}%  ${f(v).padStart(12)} Ha  ${f(v * KJ_PER_MOL_PER_HARTREE).padStart(12)} kJ/mol`);
  }
  return lines.join('\n');
}
