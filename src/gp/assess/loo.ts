/**
 * Leave-one-out residuals of a GP on its own training set, without refitting:
 * r_i = y_i − μ₋ᵢ(x_i) = [K⁻¹(y − m)]_i / [K⁻¹]_ii (Rasmussen & Williams eq. 5.12), with
 * K = k(X, X) + σ²I from the compiled kernel (gp/kernel) and σ² as the model states it (`# noise`,
 * else `# nugget`). One Cholesky, one solve and one inverse: O(n³). Property units (Ha for iqa).
 */
import { choleskySolve, choleskyWithJitter, inverseFromCholesky } from '../../math/linalg.js';
import { compileModelKernel } from '../kernel/kernel.js';
import { evaluateMeanRows } from '../model/mean.js';
import { type GpModel, type PeriodicPrefactor, statedNoise } from '../model/model.js';

/** y_i − μ₋ᵢ(x_i) for every training point of `model` (noise: default the model's stated σ²). */
export function leaveOneOutResiduals(model: GpModel, periodicPrefactor: PeriodicPrefactor, noise = statedNoise(model)): Float64Array {
  const n = model.nTrain;
  const K = model.nFeatures;
  const mat = compileModelKernel(model, periodicPrefactor).matrix(model.trainX, n, noise);
  const factor = new Float64Array(n * n);
  choleskyWithJitter(mat, n, factor, { what: `kernel matrix of ${model.atom}` });
  const alpha = new Float64Array(n);
  const mean = evaluateMeanRows(model.mean, model.trainX, n, K);
  for (let i = 0; i < n; i++) alpha[i] = model.trainY[i]! - mean[i]!;
  choleskySolve(factor, n, alpha);
  inverseFromCholesky(factor, n, mat);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = alpha[i]! / mat[i * n + i]!;
  return out;
}
