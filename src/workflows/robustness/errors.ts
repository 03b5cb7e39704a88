/**
 * Errors per prior mean: on validation sets when given, otherwise leave-one-out errors on the
 * training set; molecular when rows line up across atoms, else per atom. kcal/mol.
 */

import { leaveOneOutResiduals } from '../../gp/assess/loo.js';
import { predictRows } from '../../gp/assess/validate.js';
import type { ModelSet } from '../../io/modelset.js';
import type { ValidationSet } from '../../io/validation-sets.js';
import { energyErrors } from '../errors.js';
import { lowestTrainingGeometry } from './start.js';

export interface ErrorEntry {
  /** Prior label, with the atom for atomic errors (`max N1`), as the report shows it. */
  prior: string;
  prior_mean: string;
  /** `molecule` or an atom label. */
  target: string;
  /** `validation set` or `training set, leave-one-out`. */
  set: string;
  source: string;
  n: number;
  mae_kcal_per_mol: number;
  rmse_kcal_per_mol: number;
  max_abs_kcal_per_mol: number;
  abs_errors_kcal_per_mol: number[];
}

function errorEntry(priorLabel: string, prior: string, target: string, set: string, source: string, residualHa: ArrayLike<number>): ErrorEntry {
  const st = energyErrors(residualHa);
  return {
    prior: target === 'molecule' ? priorLabel : `${priorLabel} ${target}`,
    prior_mean: prior,
    target,
    set,
    source,
    n: st.n,
    mae_kcal_per_mol: st.maeKcalPerMol,
    rmse_kcal_per_mol: st.rmseKcalPerMol,
    max_abs_kcal_per_mol: st.maxAbsKcalPerMol,
    abs_errors_kcal_per_mol: st.absKcalPerMol,
  };
}

/** Training geometries line up across atoms (same count); checked again on the refit set. */
function alignedRows(set: ModelSet): boolean {
  return set.models.every((m) => m.nTrain === set.models[0]!.nTrain) && lowestTrainingGeometry(set).aligned;
}

/** Leave-one-out errors: molecular (Σ over atoms) when the rows are aligned, else per atom. */
export function leaveOneOutErrors(priorLabel: string, prior: string, set: ModelSet): ErrorEntry[] {
  const res = set.models.map((m, a) => leaveOneOutResiduals(m, set.periodicPrefactors[a] ?? 4));
  const what = 'training set, leave-one-out';
  if (alignedRows(set)) {
    const total = new Float64Array(res[0]!.length);
    for (const r of res) for (let i = 0; i < r.length; i++) total[i] = total[i]! + r[i]!;
    return [errorEntry(priorLabel, prior, 'molecule', what, set.dir, total)];
  }
  return res.map((r, a) => errorEntry(priorLabel, prior, set.atoms[a]!, what, set.models[a]!.source ?? set.dir, r));
}

/** Errors on validation sets: molecular when every atom has a set of the same size, else per atom. */
export function validationErrors(priorLabel: string, prior: string, set: ModelSet, sets: readonly ValidationSet[]): ErrorEntry[] {
  const residuals = sets.map((v) => {
    const a = set.atoms.indexOf(v.atom);
    const pred = predictRows(set.models[a]!, v.x, v.n, set.periodicPrefactors[a] ?? 4);
    return Float64Array.from(pred, (p, i) => p - v.y[i]!);
  });
  const molecular = sets.length === set.nAtoms && sets.every((v) => v.n === sets[0]!.n);
  if (molecular) {
    const total = new Float64Array(sets[0]!.n);
    for (const r of residuals) for (let i = 0; i < r.length; i++) total[i] = total[i]! + r[i]!;
    return [errorEntry(priorLabel, prior, 'molecule', 'validation set', sets.map((v) => v.file).join(', '), total)];
  }
  return sets.map((v, k) => errorEntry(priorLabel, prior, v.atom, 'validation set', v.file, residuals[k]!));
}
