/**
 * Pipeline stage 6 (validate): every prior's model set against the reference on the validation
 * frames (molecular energies; atomic energies too with atomic labels), through the same
 * `GpPotential` MD uses. Recomputed on every run (it reads only the models and data/valid.extxyz).
 */
import { KCAL_PER_MOL_PER_HARTREE } from '../../chem/units.js';
import { createPotential } from '../../potentials/factory.js';
import { createResult } from '../../potentials/potential.js';
import type { LabelledFrame } from '../../sampling/export.js';
import { energyErrors } from '../errors.js';
import type { StageContext } from './resume.js';
import { modelSpec, type PipelineSettings, type PriorValidation } from './settings.js';
import type { PriorModels } from './train.js';

export async function validateStage(
  ctx: StageContext,
  s: Pick<PipelineSettings, 'repulsion'>,
  priors: readonly PriorModels[],
  valid: readonly LabelledFrame[],
  nAtoms: number,
  labels: 'atomic' | 'total',
): Promise<PriorValidation[]> {
  const out: PriorValidation[] = [];
  for (const p of priors) {
    const gp = await createPotential(modelSpec(s, p.dir));
    const res = createResult(nAtoms);
    const residual = new Float64Array(valid.length);
    let atomicAbs = 0;
    valid.forEach((f, i) => {
      gp.compute(f.positionsA, res, false);
      residual[i] = res.energyHa - f.energyHa!;
      if (labels === 'atomic') for (let a = 0; a < nAtoms; a++) atomicAbs += Math.abs(res.atomicEnergiesHa[a]! - f.atomicEnergiesHa![a]!);
    });
    const st = energyErrors(residual);
    out.push({
      prior: p.prior,
      n: valid.length,
      mae_kcal_per_mol: st.maeKcalPerMol,
      rmse_kcal_per_mol: st.rmseKcalPerMol,
      max_abs_kcal_per_mol: st.maxAbsKcalPerMol,
      abs_errors_kcal_per_mol: st.absKcalPerMol,
      ...(labels === 'atomic' ? { atomic_mae_kcal_per_mol: (atomicAbs / (valid.length * nAtoms)) * KCAL_PER_MOL_PER_HARTREE } : {}),
    });
    ctx.log(`validation ${p.prior}: molecular energy MAE ${st.maeKcalPerMol.toFixed(3)} kcal/mol, RMSE ${st.rmseKcalPerMol.toFixed(3)}, max ${st.maxAbsKcalPerMol.toFixed(3)} (n = ${valid.length})`);
  }
  return out;
}
