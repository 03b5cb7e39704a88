/**
 * Energy errors as the workflows report them: residuals (predicted − reference, Ha) → MAE, RMSE
 * and largest error in kcal/mol (math/stats.ts), with the absolute errors in input order (the
 * S-curves of demo.json and study.json).
 */
import { KCAL_PER_MOL_PER_HARTREE } from '../chem/units.js';
import { errorStatistics } from '../math/stats.js';

export interface EnergyErrors {
  n: number;
  maeKcalPerMol: number;
  rmseKcalPerMol: number;
  maxAbsKcalPerMol: number;
  /** |residual| per point, kcal/mol, in input order. */
  absKcalPerMol: number[];
}

export function energyErrors(residualHa: ArrayLike<number>): EnergyErrors {
  const kcal = Float64Array.from(residualHa, (r) => r * KCAL_PER_MOL_PER_HARTREE);
  const st = errorStatistics(kcal, new Float64Array(kcal.length));
  return { n: st.n, maeKcalPerMol: st.mae, rmseKcalPerMol: st.rmse, maxAbsKcalPerMol: st.maxAbs, absKcalPerMol: Array.from(kcal, Math.abs) };
}
