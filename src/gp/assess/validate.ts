/**
 * Validation of a GP model on a labelled set: errors of E(x) = m(x) + Σ_j w_j k(x, x_j) against the
 * reference values, in Ha, kJ/mol and kcal/mol, with S-curve percentiles (the FFLUX way of showing
 * the error distribution: the fraction of points below each absolute error).
 */
import { KCAL_PER_MOL_PER_HARTREE, KJ_PER_MOL_PER_HARTREE } from '../../chem/units.js';
import { AtomgpError } from '../../errors.js';
import { errorStatistics, nearestRankPercentiles, S_CURVE_PERCENTILES, sortedAbsoluteErrors } from '../../math/stats.js';
import type { GpModel, PeriodicPrefactor } from '../model/model.js';
import { predictRows } from '../predict/rows.js';

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

export { S_CURVE_PERCENTILES } from '../../math/stats.js';
export { predictRows } from '../predict/rows.js';

/** Error statistics of predictions against reference values (math/stats.ts), in Ha, kJ/mol and kcal/mol. */
export function errorReport(predicted: Float64Array, reference: Float64Array): ValidationReport {
  if (reference.length === 0) throw new AtomgpError('validation: empty set');
  const { n, mae, rmse, maxAbs: max } = errorStatistics(predicted, reference);
  const percentiles_Ha = nearestRankPercentiles(sortedAbsoluteErrors(predicted, reference), S_CURVE_PERCENTILES);
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
